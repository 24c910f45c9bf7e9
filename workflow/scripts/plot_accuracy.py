"""Rule plot_accuracy -> neft.plotting.plot_accuracy."""

from neft.plotting import plot_accuracy
from neft.results import read_chips
from neft.runs import job_log

SCALE_NOTES = {
    "test": "test scale (CI smoke run): tiny models and data, numbers are not meaningful",
    "mini": "mini scale: narrow VGG-8, few epochs, rescaled sigma grid (docs/calibration.md); not the paper's numbers",
}


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_chips(smk.input.curves)
    plot_accuracy(curves, list(smk.output.figures), note=SCALE_NOTES.get(smk.params.scale))
    log(f"drew {len(curves)} points into {', '.join(smk.output.figures)}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
