"""Rules plot_uncertainty, plot_confidence, plot_variance -> neft.plotting.plot_<kind>."""

from neft.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.warmstart)

from neft.handoff import read_curves  # noqa: E402
from neft.plotting import SCALE_NOTES, plot_confidence, plot_uncertainty, plot_variance  # noqa: E402
from neft.runs import job_log  # noqa: E402

PLOTS = {"uncertainty": plot_uncertainty, "confidence": plot_confidence, "variance": plot_variance}


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves)
    PLOTS[smk.params.kind](
        curves, list(smk.output.figures), note=SCALE_NOTES.get(smk.params.scale), device=smk.params.device
    )
    log(f"drew {smk.params.kind} for {len(curves)} points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
