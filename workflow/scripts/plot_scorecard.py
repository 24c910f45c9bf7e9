"""Rule plot_scorecard -> neft.plotting.plot_accuracy with the paper's points overlaid."""

from neft.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.warmstart)

from neft.handoff import read_curves  # noqa: E402
from neft.plotting import SCALE_NOTES, beta_titles, plot_accuracy  # noqa: E402
from neft.runs import job_log  # noqa: E402
from neft.scorecard import load_reference  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    curves = read_curves(smk.input.curves)
    curves = curves[curves.device == p.device]
    ref = load_reference(smk.input.reference)
    kinds = {spec["kind"]: m for m, spec in p.methods.items()}
    ref = ref[ref.method.isin(kinds)].copy()
    ref["label"] = ref.method.map(lambda k: p.methods[kinds[k]].get("label", kinds[k]))
    ref["sigma"] = ref.sigma.astype(float) * p.sigma_scale  # onto our axis
    panels = set(zip(curves.model, curves.dataset))
    ref = ref[[(m, d) in panels for m, d in zip(ref.model, ref.dataset)]]
    note = SCALE_NOTES.get(p.scale, "")
    if p.sigma_scale != 1.0:
        note += f"\npaper's points (open markers) drawn at {p.sigma_scale:g} x their sigma"
    plot_accuracy(
        curves, list(smk.output.figures), note=note or None, titles=beta_titles(curves, p.methods), reference=ref
    )
    log(f"{len(ref)} paper points over {len(curves)} of ours")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
