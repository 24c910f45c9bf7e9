"""Rule plot_devices -> neft.report.plotting.plot_devices on the device study's points."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.results import device_study_points  # noqa: E402
from neft.experiment.handoff import read_curves  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import SCALE_NOTES, plot_devices  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    points = device_study_points(read_curves(smk.input.curves, smk.params.points, smk.params.expect), smk.params.study)
    plot_devices(points, list(smk.output.figures), note=SCALE_NOTES.get(smk.params.scale))
    log(f"drew {len(points)} points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
