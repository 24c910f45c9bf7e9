"""Rule tabulate_convergence -> neft.analysis.convergence.convergence_table."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.convergence import convergence_table  # noqa: E402
from neft.analysis.tables import write_convergence_tables  # noqa: E402
from neft.experiment.grid import Run  # noqa: E402
from neft.experiment.study_handoff import read_train_log  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    runs = [Run(**r) for r in smk.params.runs]
    references = {(m, d): path for m, d, path in smk.params.references}
    for path in [*smk.input.logs, *references.values()]:
        read_train_log(path, smk.params.epochs)  # one row per configured epoch, the numbers the criterion reads
    per_run, summary = convergence_table(runs, list(smk.input.logs), references, smk.params.fraction)
    write_convergence_tables(per_run, summary, smk.params.labels, smk.output.csv, smk.output.runs, smk.output.md)
    record_digests(smk.output)  # convergence.csv.sha256
    log(f"{int(per_run.converged.sum())}/{len(per_run)} runs converged")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
