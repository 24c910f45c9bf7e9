"""Claims as tests (neft.analysis.claims): seed-level verdicts on constructed Monte-Carlo rows, and the convergence
test."""

import numpy as np
import pandas as pd
import pytest

from neft.analysis import claims, stability
from neft.analysis import scorecard as sc
from neft.util import stats
from neft.util.stats import newcombe_difference, paired_difference, wilson_interval

METHODS = {
    "plain": {"kind": "plain", "train_at": "zero"},
    "noise_injection": {"kind": "noise_injection", "train_at": "nonzero", "zero_from": "plain"},
    "correctnet": {"kind": "correctnet", "train_at": "nonzero", "zero_from": "plain"},
    "ovf": {"kind": "ovf", "train_at": "all"},
    "irs": {"kind": "irs", "train_at": "all"},
}
KINDS = {m: spec["kind"] for m, spec in METHODS.items()}
TOP = "largest σ of every panel"


def mc_rows(means: dict, seeds=(0, 1, 2), chips=30, sigma="0.14", spread=2.0, seed_sd=0.5):
    """Chip rows and sweep rows for the methods in ``means`` (method -> accuracy mean) at one test sigma: every
    method sees the same chip noise on the same seed (as on real seeded chips), plus a seed effect of its own."""
    rng = np.random.default_rng(7)
    chip_rows, sweep_rows = [], []
    chip_noise = {s: rng.normal(0, spread, chips) for s in seeds}
    for method, mean in means.items():
        train_sigma = "0" if METHODS[method]["train_at"] == "zero" else sigma
        for s in seeds:
            key = {"model": "vgg8", "dataset": "mnist", "method": method, "device": "RRAM1"}
            key |= {"sigma_train": train_sigma, "seed": s, "sigma_test": sigma}
            acc = mean + rng.normal(0, seed_sd) + chip_noise[s] + rng.normal(0, 0.2, chips)
            chip_rows += [key | {"chip": c, "accuracy": a, "confidence_correct": a / 100} for c, a in enumerate(acc)]
            sweep_rows.append(key | {"ekl": (100 - mean) / 1000 + rng.normal(0, 1e-4)})
    return pd.DataFrame(chip_rows), pd.DataFrame(sweep_rows)


def evidence(means, metric="accuracy", **kw):
    chips, summary = mc_rows(means, **kw)
    return claims.SeedEvidence(chips, summary, KINDS, METHODS, sigma_scale=0.35, metric=metric)


def verdicts(ev):
    return {c: v for c, v, *_ in claims.accuracy_claims(ev)}


def test_clear_gains_hold_clear_losses_do_not_and_ties_are_undecided():
    win = verdicts(evidence({"noise_injection": 40.0, "ovf": 60.0, "irs": 58.0}))
    assert win[f"OVF beats W/ Noise at the {TOP}"] == "holds"
    loss = verdicts(evidence({"noise_injection": 60.0, "ovf": 40.0, "irs": 58.0}))
    assert loss[f"OVF beats W/ Noise at the {TOP}"] == "does not hold"
    # a constructed tie: the same mean, a seed effect of its own per method -> the interval spans 0
    tie = verdicts(evidence({"noise_injection": 50.0, "ovf": 50.0, "irs": 50.0}, seed_sd=1.0))
    assert tie[f"OVF beats W/ Noise at the {TOP}"] == "undecided"
    assert tie[f"IRS beats W/ Noise at the {TOP}"] == "undecided"


def test_the_claim_names_its_test_and_its_n():
    ev = evidence({"noise_injection": 40.0, "ovf": 60.0, "irs": 58.0})
    results = {c: (v, e, t, n) for c, v, e, t, n in claims.accuracy_claims(ev)}
    _, evidence_text, test, n = results[f"OVF beats W/ Noise at the {TOP}"]
    assert n == "3 seeds x 30 chips"
    assert "t-interval over seeds" in test
    assert evidence_text.startswith("1/1 panels hold; holds at VGG-8/MNIST σ=0.4 (+")


def test_seed_level_difference_is_the_mean_of_the_seeds_mean_differences():
    ev = evidence({"noise_injection": 40.0, "ovf": 60.0})
    chips = ev.chips
    per_seed = [
        chips[(chips.method == "ovf") & (chips.seed == s)].accuracy.mean()
        - chips[(chips.method == "noise_injection") & (chips.seed == s)].accuracy.mean()
        for s in (0, 1, 2)
    ]
    c = ev.compare("vgg8", "mnist", "0.4", "ovf", "noise_injection")
    assert c["diff"] == pytest.approx(np.mean(per_seed))
    half = 4.302652729911275 * np.std(per_seed, ddof=1) / np.sqrt(3)  # t(0.975, 2 df)
    assert c["ci_high"] - c["diff"] == pytest.approx(half)
    assert (c["seeds"], c["chips"]) == (3, 30)


def test_one_seed_is_the_chip_level_paired_difference():
    ev = evidence({"noise_injection": 40.0, "ovf": 45.0}, seeds=(0,))
    chips = ev.chips
    a = chips[chips.method == "ovf"].sort_values("chip").accuracy
    b = chips[chips.method == "noise_injection"].sort_values("chip").accuracy
    expected = paired_difference(a.to_numpy(), b.to_numpy())
    c = ev.compare("vgg8", "mnist", "0.4", "ovf", "noise_injection")
    assert c["diff"] == pytest.approx(expected["diff"])
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((expected["ci_low"], expected["ci_high"]))


def test_expected_kl_is_judged_over_seeds_and_undecided_with_one():
    three = evidence({"noise_injection": 40.0, "correctnet": 42.0, "ovf": 60.0, "irs": 58.0}, metric="ekl")
    ((_, held, _, _, n),) = claims.uncertainty_claims(three)
    assert held == "holds" and n == "3 seeds, one value per seed's sweep"
    one = evidence({"noise_injection": 40.0, "correctnet": 42.0, "ovf": 60.0, "irs": 58.0}, metric="ekl", seeds=(0,))
    ((_, held, *_),) = claims.uncertainty_claims(one)
    assert held == "undecided"


def test_w_noise_at_zero_is_w_o_noise_by_point_source():
    """At sigma 0, W/ Noise's point is W/O Noise's model (zero_from): the evidence compares the right rows."""
    chips, summary = mc_rows({"plain": 90.0, "ovf": 92.0}, sigma="0")
    ev = claims.SeedEvidence(chips, summary, KINDS, METHODS, sigma_scale=0.35)
    assert ev.mean("vgg8", "mnist", "noise_injection", "0") == pytest.approx(ev.mean("vgg8", "mnist", "plain", "0"))


def test_newcombe_matches_his_published_example_and_wilson_its_edges():
    d = newcombe_difference(56, 70, 48, 80)  # Newcombe (1998), Stat. Med. 17:873, example (a), method 10
    assert (round(d["ci_low"], 4), round(d["ci_high"], 4)) == (0.0524, 0.3339)
    assert wilson_interval(0, 3)[0] == 0.0 and wilson_interval(3, 3)[1] == 1.0
    assert wilson_interval(3, 3)[0] == pytest.approx(0.43850, abs=1e-5)


def convergence(rates):
    return pd.DataFrame(
        [
            {"model": "vgg8", "dataset": "mnist", "method": k, "kind": k, "device": "RRAM1", "sigma": "0.14",
             "runs": n, "converged": x, "probability": x / n}
            for k, (x, n) in rates.items()
        ]
    )  # fmt: skip


def test_convergence_claim_is_a_test_over_seeds():
    all_or_nothing = {"ovf": (3, 3), "irs": (3, 3), "noise_injection": (0, 3), "correctnet": (0, 3)}
    _, held, _, _, n = claims.convergence_claim(convergence(all_or_nothing))
    assert held == "holds" and n == "3 seeds per method"
    equal = {"ovf": (3, 3), "irs": (3, 3), "noise_injection": (3, 3), "correctnet": (3, 3)}
    assert claims.convergence_claim(convergence(equal))[1] == "undecided"
    worse = {"ovf": (0, 3), "irs": (3, 3), "noise_injection": (3, 3), "correctnet": (3, 3)}
    assert claims.convergence_claim(convergence(worse))[1] == "does not hold"


def test_headline_gain_gets_a_two_level_interval():
    ev = evidence({"noise_injection": 40.0, "correctnet": 41.0, "ovf": 60.0, "irs": 58.0})
    chips = ev.chips
    curves = (
        chips.groupby(["model", "dataset", "method", "seed"]).accuracy.mean().groupby(["model", "dataset", "method"])
        .mean().rename("mean").reset_index().assign(sigma="0.14")
    )  # fmt: skip
    head = sc.headline(curves, KINDS, ev, sigma_scale=0.35).set_index("instance")
    ovf = head.loc["ovf"]
    assert ovf.best_baseline_method == "correctnet"
    assert ovf.gain_vs_best_baseline_ci_low < ovf.gain_vs_best_baseline < ovf.gain_vs_best_baseline_ci_high
    assert ovf.gain_vs_best_baseline_seeds == 3 and ovf.gain_vs_best_baseline_chips_per_seed == 30
    c = ev.compare("vgg8", "mnist", "0.4", "ovf", "correctnet")
    assert ovf.gain_vs_best_baseline == pytest.approx(c["diff"])


# -- verdict stability (neft.analysis.stability) -----------------------------------------------------------------------
OVF_TOP = f"OVF beats W/ Noise at the {TOP}"
PANELS = [("vgg8", "mnist"), ("resnet18", "mnist")]


def paired_evidence(diffs: dict, chips: int = 10, sigma: str = "0.14", metric: str = "accuracy"):
    """OVF against W/ Noise with per-seed mean differences set exactly: ``diffs`` maps a panel (model, dataset) to
    one difference per training seed. Both methods see the same chip noise; OVF's chips add the seed's difference
    and a zero-mean wiggle (+0.05, -0.05, ...), so each seed's mean difference is exactly its entry."""
    rng = np.random.default_rng(3)
    rows, sweeps = [], []
    wiggle = np.resize([0.05, -0.05], chips)
    for (model, dataset), per_seed in diffs.items():
        for s, d in enumerate(per_seed):
            base = 50.0 + rng.normal(0, 2.0, chips)
            for method, acc in (("noise_injection", base), ("ovf", base + d + wiggle)):
                key = {"model": model, "dataset": dataset, "method": method, "device": "RRAM1"}
                key |= {"sigma_train": sigma, "seed": s, "sigma_test": sigma}
                rows += [key | {"chip": c, "accuracy": a, "confidence_correct": a / 100} for c, a in enumerate(acc)]
                sweeps.append(key | {"ekl": 0.01})
    return claims.SeedEvidence(pd.DataFrame(rows), pd.DataFrame(sweeps), KINDS, METHODS, 0.35, metric)


def ovf_top(ev):
    """(the OVF-beats-W/-Noise claim judged, its stability)"""
    judged = claims.judge_accuracy(ev)
    i = [j.claim for j in judged].index(OVF_TOP)
    return judged[i], stability.claim_stability(claims.judge_accuracy, ev, judged)[i]


def test_a_clear_gain_is_stable_in_every_seed_resample():
    judged, st = ovf_top(paired_evidence({PANELS[0]: [10.0, 10.3, 9.8]}))
    assert judged.verdict == "holds"
    assert (st.share, st.resamples, st.seeds_to_decide) == (1.0, 27, None)  # all 3^3 ordered draws


def test_a_tie_at_the_boundary_is_about_half_stable():
    # 8 seeds (8^8 > 1000: 1000 draws) whose interval's lower end sits just below 0
    base = np.arange(1.0, 9.0)
    shifted = base - 2.4521753277158833 - 0.001  # mean - t(0.975, 7) sd / sqrt(8) = -0.001
    ev = paired_evidence({PANELS[0]: list(shifted)})
    c = ev.compare("vgg8", "mnist", "0.4", "ovf", "noise_injection")
    assert c["ci_low"] == pytest.approx(-0.001, abs=1e-9) and c["seeds"] == 8
    judged, st = ovf_top(ev)
    assert judged.verdict == "undecided" and st.resamples == 1000
    assert 0.3 < st.share < 0.7, st


def test_one_seed_has_no_stability():
    judged, st = ovf_top(paired_evidence({PANELS[0]: [10.0]}))
    assert judged.verdict == "holds"
    assert np.isnan(st.share) and st.resamples is None and st.seeds_to_decide is None and st.reason == "one seed"


def test_seeds_to_decide_by_hand():
    # seed means 1, 2, 6: d = 3, sd = sqrt(7); t(0.975, n-1) sqrt(7) / sqrt(n): n=5 2.776445 x 1.18322 = 3.285 (not
    # < 3), n=6 2.570582 x 1.08012 = 2.777 (< 3): 6. Seed means 0, 2, 4: d = 2, sd = 2; t / sqrt(n) < 1: n=6
    # 2.570582 / 2.44949 = 1.049 (no), n=7 2.446912 / 2.645751 = 0.925: 7. The claim needs both: 7.
    assert stats.seeds_to_decide(3.0, np.sqrt(7.0)) == 6 and stats.seeds_to_decide(2.0, 2.0) == 7
    assert stats.seeds_to_decide(0.0, 1.0) is None and stats.seeds_to_decide(1.0, float("nan")) is None
    judged, st = ovf_top(paired_evidence({PANELS[0]: [1.0, 2.0, 6.0]}))
    assert judged.verdict == "undecided" and st.seeds_to_decide == 6
    judged, st = ovf_top(paired_evidence({PANELS[0]: [1.0, 2.0, 6.0], PANELS[1]: [0.0, 2.0, 4.0]}))
    assert judged.verdict == "undecided" and st.seeds_to_decide == 7
    judged, st = ovf_top(paired_evidence({PANELS[0]: [10.0, 10.3, 9.8], PANELS[1]: [2.0, 3.0, 4.0]}))
    assert judged.verdict == "holds" and st.seeds_to_decide is None  # decided: nothing to add


def test_stability_is_deterministic():
    ev = paired_evidence({PANELS[0]: list(np.arange(1.0, 7.0) - 1.5366)})  # 6 seeds: 1000 random draws
    first = stability.claim_stability(claims.judge_accuracy, ev)
    again = stability.claim_stability(
        claims.judge_accuracy, paired_evidence({PANELS[0]: list(np.arange(1.0, 7.0) - 1.5366)})
    )
    assert first == again
    assert (
        stability.seed_draws(range(6)) == stability.seed_draws(range(6)) and len(stability.seed_draws(range(6))) == 1000
    )
    assert len(set(stability.seed_draws([0, 1, 2]))) == 27  # 3^3 <= 1000: every ordered draw, once


def test_one_seed_resample_serves_every_point_and_a_repeated_seed_is_two_groups():
    one = paired_evidence({PANELS[0]: [1.0, 2.0, 6.0]})
    # a resample with seed 0 twice: three groups, the mean of (d0, d0, d1)
    r = one.resampled((0, 0, 1))
    c = r.compare("vgg8", "mnist", "0.4", "ovf", "noise_injection")
    assert c["seeds"] == 3 and c["diff"] == pytest.approx((1.0 + 1.0 + 2.0) / 3)
    assert c["sd_seed_means"] == pytest.approx(np.std([1.0, 1.0, 2.0], ddof=1))
    assert r._values("vgg8", "mnist", "ovf", "0.14").index.get_level_values("seed").nunique() == 3
    assert r.mean("vgg8", "mnist", "ovf", "0.4") - r.mean("vgg8", "mnist", "noise_injection", "0.4") == pytest.approx(
        4.0 / 3
    )
    # the identity draw is the full data
    full = one.compare("vgg8", "mnist", "0.4", "ovf", "noise_injection")
    same = one.resampled(one.seeds()).compare("vgg8", "mnist", "0.4", "ovf", "noise_injection")
    assert {k: same[k] for k in full} == pytest.approx(full)
    # two panels with the same seeds' differences: one shared draw judges both alike, so the claim over both is
    # as stable as over one (independent draws per point would make it less: 0 < share < 1 here)
    _, st_one = ovf_top(one)
    _, st_two = ovf_top(paired_evidence({PANELS[0]: [1.0, 2.0, 6.0], PANELS[1]: [1.0, 2.0, 6.0]}))
    assert 0 < st_one.share < 1 and st_two.share == st_one.share


def test_convergence_stability_resamples_each_methods_runs():
    # OVF 2/3 against W/ Noise 0/3: undecided (Newcombe). Resampling each method's runs with replacement: 27 x 27
    # = 729 ordered draws (<= 1000: all of them); W/ Noise stays 0/3, OVF draws 3/3 in 2^3 of its 27 (the only
    # draws that hold), so 19/27 keep "undecided".
    rates = {"ovf": (2, 3), "noise_injection": (0, 3)}
    assert claims.convergence_claim(convergence(rates))[1] == "undecided"
    st = stability.convergence_stability(convergence(rates))
    assert st.resamples == 729 and st.share == pytest.approx(19 / 27) and st.seeds_to_decide is None
    all_or_nothing = {"ovf": (3, 3), "irs": (3, 3), "noise_injection": (0, 3), "correctnet": (0, 3)}
    st = stability.convergence_stability(convergence(all_or_nothing))
    assert st.resamples == 1000 and st.share == 1.0  # 27^4 > 1000: 1000 draws
    assert np.isnan(stability.convergence_stability(convergence({"ovf": (1, 1), "noise_injection": (0, 1)})).share)
