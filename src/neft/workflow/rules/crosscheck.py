"""The jobs of workflow/rules/crosscheck.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.analysis.crosscheck import AGREE, paired_table, write_crosscheck
from neft.experiment.handoff import read_mc_chips
from neft.jobs.runs import job_log


def crosscheck(smk) -> None:
    """Rule crosscheck -> neft.analysis.crosscheck.paired_table, write_crosscheck."""
    log = job_log(smk.log[0])
    p = smk.params
    table = paired_table(read_mc_chips(smk.input.chips, p.expect, p.sweeps), p.ours, p.theirs, p.ci)
    write_crosscheck(table, p.labels, smk.output.csv, smk.output.md, p.ci)
    log(f"{p.theirs} - {p.ours}: interval contains 0 at {int((table.agreement == AGREE).sum())} of {len(table)} sigmas")
