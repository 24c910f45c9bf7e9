"""Rules plot_uncertainty, plot_confidence, plot_variance -> neft.report.plotting.plot_<kind>."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.experiment.handoff import read_curves  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import SCALE_NOTES, plot_confidence, plot_uncertainty, plot_variance  # noqa: E402

PLOTS = {"uncertainty": plot_uncertainty, "confidence": plot_confidence, "variance": plot_variance}


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    PLOTS[smk.params.kind](
        curves, list(smk.output.figures), note=SCALE_NOTES.get(smk.params.scale), device=smk.params.device
    )
    log(f"drew {smk.params.kind} for {len(curves)} points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
