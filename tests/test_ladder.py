"""The scale ladder (neft.analysis.ladder): the sigma rule, the rungs, and tables that equal what the chip rows say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neft.analysis import ladder
from neft.experiment import rungs

RULE = {"factor_min": 0.1, "factor_max": 1.5, "factor_step": 0.05, "decimals": 2}
METHODS = {
    "plain": {"kind": "plain", "train_at": "zero", "label": "W/O Noise"},
    "noise_injection": {"kind": "noise_injection", "train_at": "nonzero", "zero_from": "plain", "label": "W/ Noise"},
    "ni_temperature": {"kind": "noise_injection", "train_at": "ablation", "label": "W/ Noise, logits / 4"},
    "correctnet": {"kind": "correctnet", "train_at": "nonzero", "zero_from": "plain", "label": "CorrectNet"},
    "ovf": {"kind": "ovf", "train_at": "all", "label": "OVF"},
    "ovf_beta0": {"kind": "ovf", "train_at": "ablation", "label": "OVF, beta = 0"},
}
KINDS = {m: METHODS[m]["kind"] for m in ("plain", "noise_injection", "correctnet", "ovf")}
ABLATION = {
    "baseline": "noise_injection",
    "instances": {"ovf": {"temperature": "ni_temperature", "no_feedback": "ovf_beta0"}},
}
LABELS = {m: spec["label"] for m, spec in METHODS.items()}
#: per method: the mean accuracy at 2 epochs; 4 epochs adds ``GAIN_4``
LEVEL = {
    "plain": 20.0,
    "noise_injection": 40.0,
    "ni_temperature": 60.0,
    "correctnet": 45.0,
    "ovf": 70.0,
    "ovf_beta0": 69.0,
}
GAIN_4 = {
    "plain": 1.0,
    "noise_injection": 40.0,
    "ni_temperature": 10.0,
    "correctnet": 25.0,
    "ovf": 8.0,
    "ovf_beta0": 8.0,
}


def study(seeds=(0, 1, 2), epochs=(2, 4)) -> dict:
    return {
        "methods": list(METHODS),
        "seeds": list(seeds),
        "paper_sigmas": [0.4],
        "rungs": [{"width": 0.0625, "epochs": e} for e in epochs],
        "sigma_rule": RULE | {"reference_method": "plain", "reference_sigma": 0.35, "chips": 4},
    }


def constructed(seeds=(0, 1, 2), epochs=(2, 4), chips=20, factor=0.33, rng_seed=0):
    """Chip rows, sweep summaries and convergence rows of a ladder, as the workflow's jobs write them."""
    rng = np.random.default_rng(rng_seed)
    sigma = rungs.rung_sigma(factor, 0.4)
    rows, sums, conv = [], [], []
    chip_noise = rng.normal(0, 3, size=chips)  # chip k is the same chip for every method: a shared part
    for e in epochs:
        for seed in seeds:
            seed_shift = rng.normal(0, 2)
            for m in METHODS:
                mean = LEVEL[m] + (GAIN_4[m] if e == 4 else 0.0) + seed_shift
                acc = np.clip(mean + chip_noise + rng.normal(0, 1, size=chips), 0, 100)
                train = "0" if m == "plain" else sigma
                for k, a in enumerate(acc):
                    rows.append(
                        {
                            "width": "0.0625",
                            "epochs": e,
                            "paper_sigma": "0.4",
                            "model": "vgg8",
                            "dataset": "mnist",
                            "method": m,
                            "device": "RRAM1",
                            "sigma_train": train,
                            "seed": seed,
                            "sigma_test": sigma,
                            "chip": k,
                            "accuracy": round(float(a), 4),
                            "confidence_correct": 0.5 + a / 400,
                        }
                    )
                sums.append(
                    {"width": "0.0625", "epochs": e, "paper_sigma": "0.4", "model": "vgg8", "dataset": "mnist"}
                    | {"method": m, "sigma_train": train, "seed": seed, "sigma_test": sigma, "ekl": 1.0 - mean / 100}
                )
                if m != "plain":
                    conv.append(
                        {"width": "0.0625", "epochs": e, "model": "vgg8", "dataset": "mnist", "method": m}
                        | {"paper_sigma": "0.4", "sigma": sigma, "seed": seed, "converged": mean > 50}
                    )
    return pd.DataFrame(rows), pd.DataFrame(sums), pd.DataFrame(conv), {"0.0625": factor}


# -- the sigma rule --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("true_factor", [0.35, 0.62, 1.0])
def test_sigma_rule_recovers_a_known_factor_on_a_constructed_curve(true_factor):
    """A smooth W/O Noise curve that falls to the paper's 35.41 % exactly at true_factor x 0.35."""
    target, ref_sigma = 35.41, 0.35
    crossing = true_factor * ref_sigma

    def accuracy(sigma):  # logistic in sigma, 99 % at 0, equal to the target at ``crossing``
        k = 12 / crossing
        shift = np.log((99 - 10) / (target - 10) - 1) / k
        return 10 + (99 - 10) / (1 + np.exp(k * (sigma - crossing + shift)))

    factors = rungs.factor_grid(RULE)
    curve = [accuracy(float(rungs.swept_sigma(f, ref_sigma))) for f in factors]
    factor, exact = rungs.crossing_factor(factors, curve, target, 2)
    assert factor == pytest.approx(true_factor, abs=0.01)
    assert exact == pytest.approx(true_factor, abs=0.015)


def test_sigma_rule_interpolates_between_the_bracketing_points():
    factor, exact = rungs.crossing_factor([0.3, 0.35, 0.4], [60.0, 40.0, 20.0], 30.0, 2)
    assert exact == pytest.approx(0.375) and factor == 0.38  # halfway from 40 to 20, rounded to 2 decimals


@pytest.mark.parametrize(("curve", "key"), [([30.0, 20.0, 10.0], "factor_min"), ([90.0, 80.0, 70.0], "factor_max")])
def test_sigma_rule_names_the_key_when_the_sweep_misses_the_crossing(curve, key):
    with pytest.raises(ValueError, match=key):
        rungs.crossing_factor([0.1, 0.2, 0.3], curve, 35.41, 2)


def test_factor_grid_spells_every_sigma_exactly():
    grid = rungs.factor_grid(RULE)
    assert grid[0] == 0.1 and grid[-1] == 1.5 and len(grid) == 29
    assert [rungs.swept_sigma(f, 0.35) for f in grid[:3]] == ["0.035", "0.0525", "0.07"]


def test_rung_sigma_is_the_factor_times_the_paper_sigma_on_the_4_decimal_grid():
    assert rungs.rung_sigma(0.33, 0.4) == "0.132"
    assert rungs.rung_sigma(1, "0.4") == "0.4"
    with pytest.raises(ValueError, match="above 1"):
        rungs.rung_sigma(3, 0.4)


def test_read_factor_names_the_file(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"factor": 0.33}')
    bad.write_text('{"factor": "banana"}')
    assert rungs.read_factor(good) == 0.33
    with pytest.raises(ValueError, match="bad.json"):
        rungs.read_factor(bad)
    with pytest.raises(ValueError, match="missing.json: file not found"):
        rungs.read_factor(tmp_path / "missing.json")


# -- rungs -----------------------------------------------------------------------------------------------------------
def test_rungs_their_paths_and_the_doubling_they_start_from():
    s = study(epochs=(2, 4, 8, 12)) | {
        "rungs": [
            {"width": w, "epochs": e} for w, e in [(0.0625, 2), (0.0625, 4), (0.0625, 8), (0.25, 8), (0.0625, 12)]
        ]
    }
    rs = rungs.rungs(s)
    assert rs[0].path == "width~0.0625/epochs~2" and rs[3].path == "width~0.25/epochs~8"
    assert rungs.halved(s, rs[2]) == rungs.Rung(0.0625, 4)
    assert rungs.halved(s, rs[0]) is None  # no 1-epoch rung
    assert rungs.halved(s, rs[3]) is None  # no width-0.25, 4-epoch rung
    assert rungs.halved(s, rs[4]) is None  # 6 epochs is not a rung
    assert rungs.width_reference(s, 0.0625) == rungs.Rung(0.0625, 2)
    assert rungs.width_reference(s, 0.25) == rungs.Rung(0.25, 8)


# -- tables ----------------------------------------------------------------------------------------------------------
def t_interval(values):
    v = np.asarray(values, dtype=float)
    h = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return v.mean(), v.mean() - h, v.mean() + h


def test_ladder_table_numbers_equal_those_recomputed_from_the_chip_rows():
    chips, sums, conv, factors = constructed()
    acc = ladder.accuracy_table(chips, sums, conv, factors, study(), LABELS)
    assert len(acc) == 2 * len(METHODS)
    for (e, m), ekl in acc.set_index(["epochs", "method"])["ekl_1e-2"].items():
        assert ekl == pytest.approx(sums[(sums.epochs == e) & (sums.method == m)].ekl.mean() * 100)
    for r in acc.itertuples():
        g = chips[(chips.epochs == r.epochs) & (chips.method == r.method)]
        mean, low, high = t_interval(g.groupby("seed")["accuracy"].mean())
        assert r.mean == pytest.approx(mean) and r.ci95_low == pytest.approx(low) and r.ci95_high == pytest.approx(high)
        assert r.p1 == pytest.approx(np.percentile(g.accuracy, 1)) and r.p5 == pytest.approx(
            np.percentile(g.accuracy, 5)
        )
        assert r.sigma == "0.132" and r.factor == 0.33 and r.label == LABELS[r.method]
        if r.method != "plain":
            c = conv[(conv.epochs == r.epochs) & (conv.method == r.method)]
            assert (r.converged, r.runs) == (int(c.converged.sum()), len(c))
        if r.epochs == 4:  # the last doubling: per seed, the mean over the same chips of 4 minus 2 epochs
            prev = chips[(chips.epochs == 2) & (chips.method == r.method)]
            per_seed = (
                g.groupby("seed")["accuracy"].mean().to_numpy() - prev.groupby("seed")["accuracy"].mean().to_numpy()
            )
            mean, low, high = t_interval(per_seed)
            assert r.doubling_from == 2 and r.doubling_gain == pytest.approx(mean)
            assert (r.doubling_ci_low, r.doubling_ci_high) == (pytest.approx(low), pytest.approx(high))
            assert r.doubling_gain == pytest.approx(GAIN_4[r.method], abs=1.5)
        else:
            assert pd.isna(r.doubling_from) and np.isnan(r.doubling_gain)


def test_decomposition_per_rung_equals_the_paired_differences():
    chips, _, _, factors = constructed()
    d = ladder.decomposition_table(chips, factors, study(), ABLATION)
    assert set(d.comparison) == {"gain", "temp", "structure", "feedback"} and set(d.epochs) == {2, 4}
    for r in d.itertuples():
        rung = chips[chips.epochs == r.epochs]
        a = rung[rung.method == r.method_a].groupby("seed")["accuracy"].mean()
        b = rung[rung.method == r.method_b].groupby("seed")["accuracy"].mean()
        mean, low, high = t_interval(a - b)
        assert r.diff == pytest.approx(mean) and r.ci_low == pytest.approx(low) and r.ci_high == pytest.approx(high)
    gain = d.set_index(["epochs", "comparison"])["diff"]
    assert gain[(2, "gain")] == pytest.approx(30, abs=2) and gain[(4, "gain")] == pytest.approx(-2, abs=2)


def test_claims_per_rung_follow_the_rung_s_own_runs():
    chips, sums, conv, factors = constructed()
    v = ladder.claims_table(chips, sums, conv, factors, study(), METHODS, KINDS).set_index(["epochs", "claim"])
    ovf = "OVF beats W/ Noise at the largest σ of every panel"
    assert v.loc[(2, ovf), "verdict"] == "holds"  # +30 pp
    assert v.loc[(4, ovf), "verdict"] == "does not hold"  # 78 against 80: W/ Noise caught up and passed OVF
    assert "VGG-8/MNIST σ=0.4" in v.loc[(2, ovf), "evidence"]  # our sigma 0.132 on the paper's scale via the factor
    assert v.loc[(2, ovf), "stability"] == 1.0 and v.loc[(2, ovf), "resamples"] == 27  # clear: every resample agrees
    assert pd.isna(v.loc[(2, ovf), "seeds_to_decide"])


def test_a_rung_with_one_seed_shows_no_interval_and_no_verdict():
    chips, sums, conv, factors = constructed(seeds=(0,))
    s = study(seeds=(0,))
    acc = ladder.accuracy_table(chips, sums, conv, factors, s, LABELS)
    assert acc.ci95_low.isna().all() and acc.ci95_high.isna().all() and acc["mean"].notna().all()
    assert acc.doubling_ci_low.isna().all() and acc.doubling_gain.notna().sum() == len(METHODS)
    d = ladder.decomposition_table(chips, factors, s, ABLATION)
    assert d.ci_low.isna().all() and d["diff"].notna().all()
    v = ladder.claims_table(chips, sums, conv, factors, s, METHODS, KINDS)
    assert set(v.verdict) == {"–"} and v.stability.isna().all() and v.resamples.isna().all()
    assert (v.evidence[v.claim.str.startswith("OVF beats")] == ladder.NO_SEEDS).all()
    md = ladder.markdown(acc, d, v, LABELS)
    assert "[" not in md.split("## Accuracy per rung")[1].split("\n", 4)[4].split("## Where")[0]


def test_markdown_has_a_row_per_rung_and_method_and_a_verdict_column_per_rung():
    chips, sums, conv, factors = constructed()
    acc = ladder.accuracy_table(chips, sums, conv, factors, study(), LABELS)
    d = ladder.decomposition_table(chips, factors, study(), ABLATION)
    v = ladder.claims_table(chips, sums, conv, factors, study(), METHODS, KINDS)
    md = ladder.markdown(acc, d, v, LABELS, paragraph="What it measured.")
    assert md.splitlines()[2] == "What it measured."
    assert "| claim | rung 0.0625, 2 | rung 0.0625, 4 |" in md
    assert md.count("| 0.0625, 4 | 0.33 | 0.132 (0.4) |") == len(METHODS)


def test_the_gpu_ladder_estimate_counts_every_training_and_scales_with_epochs_and_rate():
    from neft.tools import acceptance

    presets = [acceptance.REPO / "config/presets/paper.yaml", acceptance.SCALE_GPU_PRESET]
    est = acceptance.ladder_cost(presets, 1e12)
    rungs = {r["rung"]: r for r in est["rungs"]}
    assert all(
        r["trainings"] == 7 * 4 * 3 + 3 for r in est["rungs"]
    )  # 7 noisy methods x 4 sigmas x 3 seeds + W/O Noise
    full = [rungs[f"width 1, {e} epochs"]["train_h"] for e in (25, 50, 100, 200)]
    assert full[1] == pytest.approx(2 * full[0], rel=1e-3) and full[3] == pytest.approx(2 * full[2], rel=1e-3)
    assert rungs["width 1, 8 epochs"]["mc_h"] > rungs["width 1, 25 epochs"]["mc_h"]  # the width's sigma-rule sweep
    slower = acceptance.ladder_cost(presets, 0.5e12)
    assert slower["total_h"] == pytest.approx(2 * est["total_h"], rel=1e-2)


def test_a_ladder_sweep_is_checked_against_its_digest_and_what_the_dag_asked(tmp_path):
    import json

    from neft.experiment.tablecheck import HandoffError
    from neft.jobs.runs import write_chip_csv

    keys = {"width": "0.0625", "epochs": 2, "paper_sigma": "0.4", "model": "vgg8", "dataset": "mnist"}
    keys |= {"method": "ovf", "device": "RRAM1", "sigma_train": "0.14", "seed": 0, "sigma_test": "0.14"}
    rows = [
        {"chip": k, "correct": c, "n": 200, "accuracy": c / 2, "confidence": 0.9, "confidence_correct": 0.95}
        for k, c in enumerate((143, 140))
    ]
    csv, js = tmp_path / "seed~0.csv", tmp_path / "seed~0.json"
    stats = keys | {"chips": 2, "ekl": 0.1, "mutual_info": 0.05, "n_test": 200, "mc_seed": 2023}
    js.write_text(json.dumps(stats | {"csv_sha256": write_chip_csv(rows, keys, csv)}))
    asked = {"width": "0.0625", "epochs": 2, "method": "ovf", "paper_sigma": "0.4", "seed": 0}
    got, _ = ladder.read_sweep(csv, js, asked, {"chips": 2, "seed": 2023})
    assert got.width.tolist() == ["0.0625", "0.0625"] and got.accuracy.tolist() == [71.5, 70.0]
    with pytest.raises(HandoffError, match="method is 'ovf', its path says 'irs'"):
        ladder.read_sweep(csv, js, asked | {"method": "irs"})
    with pytest.raises(HandoffError, match="2 chips, but the config's mc.chips is 30"):
        ladder.read_sweep(csv, js, asked, {"chips": 30})
    csv.write_text(csv.read_text().replace(",143,", ",199,").replace(",71.5000,", ",99.5000,"))
    with pytest.raises(HandoffError, match="the CSV was changed after its job wrote it"):
        ladder.read_sweep(csv, js, asked)
