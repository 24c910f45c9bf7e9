import pandas as pd
import pytest

from neft.convergence import convergence_table
from neft.grid import Run
from neft.results import accuracy_curves

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
