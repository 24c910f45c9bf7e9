"""Convergence probability: the fraction of training runs (seeds) that end in a usable model.

A run converges when its last-epoch noisy validation accuracy (at its training sigma, from its train_log.csv)
reaches ``min_fraction_of_clean`` times the clean validation accuracy of the noise-free reference model of the
same (model, dataset). The criterion reads only training logs: no Monte-Carlo needed.
"""

from __future__ import annotations

import pandas as pd

from neft.experiment.grid import Run


def last_epoch(log_csv: str) -> dict:
    log = pd.read_csv(log_csv)
    if log.empty:
        raise ValueError(f"{log_csv}: empty training log")
    return log.iloc[-1].to_dict()


def convergence_table(runs: list[Run], logs: list[str], references: dict[tuple[str, str], str], fraction: float):
    """One row per run with its verdict, and one summary row per (model, dataset, method, sigma)."""
    rows = []
    for run, path in zip(runs, logs, strict=True):
        ref = last_epoch(references[(run.model, run.dataset)])
        last = last_epoch(path)
        threshold = fraction * ref["clean_acc"]
        rows.append(
            {
                "model": run.model,
                "dataset": run.dataset,
                "method": run.method,
                "device": run.device,
                "sigma": run.sigma,
                "seed": run.seed,
                "noisy_acc": last["noisy_acc"],
                "clean_acc": last["clean_acc"],
                "loss": last["loss"],
                "threshold": threshold,
                "converged": bool(last["noisy_acc"] >= threshold and pd.notna(last["loss"])),
            }
        )
    per_run = pd.DataFrame(rows)
    summary = (
        per_run.groupby(["model", "dataset", "method", "device", "sigma"], sort=False)
        .agg(runs=("seed", "size"), converged=("converged", "sum"), mean_noisy_acc=("noisy_acc", "mean"))
        .reset_index()
    )
    summary["probability"] = summary["converged"] / summary["runs"]
    return per_run, summary
