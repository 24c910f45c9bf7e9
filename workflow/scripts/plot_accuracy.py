"""Rules plot_accuracy and plot_accuracy_panel (one (model, dataset) alone) -> neft.report.plotting.plot_accuracy."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.scorecard import load_reference  # noqa: E402
from neft.experiment.handoff import read_curves  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import SCALE_NOTES, beta_titles, paper_points, plot_accuracy  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    if "model" in smk.wildcards.keys():  # one panel
        curves = curves[(curves.model == smk.wildcards.model) & (curves.dataset == smk.wildcards.dataset)]
        if curves.empty:
            raise ValueError(f"no results for {smk.wildcards.model}/{smk.wildcards.dataset}: is the pair configured?")
    p = smk.params
    titles = beta_titles(curves, p.methods)
    note = SCALE_NOTES.get(p.scale, "")
    reference = None
    if smk.input.get("reference"):  # figures.paper_points
        reference = paper_points(curves, load_reference(smk.input.reference), p.methods, p.sigma_scale)
        if p.sigma_scale != 1.0 and len(reference):
            note += f"\npaper's points (open markers) drawn at {p.sigma_scale:g} x their sigma"
    plot_accuracy(
        curves, list(smk.output.figures), note=note or None, titles=titles, device=p.device, reference=reference
    )
    drawn = f" and {len(reference)} of the paper's" if reference is not None else ""
    log(f"drew {len(curves)} points{drawn} into {', '.join(smk.output.figures)}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
