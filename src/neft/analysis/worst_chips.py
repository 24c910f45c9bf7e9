"""The worst chips of each method: the tail a mean hides, with each worst chip named so anyone can replay it.

A chip is a seed (``neft.core.mc``): chip k of a sweep is in hand as ``neft.core.mc.export_chip(checkpoint, card, sigma,
k, base_seed=mc.seed)``, the state_dict of the original model with that chip's weights (or replayed in place with
``ChipEvaluator(..., base_seed=mc.seed).evaluate(sigma, range(k, k + 1))``) on the same device card.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neft.analysis.results import write_csv
from neft.experiment.grid import Run, grid_sigmas, point_source
from neft.report.labels import panel_title
from neft.report.table_writers import markdown_lines
from neft.util.io import atomic_write_text
from neft.util.sigma import format_sigma

COLUMNS = (
    "model",
    "dataset",
    "device",
    "method",
    "source_method",
    "sigma_train",
    "sigma",
    "seeds",
    "chips",
    "mean",
    "p1",
    "worst",
    "p1_minus_worst",
    "worst_seed",
    "worst_chip",
    "checkpoint",
)


def worst_table(chips: pd.DataFrame, config: dict) -> pd.DataFrame:
    """Per (pair, main device, main method, nonzero grid sigma): all chips of all training seeds, their mean, 1st
    percentile and worst chip (the first such chip in (seed, chip) order when several tie)."""
    device = config["experiments"]["devices"][0]
    rows = []
    for pair in config["experiments"]["pairs"]:
        model, dataset = pair["model"], pair["dataset"]
        for method in config["experiments"]["methods"]:
            for sigma in grid_sigmas(config):
                if sigma == "0":
                    continue
                source, trained = point_source(config["methods"], method, sigma)
                g = chips[
                    (chips.model == model)
                    & (chips.dataset == dataset)
                    & (chips.device == device)
                    & (chips.method == source)
                    & (chips.sigma_train.map(format_sigma) == trained)
                    & (chips.sigma_test.map(format_sigma) == sigma)
                ].sort_values(["seed", "chip"], kind="mergesort")
                if g.empty:
                    continue
                acc = g["accuracy"].to_numpy(dtype=np.float64)
                worst = g.iloc[int(np.argmin(acc))]
                p1 = float(np.percentile(acc, 1))
                run = Run(model, dataset, source, device, trained, int(worst["seed"]))
                rows.append(
                    {
                        "model": model,
                        "dataset": dataset,
                        "device": device,
                        "method": method,
                        "source_method": source,
                        "sigma_train": trained,
                        "sigma": sigma,
                        "seeds": g["seed"].nunique(),
                        "chips": len(g),
                        "mean": float(acc.mean()),
                        "p1": p1,
                        "worst": float(worst["accuracy"]),
                        "p1_minus_worst": p1 - float(worst["accuracy"]),
                        "worst_seed": int(worst["seed"]),
                        "worst_chip": int(worst["chip"]),
                        "checkpoint": f"results/models/{run.path}/model.pt",
                    }
                )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_worst_table(table: pd.DataFrame, labels: dict, mc_seed: int, csv, md) -> None:

    write_csv(table, csv, float_format="%.4f")
    head = ["model / dataset", "device", "σ", "method", "seeds x chips", "mean (%)", "1st percentile (%)"]
    head += ["worst (%)", "worst chip (seed / chip)"]
    rows = [
        [
            panel_title(r.model, r.dataset),
            r.device,
            r.sigma,
            labels.get(r.method, r.method),
            f"{r.seeds} x {r.chips // max(r.seeds, 1)}",
            f"{r.mean:.2f}",
            f"{r.p1:.2f}",
            f"{r.worst:.2f}",
            f"{r.worst_seed} / {r.worst_chip}",
        ]
        for r in table.itertuples(index=False)
    ]
    lines = [
        "**Worst chips: chip accuracy (%) over all training seeds x chips; the worst chip named as seed / chip**",
        "",
        *markdown_lines(head, rows, "llrlrrrrr"),
    ]
    lines += [
        "",
        "A chip's weights: `neft.core.mc.export_chip(checkpoint, card, sigma, chip, "
        f"base_seed={mc_seed})` returns them as a state_dict of the original model (`checkpoint`: its column in "
        "worst_chips.csv; `card`: results/devices/<device>/card.yaml; `sigma`: its σ; `chip`: the worst chip's "
        'index; add `device="cuda"` if the sweep ran on a GPU); load it into '
        "`neft.core.checkpoints.load_model(checkpoint)[0]` and run it in eval mode on the same test set.",
    ]
    atomic_write_text(md, "\n".join(lines) + "\n")
