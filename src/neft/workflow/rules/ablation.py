"""The jobs of workflow/rules/ablation.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.analysis.ablation import beta_sweep, decomposition
from neft.analysis.results import write_csv
from neft.analysis.tables import write_ablation_markdown
from neft.experiment.handoff import read_mc_chips
from neft.experiment.study_handoff import read_ablation
from neft.experiment.tablecheck import record_digests
from neft.jobs.runs import job_log


def ablation_data(smk) -> None:
    """Rule ablation_data -> neft.analysis.ablation."""
    log = job_log(smk.log[0])
    chips = read_mc_chips(smk.input.chips, smk.params.expect, smk.params.sweeps)
    decomp = decomposition(chips, smk.params.ablation, smk.params.ci)
    sweep = beta_sweep(chips, smk.params.ablation, smk.params.methods, smk.params.ci)
    write_csv(decomp, smk.output.decomposition)
    write_csv(sweep, smk.output.sweep)
    record_digests(smk.output)
    log(f"{len(decomp)} paired comparisons, {len(sweep)} beta-sweep points")


def tabulate_ablation(smk) -> None:
    """Rule tabulate_ablation -> neft.analysis.tables.write_ablation_tables."""
    log = job_log(smk.log[0])
    decomp, sweep = read_ablation(smk.input.decomposition, smk.input.sweep, smk.params.points)
    write_ablation_markdown(decomp, sweep, smk.output.md, smk.output.tex)
    log(f"{len(decomp)} comparisons, {len(sweep)} sweep rows")
