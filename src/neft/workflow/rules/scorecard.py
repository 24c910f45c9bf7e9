"""The jobs of workflow/rules/scorecard.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.analysis import claims, stability
from neft.analysis import scorecard as sc
from neft.analysis.results import write_csv
from neft.experiment.handoff import read_curves, read_mc_chips, read_mc_summary
from neft.experiment.study_handoff import read_convergence
from neft.experiment.tablecheck import record_digests
from neft.jobs.runs import job_log


def scorecard(smk) -> None:
    """Rule scorecard -> neft.analysis.scorecard (points, headline), neft.analysis.claims (claims as seed-level tests)
    and
    neft.analysis.stability (each verdict's stability over seed resamples)."""
    log = job_log(smk.log[0])
    p = smk.params
    curves = read_curves(smk.input.curves, p.curve_points, p.expect)
    curves = curves[curves.device == p.device]
    reference = sc.load_reference(smk.input.reference)
    ekl_ref = sc.load_reference(smk.input.reference_ekl, "ekl_1e-2").assign(model="resnet18", dataset="cifar10")
    points = sc.point_scorecard(curves, reference, p.kinds, p.sigma_scale)
    chips = read_mc_chips(smk.input.chips, p.expect, p.sweeps)
    summary = read_mc_summary(smk.input.summary, chips, smk.input.chips, p.sweeps)

    def seed_level(metric: str) -> claims.SeedEvidence:
        return claims.SeedEvidence(chips, summary, p.kinds, p.methods, p.sigma_scale, metric, p.device)

    metrics = {"accuracy": "accuracy", "uncertainty": "ekl", "confidence": "confidence_correct"}
    ours = {name: seed_level(column) for name, column in metrics.items()}
    paper = {
        "accuracy": claims.PointEvidence(reference.rename(columns={"method": "kind"})),
        "uncertainty": claims.PointEvidence(ekl_ref.rename(columns={"method": "kind"})),
    }
    extra = []
    if smk.input.convergence:
        conv = read_convergence(smk.input.convergence, p.convergence_points)
        conv["kind"] = conv["method"].map(p.kinds)
        extra.append(
            (*claims.convergence_claim(conv, p.sigma_scale), stability.convergence_stability(conv, p.sigma_scale))
        )
    claim_rows = sc.claims_table(ours, paper, extra)
    head = sc.headline(curves, p.kinds, ours["accuracy"], p.sigma_scale)
    paper_head = sc.headline(reference.rename(columns={"value": "mean"}), {k: k for k in p.kinds.values()})
    write_csv(points, smk.output.points, float_format="%.4f")
    write_csv(claim_rows, smk.output.claims)
    write_csv(head, smk.output.headline, float_format="%.4f")
    sc.write_markdown(points, claim_rows, head, paper_head, p.scale, p.sigma_scale, smk.output.md, p.labels)
    record_digests(smk.output)  # the tables summarize cites
    log(f"{(points.status == 'compared').sum()} points compared, {len(claim_rows)} claims")
