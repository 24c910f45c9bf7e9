"""The jobs of workflow/rules/convergence.smk: one function per rule script, given the job's snakemake object."""

from __future__ import annotations

from neft.analysis.convergence import convergence_table
from neft.analysis.tables import write_convergence_tables
from neft.experiment.grid import Run
from neft.experiment.study_handoff import read_convergence, read_train_log
from neft.experiment.tablecheck import record_digests
from neft.jobs.runs import job_log
from neft.report import plotting


def plot_convergence(smk) -> None:
    """Rule plot_convergence -> neft.report.plotting.plot_convergence."""
    log = job_log(smk.log[0])
    summary = read_convergence(smk.input.csv, smk.params.points)
    plotting.plot_convergence(
        summary, smk.params.labels, list(smk.output.figures), note=plotting.SCALE_NOTES.get(smk.params.scale)
    )
    log(f"drew {len(summary)} bars")


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
