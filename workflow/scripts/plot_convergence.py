"""Rule plot_convergence -> neft.report.plotting.plot_convergence."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.experiment.study_handoff import read_convergence  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import SCALE_NOTES, plot_convergence  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    summary = read_convergence(smk.input.csv, smk.params.points)
    plot_convergence(summary, smk.params.labels, list(smk.output.figures), note=SCALE_NOTES.get(smk.params.scale))
    log(f"drew {len(summary)} bars")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
