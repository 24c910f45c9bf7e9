"""Rule plot_ladder -> neft.report.plotting.plot_ladder."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.experiment.study_handoff import read_ladder  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import plot_ladder  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    acc, decomp = read_ladder(smk.input.accuracy, smk.input.decomposition, smk.params.points)
    plot_ladder(acc, decomp, smk.params.labels, list(smk.output.figures))
    log(f"drew {len(acc)} (rung, method) points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
