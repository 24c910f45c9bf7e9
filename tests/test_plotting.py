"""Figures whose text is computed: the numbers written on bars belong to the bars they sit on."""

import pandas as pd

from neft import plotting


def test_convergence_counts_sit_on_their_own_bars(monkeypatch):
    # sigmas listed out of string order ("0.14" before "0.07") and one missing (method, sigma): both used to shift
    # the counts onto other bars
    summary = pd.DataFrame(
        [
            ("m", "d", "ovf", "0.14", 3, 3),
            ("m", "d", "noise_injection", "0.14", 0, 3),
            ("m", "d", "ovf", "0.07", 2, 3),
        ],
        columns=["model", "dataset", "method", "sigma", "converged", "runs"],
    )
    summary["probability"] = summary["converged"] / summary["runs"]
    figures = []
    monkeypatch.setattr(plotting, "save", lambda fig, paths: figures.append(fig))
    plotting.plot_convergence(summary, {"ovf": "OVF", "noise_injection": "W/ Noise"}, ["unused.png"])
    (ax,) = figures[0].axes
    assert sorted(t.get_text() for t in ax.texts) == ["0/3", "2/3", "3/3"]
    for text in ax.texts:  # each count stands on a bar whose height is its own fraction (1, 0 and 2/3 differ)
        x, height = text.xy
        (bar,) = [p for p in ax.patches if abs(p.get_x() + p.get_width() / 2 - x) < 1e-9]
        converged, runs = map(int, text.get_text().split("/"))
        assert bar.get_height() == height == converged / runs


def _variance_curves(sd_between):
    return pd.DataFrame(
        {
            "model": "vgg8",
            "dataset": "mnist",
            "device": "RRAM1",
            "method": "ovf",
            "label": "OVF",
            "sigma": ["0", "0.14"],
            "sd_within_seed": [0.0, 5.0],
            "sd_between_seeds": sd_between,
        }
    )


def test_variance_legend_names_only_what_is_drawn(monkeypatch):
    figures = []
    monkeypatch.setattr(plotting, "save", lambda fig, paths: figures.append(fig))
    plotting.plot_variance(_variance_curves([float("nan")] * 2), ["unused.png"])  # one seed: no between-seed sd
    names = [t.get_text() for t in figures[-1].legends[0].get_texts()]
    assert names == ["OVF (chips)"]
    plotting.plot_variance(_variance_curves([0.0, 2.0]), ["unused.png"])
    names = [t.get_text() for t in figures[-1].legends[0].get_texts()]
    assert names == ["OVF (chips)", "OVF (seeds)"]
