"""Figures whose text is computed: the numbers written on bars belong to the bars they sit on."""

import matplotlib
import pandas as pd
import pytest

from neft.report import plotting


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


# -- legends beside the data, zoomed device axis, Wilson intervals, scorecard facets -------------------------------
def _figures(monkeypatch):
    figures = []
    monkeypatch.setattr(plotting, "save", lambda fig, paths: figures.append(fig))
    return figures


def _legends_clear_of_data(fig):
    """Every legend (figure- or axes-level) overlaps no axes that draws data, in display pixels."""
    from matplotlib.transforms import Bbox

    fig.canvas.draw()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert legends
    for legend in legends:
        box = legend.get_window_extent()
        for ax in fig.axes:
            if not (ax.axison and ax.has_data()):
                continue
            common = Bbox.intersection(box, ax.get_window_extent())
            assert common is None or common.width <= 0.5 or common.height <= 0.5, (legend, ax.get_title())


def test_ablation_legends_never_cover_data(monkeypatch):
    comparisons = list(plotting.COMPARISON_LABELS)
    decomp = pd.DataFrame(
        [
            (model, "mnist", inst, sigma, comp, 1.0 + k, 0.5 + k, 1.5 + k)
            for model in ("vgg8", "resnet18")
            for inst in ("ovf", "irs")
            for sigma in (0.07, 0.14)
            for k, comp in enumerate(comparisons)
        ],
        columns=["model", "dataset", "instance", "sigma", "comparison", "diff", "ci_low", "ci_high"],
    )
    sweep = pd.DataFrame(
        [
            (model, "mnist", inst, 0.14, beta, 80.0 + i, 79.0 + i, 81.0 + i)
            for model in ("vgg8", "resnet18")
            for inst in ("ovf", "irs")
            for i, beta in enumerate((0.0, 1e-4, 1e-3, 1e-2))
        ],
        columns=["model", "dataset", "instance", "sigma", "beta", "mean", "ci_low", "ci_high"],
    )
    figures = _figures(monkeypatch)
    plotting.plot_ablation(decomp, sweep, ["unused.png"])
    _legends_clear_of_data(figures[0])


def _device_points(low=80.0, high=95.0):
    """Four methods x four devices x two sigmas, accuracies spread over [low, high], CI half-widths 0.5..2."""
    rows = []
    devices, methods = ("RRAM1", "FeFET2", "RRAM4", "FeFET6"), ("W/ Noise", "OVF", "IRS", "CorrectNet")
    for sigma in ("0.07", "0.14"):
        for i, label in enumerate(methods):
            for j, device in enumerate(devices):
                half = 0.5 + 0.1 * (i + j)
                mean = low + 2 + (high - low - 4) * (4 * i + j) / 15
                rows.append(("vgg8", "mnist", sigma, label, device, mean, mean - half, mean + half))
    return pd.DataFrame(rows, columns=["model", "dataset", "sigma", "label", "device", "mean", "ci_low", "ci_high"])


def test_device_legends_never_cover_data(monkeypatch):
    figures = _figures(monkeypatch)
    plotting.plot_devices(_device_points(), ["unused.png"])
    _legends_clear_of_data(figures[0])


def test_device_axis_is_zoomed_to_the_data_and_says_so(monkeypatch):
    points = _device_points(80.0, 95.0)
    figures = _figures(monkeypatch)
    plotting.plot_devices(points, ["unused.png"])
    axes = figures[0].axes
    assert len(axes) == 2  # one panel per sigma
    for ax in axes:
        lo, hi = ax.get_ylim()
        assert 0 < lo <= points.ci_low.min() and points.ci_high.max() <= hi <= 100
        assert hi - lo < 30  # zoomed: not the 0-100 axis
        assert not ax.patches  # points with error bars, not bars (a bar from a non-zero axis start would mislead)
        assert "zoomed to the data range" in ax.get_ylabel() + ax.get_title()
        # every (method, device) drawn once, devices dodged inside each method's x group
        markers = [line for line in ax.lines if line.get_marker() not in ("", "None", None, "_", "|")]  # not caps
        xs = [x for line in markers for x in line.get_xdata()]
        assert len(xs) == len(set(xs)) == 16
        assert all(abs(x - round(x)) < 0.5 for x in xs)


def test_device_axis_stays_inside_0_100(monkeypatch):
    points = _device_points(0.5, 99.5)
    figures = _figures(monkeypatch)
    plotting.plot_devices(points, ["unused.png"])
    for ax in figures[0].axes:
        lo, hi = ax.get_ylim()
        assert 0 <= lo <= points.ci_low.min() and points.ci_high.max() <= hi <= 100


def test_convergence_bars_carry_wilson_intervals_and_a_visible_zero(monkeypatch):
    from matplotlib.collections import LineCollection

    from neft.util.stats import wilson_interval

    counts = [("ovf", "0.14", 3, 3), ("noise_injection", "0.14", 0, 3), ("ovf", "0.07", 2, 3), ("irs", "0.07", 1, 4)]
    summary = pd.DataFrame(
        [("m", "d", *c) for c in counts], columns=["model", "dataset", "method", "sigma", "converged", "runs"]
    )
    summary["probability"] = summary["converged"] / summary["runs"]
    figures = _figures(monkeypatch)
    plotting.plot_convergence(summary, {"ovf": "OVF", "noise_injection": "W/ Noise"}, ["unused.png"])
    fig = figures[0]
    (ax,) = fig.axes
    fig.canvas.draw()
    by_height = {c / n: (c, n) for *_, c, n in counts}  # the four fractions differ
    segments = [s for c in ax.collections if isinstance(c, LineCollection) for s in c.get_segments() if len(s) == 2]
    drawn = [p for p in ax.patches if p.get_width() > 0 and not pd.isna(p.get_height())]
    bars = [p for p in drawn if any(abs(p.get_height() - h) < 1e-12 for h in by_height)]
    assert len(bars) == 4
    for bar in bars:
        x = bar.get_x() + bar.get_width() / 2
        c, n = by_height[min(by_height, key=lambda h: abs(h - bar.get_height()))]
        (seg,) = [s for s in segments if abs(s[0][0] - x) < 1e-9 and abs(s[1][0] - x) < 1e-9]
        assert sorted([seg[0][1], seg[1][1]]) == pytest.approx(wilson_interval(c, n), abs=1e-12)
        # the count stands above its interval, over its own bar
        (text,) = [t for t in ax.texts if t.get_text() == f"{c}/{n}"]
        box = text.get_window_extent()
        top = ax.transData.transform((x, wilson_interval(c, n)[1]))
        assert box.y0 >= top[1] - 0.5 and box.x0 < top[0] < box.x1
        if c == 0:  # a 0 % bar has no height: a marker at 0 shows it
            dots = [
                line
                for line in ax.lines
                if line.get_marker() not in ("", "None", None, "_", "|")
                and list(line.get_xdata()) == pytest.approx([x])
                and list(line.get_ydata()) == [0]
            ]
            assert dots and all(d.get_visible() and d.get_markersize() >= 3 for d in dots)


def _scorecard_tables():
    """Two pairs x three methods, every (pair, method) with its own values, and a second device to be left out."""
    rows, ref = [], []
    for p, (model, dataset) in enumerate((("vgg8", "mnist"), ("vgg8", "cifar10"))):
        for m, label in enumerate(("W/ Noise", "OVF", "IRS")):
            for k, sigma in enumerate(("0", "0.035", "0.07")):
                mean = 90.0 - 10 * p - 3 * m - 5 * k + 0.01 * (p * 3 + m)
                for device, shift in (("RRAM1", 0.0), ("FeFET2", 0.5)):
                    rows.append(
                        (model, dataset, device, label, sigma, mean + shift, mean + shift - 1, mean + shift + 1)
                    )
                if k < 2:  # the paper's points sit elsewhere (never on ours)
                    ref.append((model, dataset, label, float(sigma), mean + 2.25))
    curves = pd.DataFrame(rows, columns=["model", "dataset", "device", "label", "sigma", "mean", "ci_low", "ci_high"])
    return curves, pd.DataFrame(ref, columns=["model", "dataset", "label", "sigma", "value"])


def test_scorecard_facets_hold_one_method_each_with_distinct_paper_markers(monkeypatch):
    from matplotlib.colors import to_rgba

    curves, ref = _scorecard_tables()
    figures = _figures(monkeypatch)
    plotting.plot_scorecard(curves, ref, ["unused.png"], device="RRAM1", sigma_scale=0.35)
    fig = figures[0]
    ours = curves[curves.device == "RRAM1"]
    keys = {(m, d, lab) for m, d, lab in zip(ours.model, ours.dataset, ours.label)}
    seen = set()
    facets = [ax for ax in fig.axes if ax.has_data()]
    assert len(facets) == 6  # 2 pairs x 3 methods
    for ax in facets:
        owners, repro, paper = set(), [], []
        for line in ax.lines:
            y = sorted(float(v) for v in line.get_ydata())
            if not y:
                continue
            matches = []
            for key in keys:
                mine = ours[(ours.model == key[0]) & (ours.dataset == key[1]) & (ours.label == key[2])]
                theirs = ref[(ref.model == key[0]) & (ref.dataset == key[1]) & (ref.label == key[2])]
                if y == pytest.approx(sorted(mine["mean"])):
                    matches.append((key, repro))
                elif y == pytest.approx(sorted(theirs["value"])):
                    matches.append((key, paper))
            assert len(matches) == 1, f"a line in {ax.get_title()!r} is not one method's data: {y}"
            ((key, kind),) = matches
            owners.add(key)
            kind.append(line)
        assert len(owners) == 1, (ax.get_title(), owners)  # one method's data per facet
        (key,) = owners
        assert key[2] in ax.get_title() and key not in seen
        seen.add(key)
        assert len(repro) == 1 and len(paper) == 1
        a, b = repro[0], paper[0]
        assert a.get_marker() != b.get_marker() or to_rgba(a.get_markerfacecolor()) != to_rgba(b.get_markerfacecolor())
        assert to_rgba(b.get_markeredgecolor())[:3] == (0, 0, 0) and to_rgba(b.get_markerfacecolor())[3] == 0
        # the CI band spans our interval
        (band,) = ax.collections
        ys = band.get_paths()[0].vertices[:, 1]
        mine = ours[(ours.model == key[0]) & (ours.dataset == key[1]) & (ours.label == key[2])]
        assert ys.min() == pytest.approx(mine.ci_low.min()) and ys.max() == pytest.approx(mine.ci_high.max())
    assert seen == keys
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names[0] == "reproduced (95 % CI)" and names[1].startswith("paper (at") and "0.35" in names[1]


def _accuracy_curves():
    rows = [
        ("vgg8", "mnist", "RRAM1", method, label, sigma, mean, mean - 1, mean + 1)
        for method, label, base in (("noise_injection", "W/ Noise", 90.0), ("ovf", "OVF", 95.0))
        for sigma, mean in (("0", base), ("0.1", base - 20))
    ]
    return pd.DataFrame(
        rows, columns=["model", "dataset", "device", "method", "label", "sigma", "mean", "ci_low", "ci_high"]
    )


METHODS = {
    "noise_injection": {"kind": "noise_injection", "label": "W/ Noise"},
    "ovf": {"kind": "ovf", "label": "OVF", "params": {"beta": "paper"}},
    "irs": {"kind": "irs", "label": "IRS", "params": {"beta": 0.05}},
}


def test_accuracy_title_names_each_beta():
    titles = plotting.beta_titles(_accuracy_curves(), METHODS)
    # the paper's VGG-8 / MNIST beta for OVF (0.001), and the configured number for IRS
    assert titles == {("vgg8", "mnist"): r"(β$_{OVF}$ = 0.001, β$_{IRS}$ = 0.05)"}
    assert plotting.beta_titles(_accuracy_curves(), {"noise_injection": METHODS["noise_injection"]}) == {}


def test_paper_points_overlay_each_method_in_its_colour_at_the_scaled_sigma(monkeypatch):
    reference = pd.DataFrame(
        [
            ("vgg8", "mnist", "ovf", "0.4", 98.8),
            ("vgg8", "mnist", "noise_injection", "0.4", 54.2),
            ("vgg8", "mnist", "correctnet", "0.4", 55.9),  # not plotted here: dropped
            ("resnet18", "mnist", "ovf", "0.4", 90.0),  # another panel: dropped
        ],
        columns=["model", "dataset", "method", "sigma", "value"],
    )
    points = plotting.paper_points(_accuracy_curves(), reference, METHODS, sigma_scale=0.25)
    assert sorted(zip(points.label, points.sigma, points.value)) == [("OVF", 0.1, 98.8), ("W/ Noise", 0.1, 54.2)]
    figures = _figures(monkeypatch)
    plotting.plot_accuracy(_accuracy_curves(), ["unused.png"], titles={("vgg8", "mnist"): "(β)"}, reference=points)
    ax = figures[0].axes[0]
    assert ax.get_title() == "VGG-8 / MNIST (β)"
    lines = {line.get_label(): line for line in ax.get_lines()}
    overlays = ax.collections[-2:]  # after the two CI bands: one scatter per method, open markers
    for scatter in overlays:
        (x, y), edge = scatter.get_offsets()[0], scatter.get_edgecolor()[0]
        label = "OVF" if y > 90 else "W/ Noise"
        assert x == pytest.approx(0.1)
        face = scatter.get_facecolor()
        assert face.size == 0 or (face[:, 3] == 0).all()  # open: no fill
        assert tuple(edge[:3]) == pytest.approx(matplotlib.colors.to_rgb(lines[label].get_color()))
    names = [t.get_text() for t in figures[0].legends[0].get_texts()]
    assert "paper (open markers)" in names
    # off: nothing overlaid
    figures.clear()
    plotting.plot_accuracy(_accuracy_curves(), ["unused.png"])
    assert len(figures[0].axes[0].collections) == 2
