"""The jobs of workflow/rules/convergence.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.analysis.convergence import convergence_table
from neft.analysis.tables import write_convergence_tables
from neft.experiment.grid import Run
from neft.experiment.study_handoff import read_train_log
from neft.experiment.tablecheck import record_digests
from neft.jobs.runs import job_log


def tabulate_convergence(smk) -> None:
    """Rule tabulate_convergence -> neft.analysis.convergence.convergence_table."""
    log = job_log(smk.log[0])
    runs = [Run(**r) for r in smk.params.runs]
    references = {(m, d): path for m, d, path in smk.params.references}
    for path in [*smk.input.logs, *references.values()]:
        read_train_log(path, smk.params.epochs)  # one row per configured epoch, the numbers the criterion reads
    per_run, summary = convergence_table(runs, list(smk.input.logs), references, smk.params.fraction)
    write_convergence_tables(per_run, summary, smk.params.labels, smk.output.csv, smk.output.runs, smk.output.md)
    record_digests(smk.output)  # convergence.csv.sha256
    log(f"{int(per_run.converged.sum())}/{len(per_run)} runs converged")
