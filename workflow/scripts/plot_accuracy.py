"""Rules plot_accuracy and plot_accuracy_panel (one (model, dataset) alone) -> neft.plotting.plot_accuracy."""

from neft.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.warmstart)

from neft.handoff import read_curves  # noqa: E402
from neft.plotting import SCALE_NOTES, beta_titles, plot_accuracy  # noqa: E402
from neft.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves)
    if "model" in smk.wildcards.keys():  # one panel
        curves = curves[(curves.model == smk.wildcards.model) & (curves.dataset == smk.wildcards.dataset)]
        if curves.empty:
            raise ValueError(f"no results for {smk.wildcards.model}/{smk.wildcards.dataset}: is the pair configured?")
    titles = beta_titles(curves, smk.params.methods)
    note = SCALE_NOTES.get(smk.params.scale)
    plot_accuracy(curves, list(smk.output.figures), note=note, titles=titles, device=smk.params.device)
    log(f"drew {len(curves)} points into {', '.join(smk.output.figures)}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
