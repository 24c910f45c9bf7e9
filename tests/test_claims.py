"""Claims as tests (neft.claims): seed-level verdicts on constructed Monte-Carlo rows, and the convergence test."""

import numpy as np
import pandas as pd
import pytest

from neft import claims
from neft import scorecard as sc
from neft.stats import newcombe_difference, paired_difference, wilson_interval

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
    assert held == "holds" and n == "3 seeds x 1 chips per sweep"
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
