"""Figures drawn only from summary tables (a plot change never reruns training or Monte-Carlo)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

if TYPE_CHECKING:
    from neft.core.devices import DeviceCard

from neft.core.fitting import time_since_programming
from neft.core.methods import MethodSpec
from neft.report.labels import (  # noqa: E402, F401 - the labels are neft.report.labels'; figures and scripts read them here too
    ACCURACY_BAND,
    ACCURACY_BAND_SPANS,
    COMPARISON_LABELS,
    DATASET_NAMES,
    MODEL_NAMES,
    SCALE_NOTES,
    STUDY_TITLES,
    UNCERTAINTY_BAND,
    level_label,
    method_label,
    panel_title,
)
from neft.util.io import atomic_path
from neft.util.stats import wilson_interval


def beta_titles(curves: pd.DataFrame, methods: dict) -> dict:
    """Panel suffix naming NeFT's feedback weights, '(β_OVF = 0.001, β_IRS = 0.01)': the paper's figure writes only
    the two numbers, which a reader cannot decode; here each carries its name. From the methods actually plotted."""

    titles = {}
    for model, dataset in curves[["model", "dataset"]].drop_duplicates().itertuples(index=False):
        parts = []
        for kind in ("ovf", "irs"):
            name = next((m for m, spec in methods.items() if spec["kind"] == kind), None)
            if name is not None:
                try:
                    value = f"{MethodSpec.from_params(methods[name]).beta(model, dataset):g}"
                except ValueError:
                    value = "?"
                parts.append(f"β$_{{{kind.upper()}}}$ = {value}")
        if parts:
            titles[(model, dataset)] = "(" + ", ".join(parts) + ")"
    return titles


def paper_points(curves: pd.DataFrame, reference: pd.DataFrame, methods: dict, sigma_scale: float) -> pd.DataFrame:
    """The paper's plotted points (``neft.analysis.scorecard.load_reference``) of the methods and panels in ``curves``,
    on our sigma axis (ours = sigma_scale x the paper's), labelled like our methods so each gets its colour and
    marker. Columns: model, dataset, label, sigma (float), value."""
    kinds = {spec["kind"]: m for m, spec in methods.items()}
    ref = reference[reference.method.isin(kinds)].copy()
    ref["label"] = ref.method.map(lambda k: method_label(methods, kinds[k]))
    ref["sigma"] = ref.sigma.astype(float) * sigma_scale
    panels = set(zip(curves.model, curves.dataset))
    keep = [(m, d) in panels for m, d in zip(ref.model, ref.dataset)]
    return ref[keep][["model", "dataset", "label", "sigma", "value"]].reset_index(drop=True)


def save(fig, paths: list[str | Path]) -> None:
    """Save without timestamps in the files so reruns give identical PDFs/PNGs where the backend allows it."""

    for p in paths:
        with atomic_path(p) as tmp:
            fmt = Path(p).suffix.lstrip(".")
            meta = {"pdf": {"CreationDate": None}, "svg": {"Date": None}, "png": {}}.get(fmt, {})
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata=meta)
    plt.close(fig)


class YAxis(NamedTuple):
    """What a curve figure's y axis shows: its label, the factor its values are drawn at (1e2: nats as 1e-2 nats),
    and the two columns of the band shaded around each curve (None: no band)."""

    label: str
    scale: float = 1.0
    band: tuple[str, str] | None = None


def plot_curves(
    curves: pd.DataFrame,
    paths: list[str | Path],
    series: list[tuple[str, str, str]],
    y: YAxis,
    note: str | None = None,
    titles: dict | None = None,
    reference: pd.DataFrame | None = None,
) -> None:
    """One panel per (model, dataset), one colour per method, x = sigma.

    ``series`` lists (column, line style, legend suffix): several columns share a panel (e.g. confidence of all
    and of correct predictions). ``y``: the axis label, scale and CI band; ``reference`` (model, dataset, label,
    sigma, value) adds the paper's points as black-edged markers.
    """
    ylabel, scale, band = y
    sns.set_theme(style="whitegrid", context="paper")
    series = [s for s in series if curves[s[0]].notna().any()]  # nothing to draw (one seed: no between-seed sd)
    panels = list(curves[["model", "dataset"]].drop_duplicates().itertuples(index=False))
    ncols = min(3, max(1, len(panels)))
    nrows = math.ceil(max(1, len(panels)) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    labels = list(dict.fromkeys(curves["label"]))
    palette = dict(zip(labels, sns.color_palette("colorblind", len(labels))))
    markers = dict(zip(labels, "osD^v<>p*h"))
    for ax, (model, dataset) in zip(axes.flat, panels):
        d = curves[(curves.model == model) & (curves.dataset == dataset)]
        for label, g in d.groupby("label", sort=False):
            x = g["sigma"].astype(float)
            for column, style, suffix in series:
                ax.plot(
                    x,
                    g[column] * scale,
                    ls=style,
                    marker=markers[label],
                    ms=4,
                    lw=1.4,
                    color=palette[label],
                    label=label + suffix,
                )
            if band:
                ax.fill_between(x, g[band[0]] * scale, g[band[1]] * scale, color=palette[label], alpha=0.2, lw=0)
        if reference is not None:
            r = reference[(reference.model == model) & (reference.dataset == dataset)]
            for label, g in r.groupby("label", sort=False):
                ax.scatter(
                    g["sigma"],
                    g["value"],
                    marker=markers.get(label, "x"),
                    s=28,
                    facecolor="none",
                    edgecolor=palette.get(label, "black"),
                    linewidths=1.2,
                    zorder=5,
                )
        title = panel_title(model, dataset)
        if titles and (model, dataset) in titles:
            title += f" {titles[(model, dataset)]}"
        ax.set_title(title)
        ax.set_xlabel(r"device variation $\sigma_d$")
        ax.set_ylabel(ylabel)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    if reference is not None:
        handles.append(plt.Line2D([], [], ls="", marker="o", mfc="none", mec="black"))
        names.append("paper (open markers)")
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 6), bbox_to_anchor=(0.5, -0.02), frameon=False)
    if note:
        fig.suptitle(note, fontsize=9, y=1.0)
    legend_rows = math.ceil(len(names) / 6)
    fig.tight_layout(rect=(0, 0.05 * legend_rows + 0.01, 1, 0.97 if note else 1))
    save(fig, paths)


def main_device(curves: pd.DataFrame, device: str | None) -> pd.DataFrame:
    """The paper's figures show one device (the first of experiments.devices)."""
    return curves[curves.device == (device or curves["device"].iloc[0])]


def plot_accuracy(curves, paths, note=None, titles=None, device=None, reference=None) -> None:
    """MC mean accuracy with its CI band (the paper's main figure; the band: ``ACCURACY_BAND``), and the paper's
    plotted points as open markers where ``reference`` is given."""
    plot_curves(
        main_device(curves, device),
        paths,
        [("mean", "-", "")],
        YAxis("MC mean accuracy (%)", band=("ci_low", "ci_high")),
        note,
        titles,
        reference=reference,
    )


def plot_uncertainty(curves, paths, note=None, titles=None, device=None) -> None:
    """Expected KL divergence in units of 1e-2 nats, as in the paper's figure, with the chip-bootstrap band
    (``ekl_ci_low``/``ekl_ci_high``, ``neft.analysis.results.ekl_interval``; ``UNCERTAINTY_BAND``) where the sweeps
    computed one."""
    band = ("ekl_ci_low", "ekl_ci_high")
    has_band = all(c in curves for c in band) and curves[list(band)].notna().any().all()
    plot_curves(
        main_device(curves, device),
        paths,
        [("ekl", "-", "")],
        YAxis(r"expected KL ($10^{-2}$ nats)", scale=100.0, band=band if has_band else None),
        note,
        titles,
    )


def plot_confidence(curves, paths, note=None, titles=None, device=None) -> None:
    """Mean max-softmax probability of all predictions (solid) and of correct ones (dashed)."""
    series = [("confidence", "-", ""), ("confidence_correct", "--", " (correct)")]
    plot_curves(main_device(curves, device), paths, series, YAxis("mean max-softmax probability"), note, titles)


def plot_variance(curves, paths, note=None, titles=None, device=None) -> None:
    """Std of accuracy within a training seed over chips (solid) and between training seeds (dashed): where the
    dashed line is missing, one seed was trained and the between-seed part is not estimable."""
    series = [("sd_within_seed", "-", " (chips)"), ("sd_between_seeds", "--", " (seeds)")]
    plot_curves(main_device(curves, device), paths, series, YAxis("std of accuracy (points)"), note, titles)


def plot_scorecard(
    curves: pd.DataFrame,
    reference: pd.DataFrame,
    paths: list[str | Path],
    note: str | None = None,
    titles: dict | None = None,
    device: str | None = None,
    sigma_scale: float | None = None,
    ci: float = 0.95,
) -> None:
    """Paper against reproduced, one facet per (model, dataset) (rows) and method (columns), so no two methods'
    markers overlap: ours as the MC mean (filled circles, the method's colour) with its CI band (columns mean,
    ci_low, ci_high), the paper's plotted points (``reference``: model, dataset, label, sigma already on our axis,
    value) as open black diamonds. ``sigma_scale`` (ours = sigma_scale x the paper's) is named in the legend."""
    sns.set_theme(style="whitegrid", context="paper")
    curves = main_device(curves, device)
    pairs = list(curves[["model", "dataset"]].drop_duplicates().itertuples(index=False))
    methods = list(dict.fromkeys(curves["label"]))
    nrows, ncols = max(1, len(pairs)), max(1, len(methods))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(2.8 * ncols, 2.5 * nrows + 0.4), squeeze=False, sharex=True, sharey="row"
    )
    palette = dict(zip(methods, sns.color_palette("colorblind", len(methods))))
    for row, (model, dataset) in zip(axes, pairs):
        d = curves[(curves.model == model) & (curves.dataset == dataset)]
        r = reference[(reference.model == model) & (reference.dataset == dataset)] if reference is not None else None
        for ax, label in zip(row, methods):
            g = d[d.label == label].assign(x=lambda t: t["sigma"].astype(float)).sort_values("x")
            color = palette[label]
            ax.fill_between(g["x"], g["ci_low"], g["ci_high"], color=color, alpha=0.25, lw=0)
            ax.plot(g["x"], g["mean"], ls="-", lw=1.3, marker="o", ms=4, color=color, mfc=color, mec=color)
            p = r[r.label == label] if r is not None else pd.DataFrame()
            if not p.empty:
                ax.plot(
                    p["sigma"].astype(float),
                    p["value"],
                    ls="",
                    marker="D",
                    ms=5,
                    mfc="none",
                    mec="black",
                    mew=1.1,
                    zorder=5,
                )
            else:
                ax.text(0.97, 0.03, "no paper points", transform=ax.transAxes, ha="right", va="bottom", fontsize=6)
            ax.set_title(label, fontsize=9)
        ylabel = panel_title(model, dataset)
        if titles and (model, dataset) in titles:
            ylabel += f"\n{titles[(model, dataset)]}"
        row[0].set_ylabel(ylabel + "\nMC mean accuracy (%)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel(r"device variation $\sigma_d$")
    from matplotlib.patches import Patch

    ours = (
        Patch(color="0.35", alpha=0.25, lw=0),
        plt.Line2D([], [], color="0.35", marker="o", ms=4, mfc="0.35"),
    )
    paper = plt.Line2D([], [], ls="", marker="D", ms=5, mfc="none", mec="black", mew=1.1)
    if sigma_scale is None:
        where = r"on our $\sigma$ axis"
    elif sigma_scale == 1:
        where = r"at $\sigma_{ours} = \sigma_{paper}$"
    else:
        where = rf"at $\sigma_{{ours}} = {sigma_scale:g} \times \sigma_{{paper}}$"
    fig.legend(
        [ours, paper],
        [f"reproduced ({ci * 100:g} % CI)", f"paper ({where})"],
        loc="lower center",
        ncol=2,
        bbox_to_anchor=(0.5, 0.0),
        frameon=False,
    )
    if note:
        fig.suptitle(note, fontsize=9, y=1.0)
    fig.tight_layout(rect=(0, 0.4 / (2.5 * nrows + 0.4) + 0.02, 1, 0.97 if note else 1))
    save(fig, paths)


def plot_ablation(decomp: pd.DataFrame, sweep: pd.DataFrame, paths: list[str | Path], note: str | None = None) -> None:
    """Left: paired differences (with CIs) that split NeFT's gain; right: accuracy against beta. Legends sit
    right of their panels, never over the data."""
    sns.set_theme(style="whitegrid", context="paper")
    pairs = list(decomp[["model", "dataset"]].drop_duplicates().itertuples(index=False)) if not decomp.empty else []
    nrows = max(1, len(pairs))
    fig, axes = plt.subplots(nrows, 2, figsize=(12, 3.6 * nrows), squeeze=False)  # room for the legends beside
    colors = dict(zip(COMPARISON_LABELS, sns.color_palette("colorblind", len(COMPARISON_LABELS))))
    for row, (model, dataset) in zip(axes, pairs or [(None, None)]):
        ax = row[0]
        d = decomp[(decomp.model == model) & (decomp.dataset == dataset)] if model else decomp
        groups = list(dict.fromkeys(zip(d.instance, d.sigma)))
        width = 0.8 / len(COMPARISON_LABELS)
        for j, (comp, label) in enumerate(COMPARISON_LABELS.items()):
            g = d[d.comparison == comp].set_index(["instance", "sigma"]).reindex(groups)
            x = [i + (j - 1.5) * width for i in range(len(groups))]
            err = [g["diff"] - g["ci_low"], g["ci_high"] - g["diff"]]
            ax.bar(x, g["diff"], width, yerr=err, capsize=2, color=colors[comp], label=label)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(groups)), [f"{i.upper()}\nσ={s}" for i, s in groups])
        ax.set_ylabel("paired accuracy difference (pp)")
        ax.set_title(f"{panel_title(model, dataset) if model else ''}: where the gain comes from")
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
        ax = row[1]
        s = sweep[(sweep.model == model) & (sweep.dataset == dataset)] if model and not sweep.empty else sweep
        for inst, g in s.groupby("instance", sort=False) if not s.empty else []:
            for sig, gg in g.groupby("sigma", sort=False):
                x = gg["beta"].clip(lower=1e-6)
                ax.errorbar(
                    x,
                    gg["mean"],
                    yerr=[gg["mean"] - gg["ci_low"], gg["ci_high"] - gg["mean"]],
                    marker="o",
                    capsize=2,
                    label=f"{inst.upper()} σ={sig}",
                )
        ax.set_xscale("log")
        ax.set_xlabel("beta (beta = 0 drawn at 1e-6)")
        ax.set_ylabel("MC mean accuracy (%)")
        ax.set_title("beta sweep")
        if not s.empty:
            ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    if note:
        fig.suptitle(note, fontsize=9, y=1.0)
    fig.tight_layout()
    save(fig, paths)


def _bars(ax, table: pd.DataFrame, x: str, hue: str, y: str, lo: str | None = None, hi: str | None = None):
    """Grouped bars; returns each bar with the row it draws (all-NaN where a combination is missing)."""
    xs = list(dict.fromkeys(table[x]))
    hues = list(dict.fromkeys(table[hue]))
    width = 0.8 / max(1, len(hues))
    colors = sns.color_palette("colorblind", len(hues))
    drawn = []
    for j, h in enumerate(hues):
        g = table[table[hue] == h].set_index(x).reindex(xs)
        pos = [i + (j - (len(hues) - 1) / 2) * width for i in range(len(xs))]
        err = [g[y] - g[lo], g[hi] - g[y]] if lo else None
        bars = ax.bar(pos, g[y], width, yerr=err, capsize=2, color=colors[j], label=str(h))
        drawn += [(patch, row) for patch, (_, row) in zip(bars, g.iterrows())]
    ax.set_xticks(range(len(xs)), xs, rotation=20)
    return drawn


def plot_devices(curves: pd.DataFrame, paths: list[str | Path], note: str | None = None) -> None:
    """Accuracy of each method on each device card, per (model, dataset) and study sigma, with CIs: one x group per
    method, one marker per device (dodged), on a y-axis zoomed to the data (points, not bars, so a non-zero axis
    start misleads nobody; the axis label says it is zoomed). The legend sits right of the panels."""
    sns.set_theme(style="whitegrid", context="paper")
    groups = list(curves[["model", "dataset", "sigma"]].drop_duplicates().itertuples(index=False))
    fig, axes = plt.subplots(len(groups), 1, figsize=(8, 3.2 * max(1, len(groups))), squeeze=False)
    devices = list(dict.fromkeys(curves["device"]))
    colors = dict(zip(devices, sns.color_palette("colorblind", len(devices))))
    markers = dict(zip(devices, "osD^v<>p*h"))
    for ax, (model, dataset, sigma) in zip(axes.flat, groups):
        d = curves[(curves.model == model) & (curves.dataset == dataset) & (curves.sigma == sigma)]
        methods = list(dict.fromkeys(d["label"]))
        step = min(0.8 / max(1, len(devices)), 0.15)
        for j, device in enumerate(devices):
            g = d[d.device == device].set_index("label").reindex(methods)
            x = [i + (j - (len(devices) - 1) / 2) * step for i in range(len(methods))]
            ax.errorbar(
                x,
                g["mean"],
                yerr=[g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]],
                ls="",
                marker=markers[device],
                ms=5,
                capsize=2,
                color=colors[device],
                label=str(device),
            )
        ax.set_xticks(range(len(methods)), methods, rotation=20)
        ax.set_xlim(-0.5, len(methods) - 0.5)
        # zoomed: [lowest CI end - margin, highest + margin] in [0, 100], margin 10 % of the span (at least 1 point)
        lo = pd.concat([d["ci_low"], d["mean"]]).astype(float).min()
        hi = pd.concat([d["ci_high"], d["mean"]]).astype(float).max()
        if pd.notna(lo):
            margin = max(0.1 * (hi - lo), 1.0)
            ax.set_ylim(max(0.0, lo - margin), min(100.0, hi + margin))
        ax.set_title(f"{panel_title(model, dataset)}, σ = {sigma}")
        ax.set_ylabel("MC mean accuracy (%)\n(y-axis zoomed to the data range)")
        ax.legend(
            title="device", fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0
        )
    if note:
        fig.suptitle(note, fontsize=9, y=1.0)
    fig.tight_layout()
    save(fig, paths)


def plot_convergence(summary: pd.DataFrame, labels: dict, paths: list[str | Path], note: str | None = None) -> None:
    """Fraction of seeds that converged, per method and training sigma, with Wilson's 95 % binomial interval
    (``neft.util.stats.wilson_interval``) as error bars; counts written above each bar's interval, a 0 % bar marked by a
    dot at 0 (a bar of height 0 is invisible). The legend sits right of the panels."""

    sns.set_theme(style="whitegrid", context="paper")
    panels = list(summary[["model", "dataset"]].drop_duplicates().itertuples(index=False))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * max(1, len(panels))), squeeze=False)
    for ax, (model, dataset) in zip(axes.flat, panels):
        d = summary[(summary.model == model) & (summary.dataset == dataset)].copy()
        d["label"] = d["method"].map(lambda m: labels.get(m, m))
        d["sigma "] = "σ = " + d["sigma"].astype(str)
        interval = [wilson_interval(int(c), int(n)) for c, n in zip(d["converged"], d["runs"])]
        d["wilson_low"] = [lo for lo, _ in interval]
        d["wilson_high"] = [hi for _, hi in interval]
        for patch, r in _bars(ax, d, "label", "sigma ", "probability", "wilson_low", "wilson_high"):
            if pd.isna(r.runs):
                continue
            x = patch.get_x() + patch.get_width() / 2
            if r.converged == 0:
                ax.plot(x, 0, ls="", marker="o", ms=5, mfc=patch.get_facecolor(), mec="black", mew=0.6, clip_on=False)
            ax.annotate(
                f"{int(r.converged)}/{int(r.runs)}",
                (x, patch.get_height()),  # the count belongs to this bar ...
                xytext=(x, r.wilson_high + 0.02),  # ... and is written above its interval
                textcoords="data",
                ha="center",
                va="bottom",
                fontsize=7,
            )
        ax.set_ylim(0, 1.15)
        ax.set_ylabel("convergence probability\n(95 % Wilson interval)")
        ax.set_title(panel_title(model, dataset))
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    if note:
        fig.suptitle(note, fontsize=9, y=1.0)
    fig.tight_layout()
    save(fig, paths)


def plot_study(table: pd.DataFrame, labels: dict, paths: list[str | Path], note: str | None = None) -> None:
    """Accuracy against each level of each non-ideality (one panel per axis and pair), one line per method with its
    two-level interval; the first (or, for converters, last) level is today's card on the same chips."""
    sns.set_theme(style="whitegrid", context="paper")
    panels = list(table[["model", "dataset", "study"]].drop_duplicates().itertuples(index=False))
    cols = min(len(panels), 4) or 1
    rows = math.ceil(len(panels) / cols) if panels else 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.1 * rows), squeeze=False)
    methods = list(dict.fromkeys(table.method))
    colors = dict(zip(methods, sns.color_palette("colorblind", len(methods))))
    for ax, (model, dataset, study) in zip(axes.flat, panels):
        d = table[(table.model == model) & (table.dataset == dataset) & (table.study == study)]
        levels = list(dict.fromkeys(d.level))
        names = [level_label(study, lv, d[d.level == lv].time_s.iloc[0]) for lv in levels]
        for j, m in enumerate(methods):
            g = d[d.method == m].set_index("level").reindex(levels)
            x = [i + (j - (len(methods) - 1) / 2) * 0.06 for i in range(len(levels))]  # a small dodge per method
            ax.errorbar(
                x,
                g["mean"],
                yerr=[g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]],
                marker="o",
                ms=3.5,
                lw=1.2,
                capsize=2,
                color=colors[m],
                label=labels.get(m, m),
            )
        ax.set_xticks(range(len(levels)), names, rotation=20)
        ax.set_xlabel(STUDY_TITLES.get(study, study))
        ax.set_ylabel("MC mean accuracy (%)")
        ax.set_title(f"{panel_title(model, dataset)}, σ = {d.sigma.iloc[0]}", fontsize=9)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(methods), 6), fontsize=7, frameon=False)
    if note:
        fig.suptitle(note, fontsize=9, y=1.0)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save(fig, paths)


def plot_worst_chips(chips: pd.DataFrame, worst: pd.DataFrame, labels: dict, paths, note: str | None = None) -> None:
    """Per (pair, sigma): every chip's accuracy per method (all training seeds), the mean, the 1st percentile and
    the worst chip marked and named (seed / chip, so it can be replayed)."""
    sns.set_theme(style="whitegrid", context="paper")
    panels = list(worst[["model", "dataset", "device", "sigma"]].drop_duplicates().itertuples(index=False))
    fig, axes = plt.subplots(len(panels) or 1, 1, figsize=(7.5, 3.0 * max(1, len(panels))), squeeze=False)
    for ax, (model, dataset, device, sigma) in zip(axes.flat, panels):
        w = worst[
            (worst.model == model) & (worst.dataset == dataset) & (worst.device == device) & (worst.sigma == sigma)
        ]
        for i, r in enumerate(w.itertuples(index=False)):
            acc = chips[
                (chips.model == model)
                & (chips.dataset == dataset)
                & (chips.device == device)
                & (chips.method == r.source_method)
                & (chips.sigma_train == r.sigma_train)
                & (chips.sigma_test == sigma)
            ]["accuracy"]
            jitter = (pd.Series(range(len(acc))) % 7 - 3) * 0.04
            ax.scatter(i + jitter, acc, s=6, alpha=0.45, color="0.35", lw=0)
            ax.plot([i - 0.3, i + 0.3], [r.mean, r.mean], color="C0", lw=1.6, label="mean" if i == 0 else None)
            ax.plot(
                [i - 0.3, i + 0.3],
                [r.p1, r.p1],
                color="C3",
                lw=1.2,
                ls="--",
                label="1st percentile" if i == 0 else None,
            )
            ax.scatter([i], [r.worst], marker="v", s=36, color="C3", zorder=3, label="worst chip" if i == 0 else None)
            ax.annotate(
                f"seed {r.worst_seed} / chip {r.worst_chip}",
                (i, r.worst),
                xytext=(0, -10),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=6,
            )
        ax.set_xticks(range(len(w)), [labels.get(m, m) for m in w.method], rotation=15)
        ax.set_ylabel("chip accuracy (%)")
        ax.margins(y=0.15)
        ax.set_title(f"{panel_title(model, dataset)}, {device}, σ = {sigma}: every chip", fontsize=9)
        ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if note:
        fig.suptitle(note, fontsize=9, y=1.0)
    fig.tight_layout()
    save(fig, paths)


def plot_ladder(acc: pd.DataFrame, decomp: pd.DataFrame, labels: dict, paths: list[str | Path]) -> None:
    """The scale ladder, one column per paper sigma. Top: each method's accuracy per rung (mean with its 95 %
    interval over training seeds; open markers: the 1st percentile of chips). Bottom: NeFT's gain over W/ Noise
    and its split (temperature alone, passes/heads without feedback, feedback term) per rung, with intervals.
    Rungs are drawn in the config's order; legends sit right of the panels."""
    sns.set_theme(style="whitegrid", context="paper")
    sigmas = list(dict.fromkeys(acc.paper_sigma))
    fig, axes = plt.subplots(2, len(sigmas), figsize=(6.5 * len(sigmas) + 3, 7.5), squeeze=False)
    for col, ps in enumerate(sigmas):
        a = acc[acc.paper_sigma == ps]
        rung_names = list(dict.fromkeys(f"w {w}\n{e} ep" for w, e in zip(a.width, a.epochs)))
        x_of = {r: i for i, r in enumerate(rung_names)}
        ax = axes[0][col]
        methods = list(dict.fromkeys(a.method))
        colors = dict(zip(methods, sns.color_palette("colorblind", len(methods))))
        for j, m in enumerate(methods):
            g = a[a.method == m]
            x = [x_of[f"w {w}\n{e} ep"] + (j - len(methods) / 2) * 0.03 for w, e in zip(g.width, g.epochs)]
            err = [(g["mean"] - g.ci95_low).fillna(0), (g.ci95_high - g["mean"]).fillna(0)]
            ax.errorbar(x, g["mean"], yerr=err, marker="o", capsize=2, color=colors[m], label=labels.get(m, m))
            ax.plot(x, g.p1, ls="none", marker="v", mfc="none", color=colors[m])
        ax.set_xticks(range(len(rung_names)), rung_names)
        ax.set_ylabel("MC accuracy (%)")
        sig = a.sigma.iloc[0]
        ax.set_title(f"paper σ = {ps} (ours {sig}): accuracy per rung (▽ = 1st percentile of chips)")
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
        ax = axes[1][col]
        d = decomp[decomp.paper_sigma == ps] if len(decomp) else decomp
        styles = {"ovf": "-", "irs": "--"}
        comp_colors = dict(zip(COMPARISON_LABELS, sns.color_palette("colorblind", len(COMPARISON_LABELS))))
        groups = list(d.groupby(["instance", "comparison"], sort=False)) if len(d) else []
        for k, ((inst, comp), g) in enumerate(groups):
            x = [x_of[f"w {w}\n{e} ep"] + (k - len(groups) / 2) * 0.02 for w, e in zip(g.width, g.epochs)]
            err = [(g["diff"] - g.ci_low).fillna(0), (g.ci_high - g["diff"]).fillna(0)]
            ax.errorbar(
                x,
                g["diff"],
                yerr=err,
                marker="o",
                capsize=2,
                ls=styles.get(inst, ":"),
                color=comp_colors.get(comp),
                label=f"{labels.get(inst, inst)}: {COMPARISON_LABELS.get(comp, comp)}",
            )
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(rung_names)), rung_names)
        ax.set_ylabel("paired accuracy difference (pp)")
        ax.set_title("NeFT's gain over W/ Noise and where it comes from")
        if len(d):
            ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    save(fig, paths)


def points_label(card: DeviceCard) -> str:
    """What the per-level points of a card are: the shipped data are IBM aihwkit's polynomial std(g) fits of the
    published measurements evaluated at the levels (their ``fit_source`` provenance), not raw data."""
    fit_source = str((card.provenance.get("data") or {}).get("fit_source", ""))
    if "aihwkit" in fit_source:
        return "IBM aihwkit's polynomial fit of the published measurements, at each level (not raw data)"
    if fit_source:
        return "published fit of the measurements, at each level (not raw data)"
    return "measured"


def plot_fits(fit_tables: dict[str, pd.DataFrame], paths: list[str | Path], cards: dict[str, DeviceCard]) -> None:
    """One panel per device: the per-level relative std the card was fitted to (markers; for the shipped data
    aihwkit's polynomial fits of published measurements, see ``points_label``) against the fitted two-band model
    (bars), with the sigma_d of the NeFT convention that reproduces the device as a dotted line and the fit's r^2
    in the title. Panels run in time since programming (``time_since_programming``); cards without a time first,
    in the order given."""

    if not fit_tables:
        raise ValueError("plot_fits: no fit tables to draw")
    unfitted = [name for name in fit_tables if name not in cards or not cards[name].fitted]
    if unfitted:
        raise ValueError(
            f"plot_fits: no fitted card (neft.core.fitting) for {', '.join(map(str, unfitted))}; each fit table needs "
            "the card fit_device wrote with it"
        )
    sns.set_theme(style="whitegrid", context="paper")
    times = {name: time_since_programming(name, cards.get(name)) for name in fit_tables}
    timed = sorted((n for n in fit_tables if times[n] is not None), key=lambda n: times[n])  # stable: ties keep order
    names = [n for n in fit_tables if times[n] is None] + timed
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 3.3 * nrows), squeeze=False)
    model_color, data_color, sigma_color = sns.color_palette("colorblind", 3)
    for ax, name in zip(axes.flat, names):
        t = fit_tables[name].sort_values("level")
        card = cards[name]
        s, measured_sigma, rmse = card.middle_multiplier, card.extra["measured_sigma"], card.extra["fit"]["rmse"]
        r2 = card.extra["fit"]["r2"]  # a fitted card always has it (neft.core.devices.FIT_KEYS)
        levels = t["level"].to_numpy()
        ax.bar(levels, t["model_rel_std"], width=0.6, color=model_color, alpha=0.45, label="NeFT two-band fit")
        ax.plot(levels, t["measured_rel_std"], "o", ms=6, color=data_color, label=points_label(card), zorder=3)
        ax.axhline(measured_sigma, ls=":", lw=1.2, color=sigma_color, label=r"$\sigma_d$ (NeFT convention)")
        ax.set_xticks(levels, [f"{lv}\n{x:.2f}" for lv, x in zip(levels, t["x"])])
        ax.set_xlabel(r"level (and $(g - g_{min}) / (g_{max} - g_{min})$)")
        ax.set_ylabel(r"std / $(g_{max} - g_{min})$")
        ax.set_ylim(0, 1.15 * max(t["measured_rel_std"].max(), t["model_rel_std"].max(), measured_sigma))
        ax.set_title(
            f"{name}: two-band fit $r^2$ = {r2:.3f}\ns = {s:.3g}, "
            + rf"$\sigma_d$ = {measured_sigma:.4f}, rmse = {rmse:.4f}",
            fontsize=9,
        )
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    legend = {}  # every panel's entries once (the points' label depends on the card's provenance)
    for ax in axes.flat[: len(names)]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    ncol = len(legend) if ncols >= 3 else 1
    rows = math.ceil(len(legend) / ncol)
    fig.legend(
        list(legend.values()), list(legend), loc="lower center", ncol=ncol, bbox_to_anchor=(0.5, 0.0), frameon=False
    )
    fig.tight_layout(rect=(0, min(0.5, (0.2 * rows + 0.15) / (3.3 * nrows)), 1, 1))
    save(fig, paths)
