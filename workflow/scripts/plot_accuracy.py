"""Rule plot_accuracy -> neft.plotting.plot_accuracy."""

from neft.plotting import SCALE_NOTES, beta_titles, plot_accuracy
from neft.results import read_chips
from neft.runs import job_log


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_chips(smk.input.curves)
    titles = beta_titles(curves, smk.params.methods)
    note = SCALE_NOTES.get(smk.params.scale)
    plot_accuracy(curves, list(smk.output.figures), note=note, titles=titles, device=smk.params.device)
    log(f"drew {len(curves)} points into {', '.join(smk.output.figures)}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
