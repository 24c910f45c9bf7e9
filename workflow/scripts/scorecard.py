"""Rule scorecard -> neft.scorecard (points, claims, headline)."""

from neft.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.warmstart)

from neft import scorecard as sc  # noqa: E402
from neft.handoff import read_convergence, read_curves  # noqa: E402
from neft.results import write_csv  # noqa: E402
from neft.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    curves = read_curves(smk.input.curves)
    curves = curves[curves.device == p.device]
    reference = sc.load_reference(smk.input.reference)
    ekl_ref = sc.load_reference(smk.input.reference_ekl, "ekl_1e-2").assign(model="resnet18", dataset="cifar10")
    points = sc.point_scorecard(curves, reference, p.kinds, p.sigma_scale)
    ours = {
        "accuracy": sc.values(curves, "mean", p.kinds, p.sigma_scale),
        "uncertainty": sc.values(curves, "ekl", p.kinds, p.sigma_scale, factor=100.0),
        "confidence": sc.values(curves, "confidence_correct", p.kinds, p.sigma_scale),
    }
    paper = {
        "accuracy": reference.rename(columns={"method": "kind"}),
        "uncertainty": ekl_ref.rename(columns={"method": "kind"}),
    }
    extra = []
    if smk.input.convergence:
        conv = read_convergence(smk.input.convergence)
        conv["kind"] = conv["method"].map(p.kinds)
        extra.append(sc.convergence_claim(conv))
    claims = sc.claims_table(ours, paper, extra)
    head = sc.headline(curves, p.kinds)
    paper_head = sc.headline(reference.rename(columns={"value": "mean"}), {k: k for k in p.kinds.values()})
    write_csv(points, smk.output.points, float_format="%.4f")
    write_csv(claims, smk.output.claims)
    write_csv(head, smk.output.headline, float_format="%.4f")
    sc.write_markdown(points, claims, head, paper_head, p.scale, p.sigma_scale, smk.output.md)
    log(f"{(points.status == 'compared').sum()} points compared, {len(claims)} claims")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
