"""Rule plot_scorecard -> neft.report.plotting.plot_scorecard: ours and the paper's points, one facet per method."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.scorecard import load_reference  # noqa: E402
from neft.experiment.handoff import read_curves  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import SCALE_NOTES, beta_titles, paper_points, plot_scorecard  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    curves = curves[curves.device == p.device]
    ref = paper_points(curves, load_reference(smk.input.reference), p.methods, p.sigma_scale)  # on our axis
    plot_scorecard(
        curves,
        ref,
        list(smk.output.figures),
        note=SCALE_NOTES.get(p.scale),
        titles=beta_titles(curves, p.methods),
        device=p.device,
        sigma_scale=p.sigma_scale,  # named in the legend
        ci=p.ci,
    )
    log(f"{len(ref)} paper points over {len(curves)} of ours")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
