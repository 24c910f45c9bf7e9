import pandas as pd
import pytest

from neft.analysis.convergence import convergence_table
from neft.analysis.results import accuracy_curves
from neft.experiment.grid import Run

from .conftest import REPO

METHODS = {
    "plain": {"label": "W/O Noise", "train_at": "zero"},
    "noise_injection": {"label": "W/ Noise", "train_at": "nonzero", "zero_from": "plain"},
    "ovf": {"label": "OVF", "train_at": "all"},
}


def chip_rows():
    rows = []
    spec = [
        ("plain", "0", "0", 99),
        ("plain", "0", "0.1", 50),
        ("noise_injection", "0.1", "0.1", 80),
        ("noise_injection", "0.1", "0", 97),
        ("ovf", "0", "0", 98),
        ("ovf", "0.1", "0.1", 85),
    ]
    for method, st, ss, acc in spec:
        for k in range(4):
            rows.append(("vgg8", "mnist", method, "RRAM1", st, 0, ss, k, acc + k, 0.9, 0.95))
    cols = [
        "model",
        "dataset",
        "method",
        "device",
        "sigma_train",
        "seed",
        "sigma_test",
        "chip",
        "accuracy",
        "confidence",
        "confidence_correct",
    ]
    return pd.DataFrame(rows, columns=cols)


def test_each_curve_point_comes_from_the_right_experiment():
    chips = chip_rows()
    summary = chips.groupby(["model", "dataset", "method", "device", "sigma_train", "seed", "sigma_test"]).size()
    summary = summary.reset_index().assign(ekl=0.01, mutual_info=0.005)
    curves = accuracy_curves(chips, summary, METHODS, [0, 0.1]).set_index(["method", "sigma"])
    assert curves.loc[("plain", "0.1"), "mean"] == pytest.approx(51.5)  # W/O Noise tested at 0.1
    assert curves.loc[("noise_injection", "0"), "source_method"] == "plain"  # W/ Noise at 0 is W/O Noise
    assert curves.loc[("noise_injection", "0"), "mean"] == pytest.approx(100.5)
    assert curves.loc[("noise_injection", "0.1"), "mean"] == pytest.approx(81.5)  # trained at 0.1, not tested at 0
    assert curves.loc[("ovf", "0"), "mean"] == pytest.approx(99.5)  # OVF has its own point at 0
    assert list(curves.index.get_level_values(0).unique()) == ["plain", "noise_injection", "ovf"]


def test_convergence_criterion_reads_the_last_epoch(tmp_path):
    def log(name, rows):
        path = tmp_path / f"{name}.csv"
        pd.DataFrame(rows, columns=["epoch", "loss", "clean_acc", "noisy_acc"]).to_csv(path, index=False)
        return str(path)

    ref = log("plain", [(1, 0.5, 90, 90), (2, 0.2, 98, 98)])
    good = log("good", [(1, 1.0, 50, 20), (2, 0.5, 90, 60)])  # 60 >= 0.5 * 98
    bad = log("bad", [(1, 1.0, 50, 70), (2, 2.3, 11, 10)])  # collapsed in the last epoch
    runs = [Run("vgg8", "mnist", "ovf", "RRAM1", "0.1", 0), Run("vgg8", "mnist", "ovf", "RRAM1", "0.1", 1)]
    per_run, summary = convergence_table(runs, [good, bad], {("vgg8", "mnist"): ref}, fraction=0.5)
    assert per_run["converged"].tolist() == [True, False]
    assert summary.iloc[0]["probability"] == 0.5 and summary.iloc[0]["runs"] == 2


@pytest.mark.parametrize(
    "preset", [(), ("config/presets/test.yaml",), ("config/presets/paper.yaml",), ("config/presets/paper-smoke.yaml",)]
)
def test_every_plotted_point_has_its_sweep_in_the_dag(preset):
    """One rule (neft.experiment.grid.point_source) picks the experiment behind each point; the DAG builds exactly
    that one."""
    from neft.experiment import grid
    from neft.experiment.config import validate_config
    from neft.util.sigma import format_sigma

    from .conftest import SCHEMA, load_config

    cfg = validate_config(load_config(*preset), SCHEMA, REPO)
    sweeps = {
        (e.run.model, e.run.dataset, e.run.method, e.device, e.run.sigma, e.sigma_test) for e in grid.evaluations(cfg)
    }
    study = cfg["device_study"]
    wanted = [
        (m, d, cfg["experiments"]["devices"], cfg["experiments"]["methods"], grid.grid_sigmas(cfg))
        for m, d in grid.pairs(cfg)
    ]
    if study["enabled"]:
        wanted += [
            (m, d, study["devices"], study["methods"], [format_sigma(s) for s in study["sigmas"]])
            for m, d in grid.pairs(cfg)
        ]
    for model, dataset, devices, methods, sigmas in wanted:
        for device in devices:
            for method in methods:
                spec = cfg["methods"][method]
                trained = grid.train_sigmas(cfg, method)
                # a point is plotted where the method has a model for it (a train_at list leaves the rest out)
                plotted = [
                    s
                    for s in sigmas
                    if spec["train_at"] == "zero" or s in trained or (s == "0" and spec.get("zero_from"))
                ]
                for sigma in plotted:
                    source, train_sigma = grid.point_source(cfg["methods"], method, sigma)
                    assert (model, dataset, source, device, train_sigma, sigma) in sweeps, (method, device, sigma)


def _curves(chips):
    keys = ["model", "dataset", "method", "device", "sigma_train", "seed", "sigma_test"]
    summary = chips.groupby(keys).size().reset_index().assign(ekl=0.01, mutual_info=0.005)
    return accuracy_curves(chips, summary, METHODS, [0, 0.1]).set_index(["method", "sigma"])


def test_one_seed_points_are_the_chip_statistics():
    """Issue 13: with one training seed every number is the chip-level one (what the tables showed before)."""
    from neft.util.stats import summarize

    chips = chip_rows()
    curves = _curves(chips)
    g = chips[(chips.method == "ovf") & (chips.sigma_train == "0.1")]["accuracy"].to_numpy()
    s = summarize(g, levels=(0.95,))
    row = curves.loc[("ovf", "0.1")]
    assert (row["mean"], row["ci_low"], row["ci_high"], row["std"]) == (
        s["mean"],
        s["ci95_low"],
        s["ci95_high"],
        s["std"],
    )
    assert row["seeds"] == 1 and row["chips_per_seed"] == 4 and pd.isna(row["sd_between_seeds"])


def test_several_seeds_give_the_two_level_interval_and_the_variance_split():
    from neft.analysis.tables import variance_split
    from neft.util.stats import two_level

    base = chip_rows()
    chips = pd.concat([base.assign(seed=s, accuracy=base.accuracy + 3 * s) for s in range(3)], ignore_index=True)
    curves = _curves(chips)
    row = curves.loc[("ovf", "0.1")]
    groups = [
        chips[(chips.method == "ovf") & (chips.sigma_train == "0.1") & (chips.seed == s)]["accuracy"] for s in range(3)
    ]
    tl = two_level(groups)
    assert (row["mean"], row["ci_low"], row["ci_high"]) == pytest.approx((tl["mean"], tl["ci95_low"], tl["ci95_high"]))
    assert row["seeds"] == 3 and row["chips"] == 12 and row["chips_per_seed"] == 4
    # seed means 86.5, 89.5, 92.5 (sd 3); chips 85..88 within a seed (var 5/3): between = sqrt(9 - 5/3 / 4)
    assert row["sd_within_seed"] == pytest.approx((5 / 3) ** 0.5)
    assert row["sd_between_seeds"] == pytest.approx((9 - 5 / 12) ** 0.5)
    split = variance_split(curves.reset_index()).set_index(["method", "sigma"])
    assert split.loc[("ovf", "0.1"), "between_share"] == pytest.approx((9 - 5 / 12) / (9 - 5 / 12 + 5 / 3))


def test_tables_say_how_many_seeds_and_chips_stand_behind_a_point(tmp_path):
    from neft.analysis.tables import sample_size, write_accuracy_table, write_device_table

    curves = pd.DataFrame(
        {
            "model": "vgg8",
            "dataset": "mnist",
            "device": ["RRAM1", "FeFET2"],
            "method": "ovf",
            "label": "OVF",
            "sigma": "0.07",
            "source_method": "ovf",
            "sigma_train": "0.07",
            "seeds": [3, 1],
            "chips": [90, 30],
            "chips_per_seed": [30, 30],
            "mean": [90.0, 80.0],
            "std": 1.0,
            "ci_low": [89.0, 79.5],
            "ci_high": [91.0, 80.5],
            "p1": 85.0,
            "p5": 86.0,
            "sd_between_seeds": [0.5, float("nan")],
            "sd_within_seed": 1.0,
        }
    )
    assert sample_size(curves) == "1-3 training seeds x 30 chips per point"
    assert sample_size(curves[:1]) == "3 training seeds x 30 chips per point"
    out = {k: tmp_path / f"acc.{k}" for k in ("csv", "md", "tex")}
    write_accuracy_table(curves, out["csv"], out["md"], out["tex"], device="RRAM1")
    md = out["md"].read_text()
    assert "over training seeds and chips" in md and "3 training seeds x 30 chips per point" in md
    assert "all chips of all seeds" in md
    assert {"chips_per_seed", "sd_between_seeds", "sd_within_seed"} <= set(pd.read_csv(out["csv"]).columns)
    dev = {k: tmp_path / f"dev.{k}" for k in ("csv", "md", "tex")}
    write_device_table(curves, dev["csv"], dev["md"], dev["tex"])
    md = dev["md"].read_text()
    assert "90.00 ± 1.00 (3 seeds)" in md and "80.00 ± 0.50 (1 seed)" in md
