"""From per-chip CSVs to tidy tables: aggregation, summaries and the per-method accuracy curves."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neft.experiment.contracts import KEY_DTYPES, KEYS
from neft.experiment.grid import point_source
from neft.experiment.handoff import read_mc_sweeps
from neft.report.labels import method_label
from neft.util.io import atomic_write_text
from neft.util.sigma import format_sigma
from neft.util.stats import bootstrap_mean_interval, summarize, two_level


def read_chips(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=KEY_DTYPES)


def write_csv(df: pd.DataFrame, path: str | Path, float_format: str = "%.6f") -> None:
    """Fixed float formatting and row order: the same numbers always give the same bytes."""

    atomic_write_text(path, df.to_csv(index=False, float_format=float_format, lineterminator="\n"))


def _sort(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = df.copy()
    order = [out[k].astype(float) if k.startswith("sigma") else out[k] for k in keys]
    tmp = pd.DataFrame({f"_k{i}": v for i, v in enumerate(order)})
    idx = tmp.sort_values(list(tmp.columns), kind="mergesort").index
    return out.loc[idx].reset_index(drop=True)


def aggregate(
    chip_files: list[str], stats_files: list[str], expect: dict | None = None, log=None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All chip rows, and per (experiment, sigma_test): accuracy statistics, confidences, expected KL.

    Each sweep's CSV is checked against its JSON, its path and the config's chip count ``expect``
    (``neft.experiment.handoff.read_mc_sweeps``) before anything is computed; ``log`` gets the checks' notes."""
    frames, stats_list, notes = read_mc_sweeps(list(chip_files), list(stats_files), expect)
    for note in notes:
        (log or print)(note)
    chips = pd.concat(frames, ignore_index=True)
    chips = _sort(chips, KEYS + ["chip"])
    stats = pd.DataFrame(stats_list)
    stats["sigma_train"] = stats["sigma_train"].map(format_sigma)
    stats["sigma_test"] = stats["sigma_test"].map(format_sigma)
    rows = []
    for key, g in chips.groupby(KEYS, sort=False):
        row = dict(zip(KEYS, key))
        row.update(summarize(g["accuracy"].to_numpy()))
        row["confidence"] = g["confidence"].mean()
        row["confidence_correct"] = g["confidence_correct"].mean()
        rows.append(row)
    if "ekl_se" not in stats:  # sweeps run without mc.ekl_bootstrap (or before it existed)
        stats["ekl_se"] = float("nan")
    summary = pd.DataFrame(rows).merge(stats[KEYS + ["ekl", "ekl_se", "mutual_info", "n_test"]], on=KEYS, how="left")
    return chips, _sort(summary, KEYS)


def ekl_interval(sweeps: pd.DataFrame, ci: float) -> dict:
    """The expected KL's band at one point: its seeds' sweeps and their chip-bootstrap standard errors
    (``mc.ekl_bootstrap``; NaN where the sweeps ran without one)."""
    se = sweeps["ekl_se"] if "ekl_se" in sweeps else [float("nan")] * len(sweeps)
    low, high = bootstrap_mean_interval(sweeps["ekl"], se, ci)
    return {"ekl_ci_low": low, "ekl_ci_high": high}


def accuracy_curves(chips: pd.DataFrame, summary: pd.DataFrame, methods: dict, sigmas: list, ci: float = 0.95):
    """One row per (pair, device, method, sigma): the experiment that represents that point of the paper's figure.

    The point at sigma is the run trained at sigma and tested at sigma; a method trained only at 0 (W/O Noise)
    is tested at every sigma; a method with ``zero_from`` takes that method's point at sigma 0
    (``neft.experiment.grid.point_source``). Over training seeds, the statistics are two-level
    (``neft.util.stats.two_level``: the mean of the seeds' chip means, a t-interval over seeds, the between- and
    within-seed spread); with one seed they are the chip statistics. ``std``, ``p1`` and ``p5`` are over all chips of
    all seeds.
    """
    grid = [format_sigma(s) for s in sigmas]
    rows = []
    pairs = summary[["model", "dataset", "device"]].drop_duplicates().itertuples(index=False)
    for model, dataset, device in pairs:
        sel = chips[(chips.model == model) & (chips.dataset == dataset) & (chips.device == device)]
        for method in methods:
            for s in grid:
                source, train_sigma = point_source(methods, method, s)
                g = sel[(sel.method == source) & (sel.sigma_train == train_sigma) & (sel.sigma_test == s)]
                if g.empty:
                    continue
                tag = f"ci{round(ci * 100)}"
                tl = two_level([grp["accuracy"].to_numpy() for _, grp in g.groupby("seed", sort=True)], level=ci)
                acc = g["accuracy"].to_numpy(dtype="float64")
                s_rows = summary[
                    (summary.model == model)
                    & (summary.dataset == dataset)
                    & (summary.device == device)
                    & (summary.method == source)
                    & (summary.sigma_train == train_sigma)
                    & (summary.sigma_test == s)
                ]
                rows.append(
                    {
                        "model": model,
                        "dataset": dataset,
                        "device": device,
                        "method": method,
                        "label": method_label(methods, method),
                        "sigma": s,
                        "source_method": source,
                        "sigma_train": train_sigma,
                        "seeds": g["seed"].nunique(),
                        "chips": tl["chips"],
                        "mean": tl["mean"],
                        "std": float(acc.std(ddof=1)) if len(acc) > 1 else float("nan"),  # over all chips
                        "ci_low": tl[f"{tag}_low"],
                        "ci_high": tl[f"{tag}_high"],
                        "p1": tl["p1"],
                        "p5": tl["p5"],
                        "confidence": g["confidence"].mean(),
                        "confidence_correct": g["confidence_correct"].mean(),
                        "ekl": s_rows["ekl"].mean(),
                        **ekl_interval(s_rows, ci),
                        "mutual_info": s_rows["mutual_info"].mean(),
                        "chips_per_seed": tl["chips_per_seed"],
                        "sd_between_seeds": tl["sd_between_seeds"],
                        "sd_within_seed": tl["sd_within_seed"],
                    }
                )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    order = {m: i for i, m in enumerate(methods)}
    out["_m"] = out["method"].map(order)
    out["_s"] = out["sigma"].astype(float)
    out = out.sort_values(["model", "dataset", "device", "_m", "_s"], kind="mergesort")
    return out.drop(columns=["_m", "_s"]).reset_index(drop=True)


def device_study_points(curves: pd.DataFrame, study: dict) -> pd.DataFrame:
    """The curve points of the device study: its methods, devices and sigmas."""
    sigmas = {format_sigma(s) for s in study["sigmas"]}
    keep = curves.method.isin(study["methods"]) & curves.device.isin(study["devices"]) & curves.sigma.isin(sigmas)
    return curves[keep]
