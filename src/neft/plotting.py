"""Figures drawn only from summary tables (a plot change never reruns training or Monte-Carlo)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

MODEL_NAMES = {"vgg8": "VGG-8", "resnet18": "ResNet-18"}
DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "tiny_imagenet": "Tiny ImageNet"}


def panel_title(model: str, dataset: str) -> str:
    return f"{MODEL_NAMES.get(model, model)} / {DATASET_NAMES.get(dataset, dataset)}"


def save(fig, paths: list[str | Path]) -> None:
    """Save without timestamps in the files so reruns give identical PDFs/PNGs where the backend allows it."""
    from neft.io import atomic_path

    for p in paths:
        with atomic_path(p) as tmp:
            fmt = Path(p).suffix.lstrip(".")
            meta = {"pdf": {"CreationDate": None}, "svg": {"Date": None}, "png": {}}.get(fmt, {})
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata=meta)
    plt.close(fig)


def plot_accuracy(
    curves: pd.DataFrame, paths: list[str | Path], note: str | None = None, titles: dict | None = None
) -> None:
    """One panel per (model, dataset); one line per method with its CI band; x = sigma, y = MC mean accuracy."""
    sns.set_theme(style="whitegrid", context="paper")
    device = curves["device"].iloc[0]
    curves = curves[curves.device == device]
    panels = curves[["model", "dataset"]].drop_duplicates().itertuples(index=False)
    panels = list(panels)
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    labels = list(dict.fromkeys(curves["label"]))
    palette = dict(zip(labels, sns.color_palette("colorblind", len(labels))))
    markers = dict(zip(labels, "osD^v<>p*h"))
    for ax, (model, dataset) in zip(axes.flat, panels):
        d = curves[(curves.model == model) & (curves.dataset == dataset)]
        for label, g in d.groupby("label", sort=False):
            x = g["sigma"].astype(float)
            ax.plot(x, g["mean"], marker=markers[label], ms=4, lw=1.4, color=palette[label], label=label)
            ax.fill_between(x, g["ci_low"], g["ci_high"], color=palette[label], alpha=0.2, lw=0)
        title = panel_title(model, dataset)
        if titles and (model, dataset) in titles:
            title += f" {titles[(model, dataset)]}"
        ax.set_title(title)
        ax.set_xlabel(r"device variation $\sigma_d$")
        ax.set_ylabel("MC mean accuracy (%)")
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), bbox_to_anchor=(0.5, -0.02), frameon=False)
    if note:
        fig.suptitle(note, fontsize=9, y=1.0)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97 if note else 1))
    save(fig, paths)
