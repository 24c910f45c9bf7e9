"""Rule plot_devices -> neft.plotting.plot_devices on the device study's points."""

from neft.plotting import SCALE_NOTES, plot_devices
from neft.results import device_study_points, read_chips
from neft.runs import job_log


def main(smk) -> None:
    log = job_log(smk.log[0])
    points = device_study_points(read_chips(smk.input.curves), smk.params.study)
    plot_devices(points, list(smk.output.figures), note=SCALE_NOTES.get(smk.params.scale))
    log(f"drew {len(points)} points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
