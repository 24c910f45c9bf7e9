"""Rule plot_scorecard -> neft.plotting.plot_scorecard: ours and the paper's points, one facet per method."""

from neft.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.warmstart)

from neft.handoff import read_curves  # noqa: E402
from neft.plotting import SCALE_NOTES, beta_titles, plot_scorecard  # noqa: E402
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
    ci = (getattr(smk, "config", None) or {}).get("figures", {}).get("ci", 0.95)
    plot_scorecard(
        curves,
        ref,
        list(smk.output.figures),
        note=SCALE_NOTES.get(p.scale),
        titles=beta_titles(curves, p.methods),
        device=p.device,
        sigma_scale=p.sigma_scale,  # named in the legend
        ci=ci,
    )
    log(f"{len(ref)} paper points over {len(curves)} of ours")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
