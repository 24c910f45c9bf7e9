"""Rules plot_nonidealities, plot_drift -> neft.report.plotting.plot_study."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.experiment.study_handoff import read_study_table  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import SCALE_NOTES, plot_study  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    table = read_study_table(smk.input.table, smk.params.points)
    plot_study(table, smk.params.labels, list(smk.output.figures), SCALE_NOTES.get(smk.params.scale))
    log(f"{len(table)} rows drawn")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
