import pandas as pd
import pytest

from neft.analysis import claims, stability
from neft.analysis import scorecard as sc

from .conftest import REPO

KINDS = {k: k for k in ("plain", "noise_injection", "correctnet", "ovf", "irs")}


@pytest.fixture(scope="module")
def reference():
    return sc.load_reference(REPO / "resources/reference/paper_accuracy.csv")


def table(rows):
    """Hand-made point evidence (the paper's kind of numbers): (model, dataset, kind, sigma, value)."""
    return claims.PointEvidence(pd.DataFrame(rows, columns=["model", "dataset", "kind", "sigma", "value"]))


def test_headline_of_the_paper_is_the_abstracts_45_08(reference):
    head = sc.headline(reference.rename(columns={"value": "mean"}), KINDS).set_index(["model", "dataset", "instance"])
    ovf = head.loc[("vgg8", "mnist", "ovf")]
    assert ovf.gain_vs_best_baseline == pytest.approx(45.08) and ovf.sigma_vs_best_baseline == "0.35"
    assert ovf.best_baseline_method == "correctnet"
    assert ovf.gain_vs_noise_injection == pytest.approx(46.71)  # the older version's number
    # the annotated gains of the paper's figure
    assert head.loc[("resnet18", "mnist", "irs")].gain_vs_noise_injection == pytest.approx(10.78)
    assert head.loc[("resnet18", "tiny_imagenet", "irs")].gain_vs_best_baseline == pytest.approx(3.44)


def test_reference_dataset_names_are_the_workflows(reference):
    assert "tiny_imagenet" in set(reference.dataset) and "tinyimagenet" not in set(reference.dataset)
    assert len(reference) == 261


def test_claims_on_hand_made_tables():
    good = table(
        [
            ("m", "d", "plain", "0.3", 40),
            ("m", "d", "noise_injection", "0.3", 60),
            ("m", "d", "correctnet", "0.3", 62),
            ("m", "d", "ovf", "0.3", 70),
            ("m", "d", "irs", "0.3", 65),
            ("m", "d", "plain", "0.1", 90),
            ("m", "d", "noise_injection", "0.1", 95),
            ("m", "d", "correctnet", "0.1", 96),
            ("m", "d", "ovf", "0.1", 95.5),
            ("m", "d", "irs", "0.1", 94),
        ]
    )
    verdicts = {c: held for c, held, *_ in claims.accuracy_claims(good)}
    assert set(verdicts.values()) == {"holds"}, verdicts
    bad = good.table.copy()
    bad.loc[(bad.kind == "ovf") & (bad.sigma == "0.3"), "value"] = 50  # OVF now loses to W/ Noise at the top
    bad.loc[(bad.kind == "irs") & (bad.sigma == "0.3"), "value"] = 55
    verdicts = {c: (held, ev) for c, held, ev, *_ in claims.accuracy_claims(claims.PointEvidence(bad))}
    held, evidence = verdicts["NeFT (best of OVF, IRS) beats the best baseline at every σ ≥ 0.3 on every panel"]
    assert held == "does not hold" and "σ=0.3" in evidence
    assert verdicts["OVF beats W/ Noise at the largest σ of every panel"][0] == "does not hold"


def test_slightly_worse_claim_needs_a_small_loss():
    rows = [("m", "d", "correctnet", "0.05", 99.0), ("m", "d", "ovf", "0.05", 98.5)]
    verdicts = {c: h for c, h, *_ in claims.accuracy_claims(table(rows))}
    assert verdicts["At σ ≤ 0.1 NeFT is sometimes slightly (by at most 2 pp) below the best baseline"] == "holds"
    rows = [("m", "d", "correctnet", "0.05", 99.0), ("m", "d", "ovf", "0.05", 90.0)]
    verdicts = {c: h for c, h, *_ in claims.accuracy_claims(table(rows))}
    assert (
        verdicts["At σ ≤ 0.1 NeFT is sometimes slightly (by at most 2 pp) below the best baseline"] == "does not hold"
    )


def test_claims_without_matching_points_are_not_evaluable():
    results = claims.accuracy_claims(table([("m", "d", "plain", "0.05", 99.0)]))
    assert all(held is None for _, held, *_ in results)
    out = sc.claims_table({"accuracy": table([("m", "d", "plain", "0.05", 99.0)])}, {})
    assert set(out["ours"]) == {"not evaluable"} and set(out["paper"]) == {"no numbers"}


def test_point_scorecard_maps_sigma_and_checks_the_ci():
    ref = pd.DataFrame(
        {
            "model": ["vgg8"] * 2,
            "dataset": ["mnist"] * 2,
            "method": ["plain", "ovf"],
            "sigma": ["0.2", "0.4"],
            "value": [74.0, 98.0],
            "note": [None, None],
        }
    )
    curves = pd.DataFrame(
        {
            "model": ["vgg8"],
            "dataset": ["mnist"],
            "method": ["plain"],
            "sigma": ["0.07"],
            "mean": [75.0],
            "ci_low": [73.0],
            "ci_high": [77.0],
        }
    )
    points = sc.point_scorecard(curves, ref, {"plain": "plain", "ovf": "ovf"}, sigma_scale=0.35)
    first, second = points.iloc[0], points.iloc[1]
    assert first.sigma_ours == "0.07" and first.paper_in_ci == "yes" and first["diff"] == pytest.approx(1.0)
    assert second.status == "not run"


def test_uncertainty_claim_direction():
    lower_for_neft = table(
        [
            ("m", "d", "noise_injection", "0.3", 5.0),
            ("m", "d", "correctnet", "0.3", 3.0),
            ("m", "d", "ovf", "0.3", 0.4),
            ("m", "d", "irs", "0.3", 0.5),
        ]
    )
    ((_, held, *_),) = claims.uncertainty_claims(lower_for_neft)
    assert held == "holds"
    lower_for_neft.table.loc[lower_for_neft.table.kind == "irs", "value"] = 4.0  # above CorrectNet's
    ((_, held, *_),) = claims.uncertainty_claims(lower_for_neft)
    assert held == "does not hold"


def test_scale_statement_says_when_scales_differ():
    assert "not the paper's" in sc.scale_statement("mini", 0.35)
    assert "directly comparable" in sc.scale_statement("paper", 1.0)


EXISTING_CLAIM_COLUMNS = ["metric", "claim", "paper", "ours", "paper_evidence", "our_evidence", "our_test", "our_n"]


def test_claims_table_appends_the_stability_columns_and_keeps_the_others(tmp_path):
    from .test_claims import PANELS, convergence, paired_evidence

    ours = {"accuracy": paired_evidence({PANELS[0]: [10.0, 10.3, 9.8]})}
    conv = convergence({"ovf": (2, 3), "noise_injection": (0, 3)})
    extra = [(*claims.convergence_claim(conv), stability.convergence_stability(conv))]
    out = sc.claims_table(ours, {}, extra)
    assert list(out.columns) == [*EXISTING_CLAIM_COLUMNS, "our_stability", "our_seeds_to_decide", "our_resamples"]
    assert str(out["our_seeds_to_decide"].dtype) == "Int64" and str(out["our_resamples"].dtype) == "Int64"
    top = out.set_index("claim").loc["OVF beats W/ Noise at the largest σ of every panel"]
    assert (top.ours, top.our_n, top.our_stability, top.our_resamples) == ("holds", "3 seeds x 10 chips", 1.0, 27)
    assert pd.isna(top.our_seeds_to_decide)
    none = out.set_index("claim").loc["W/ Noise beats W/O Noise at every σ ≥ 0.1"]  # no W/O Noise rows
    assert none.ours == "not evaluable" and pd.isna(none.our_stability) and pd.isna(none.our_resamples)
    other = out[out.metric == "other"].iloc[0]
    assert other.ours == "undecided" and other.our_resamples == 729 and other.our_stability == pytest.approx(19 / 27)
    # the same table without stability columns is what the code gave before: nothing else moved
    before = sc.claims_table({"accuracy": table([("m", "d", "plain", "0.05", 99.0)])}, {})
    assert list(before.columns[: len(EXISTING_CLAIM_COLUMNS)]) == EXISTING_CLAIM_COLUMNS
    assert before["our_stability"].isna().all()  # the paper's kind of evidence (points) has no seeds to resample


def test_scorecard_markdown_prints_stability_and_seeds_to_decide(tmp_path):
    from .test_claims import PANELS, paired_evidence

    rows = []
    for diffs in ([10.0, 10.3, 9.8], [1.0, 2.0, 6.0], [10.0]):
        out = sc.claims_table({"accuracy": paired_evidence({PANELS[0]: diffs})}, {})
        rows.append(out[out.claim == "OVF beats W/ Noise at the largest σ of every panel"])
    rows = pd.concat(rows, ignore_index=True)
    assert [sc.stability_text(r) for r in rows.itertuples()] == [
        "27/27 resamples (100%)",
        "21/27 resamples (78%); ≈ 6 seeds would decide it",
        "– (one seed)",
    ]
    points = pd.DataFrame(columns=["status", "paper_in_ci", "diff"])
    md = tmp_path / "scorecard.md"
    sc.write_markdown(points, rows, pd.DataFrame(), pd.DataFrame(), "mini", 0.35, md)
    text = md.read_text()
    assert "| metric | claim | paper | ours | our evidence | n | stability | test |" in text
    assert "| 3 seeds x 10 chips | 21/27 resamples (78%); ≈ 6 seeds would decide it |" in text
