"""The non-idealities and drift studies as tables: does a method's advantage survive what the paper leaves out?

Every sweep of a study re-evaluates a main-grid checkpoint on the *same chips* (seeded from the run's device and
test sigma) with one non-ideality on, so a level is compared with today's card (the main sweep, level "off") and
each method with the study's baseline chip by chip: per training seed on the same chips, then across seeds
(``neft.util.stats.paired_two_level``), as in the ablation.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from neft.analysis.ablation import by_seed
from neft.analysis.results import write_csv
from neft.experiment.contracts import MC_COLUMNS, STUDY_COLUMNS
from neft.experiment.grid import DRIFT, OFF
from neft.experiment.tablecheck import HandoffError
from neft.report.labels import STUDY_TITLES, level_label, panel_title, time_text  # noqa: F401 - re-exported
from neft.report.table_writers import latex_table, markdown_lines
from neft.util.io import atomic_write_text
from neft.util.sigma import format_sigma
from neft.util.stats import paired_two_level, two_level, verdict

#: The keys of a study sweep's rows (before the chip columns).
KEYS = (
    "model",
    "dataset",
    "method",
    "device",
    "sigma_train",
    "seed",
    "study",
    "level",
    "card",
    "sigma_point",
    "sigma_test",
)
#: the study table's columns: what plot_study's reader (``neft.experiment.study_handoff.read_study_table``) checks
TABLE_COLUMNS = STUDY_COLUMNS
KEY_TYPES = {k: str for k in KEYS} | {"seed": int}


def read_sweeps(chip_files: list[str], stats_files: list[str], expect: dict | None = None) -> pd.DataFrame:
    """Every study sweep's rows, each CSV checked against the JSON its job wrote (its sha256 and chip count) and
    the config's chip count; a file that does not match names itself and how to rerun it."""
    if len(chip_files) != len(stats_files):
        raise HandoffError(f"aggregate_nonideal: {len(chip_files)} CSVs but {len(stats_files)} JSONs")
    frames = []
    for csv_path, json_path in zip(chip_files, stats_files):
        fix = f"delete {csv_path} and {json_path} and rerun to recompute the sweep"
        try:
            stats = json.loads(Path(json_path).read_text())
            raw = Path(csv_path).read_bytes()
        except (OSError, ValueError) as err:
            raise HandoffError(f"{json_path}: unreadable ({err}); {fix}") from None
        if hashlib.sha256(raw).hexdigest() != stats.get("csv_sha256"):
            raise HandoffError(f"{csv_path}: its sha256 is not the one its job recorded in {json_path}; {fix}")
        df = pd.read_csv(csv_path, dtype=KEY_TYPES)
        if tuple(df.columns) != (*KEYS, *MC_COLUMNS):
            raise HandoffError(f"{csv_path}: columns {list(df.columns)}, expected {[*KEYS, *MC_COLUMNS]}; {fix}")
        want = (expect or {}).get("chips")
        if want is not None and len(df) != int(want):
            raise HandoffError(f"{csv_path}: {len(df)} chips, but mc.chips is {want}; {fix}")
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=[*KEYS, *MC_COLUMNS])
    out = pd.concat(frames, ignore_index=True)
    order = out.assign(_p=out.sigma_point.astype(float)).sort_values(
        ["model", "dataset", "study", "level", "method", "_p", "seed", "chip"], kind="mergesort"
    )
    return order.drop(columns="_p").reset_index(drop=True)


def _off_rows(main: pd.DataFrame, study: pd.DataFrame) -> pd.DataFrame:
    """Today's card (the main sweeps) as the level ``off`` of every study axis, for the points the study has."""
    points = study[["model", "dataset", "method", "device", "sigma_train", "seed", "sigma_point"]].drop_duplicates()
    base = main.rename(columns={"sigma_test": "sigma_point"}).merge(points, how="inner")
    rows = []
    for name in sorted(set(study.study)):
        rows.append(base.assign(study=name, level=OFF, card=base.device, sigma_test=base.sigma_point))
    if not rows:
        return pd.DataFrame(columns=[*KEYS, *MC_COLUMNS])
    return pd.concat(rows, ignore_index=True)[[*KEYS, *MC_COLUMNS]]


def _level_order(study: str, level: str, cards: list[str]) -> float:
    if level == OFF:
        return -1.0 if study != "adc_bits" and study != "dac_bits" else np.inf
    if study == DRIFT:
        return float(cards.index(level)) if level in cards else np.inf
    return float(level)


def study_table(
    chips: pd.DataFrame,
    main: pd.DataFrame,
    baseline: str,
    methods: list[str],
    ci: float = 0.95,
    times: dict | None = None,
    include_off: bool = True,
) -> pd.DataFrame:
    """One row per (pair, study, level, method): accuracy over seeds x chips with its two-level interval, and the
    method minus ``baseline`` paired per seed on the same chips. ``times`` maps a drift card to its time (s)."""
    times = times or {}
    both = pd.concat([_off_rows(main, chips), chips], ignore_index=True) if include_off else chips
    cards = list(times)
    tag = f"ci{round(ci * 100)}"
    rows = []
    for (model, dataset, study), g in both.groupby(["model", "dataset", "study"], sort=True):
        levels = sorted(set(g.level), key=lambda lv: _level_order(study, lv, cards))
        for level in levels:
            at = g[g.level == level]
            values = {m: at[at.method == m].set_index(["seed", "chip"])["accuracy"].sort_index() for m in methods}
            base = values.get(baseline)
            for method in methods:
                acc = values[method]
                if acc.empty:
                    continue
                s = two_level(by_seed(acc), ci, percentiles=(1,))
                row = {
                    "model": model,
                    "dataset": dataset,
                    "device": at.device.iloc[0],
                    "study": study,
                    "level": level,
                    "time_s": times.get(level, np.nan) if study == DRIFT else np.nan,
                    "sigma": format_sigma(at[at.method == method].sigma_test.iloc[0]),
                    "method": method,
                    "seeds": s["seeds"],
                    "chips": s["chips"],
                    "mean": s["mean"],
                    "ci_low": s[f"{tag}_low"],
                    "ci_high": s[f"{tag}_high"],
                    "p1": s["p1"],
                    "baseline": baseline,
                    "diff": np.nan,
                    "diff_ci_low": np.nan,
                    "diff_ci_high": np.nan,
                    "advantage": "(the baseline)" if method == baseline else "no baseline rows",
                }
                if method != baseline and base is not None and not base.empty:
                    common = acc.index.intersection(base.index)
                    d = paired_two_level(by_seed(acc[common]), by_seed(base[common]), ci)
                    row |= {"diff": d["diff"], "diff_ci_low": d["ci_low"], "diff_ci_high": d["ci_high"]}
                    row["advantage"] = verdict(d["ci_low"], d["ci_high"])
                rows.append(row)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def write_study_table(table: pd.DataFrame, labels: dict, csv, md, tex, title: str, ci: float = 0.95) -> None:
    """The tidy CSV; Markdown and LaTeX with one line per (pair, study, level) and one cell per method."""

    write_csv(table, csv, float_format="%.4f")
    pct = round(ci * 100)
    if table.empty:
        atomic_write_text(md, f"**{title}**: no sweeps.\n")
        atomic_write_text(tex, f"% {title}: no sweeps\n")
        return
    methods = list(dict.fromkeys(table.method))
    baseline = table.baseline.iloc[0]
    head = ["model / dataset", "non-ideality", "level", "σ"] + [labels.get(m, m) for m in methods]
    lines = [
        f"**{title}: accuracy (%), mean [{pct} % CI] over training seeds x chips; below it, minus "
        f"{labels.get(baseline, baseline)} paired on the same chips (pp)**",
        "",
    ]
    rows = []
    for (model, dataset, study, level), g in table.groupby(["model", "dataset", "study", "level"], sort=False):
        cells = []
        for m in methods:
            r = g[g.method == m]
            if r.empty:
                cells.append("not evaluated")
                continue
            r = r.iloc[0]
            cell = f"{r['mean']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
            if m != baseline and np.isfinite(r["diff"]):
                cell += f"<br>{r['diff']:+.2f} [{r['diff_ci_low']:+.2f}, {r['diff_ci_high']:+.2f}]"
            cells.append(cell)
        name = level_label(study, level, g.time_s.iloc[0])
        rows.append([panel_title(model, dataset), STUDY_TITLES.get(study, study), name, g.sigma.iloc[0], *cells])
    lines += markdown_lines(head, rows, "lllr" + "r" * len(methods))
    lines += [
        "",
        f"Seeds x chips per cell: {int(table.seeds.max())} x {int(table.chips.max() // max(table.seeds.max(), 1))}. "
        "The level 'off' / 'ideal' / 'trained card' is today's card (the main sweep), on the same chips.",
    ]
    atomic_write_text(md, "\n".join(lines) + "\n")
    tex_rows = [[str(c).replace("<br>", " ") for c in row] for row in rows]
    atomic_write_text(tex, latex_table(head, tex_rows, title, f"tab:{Path(csv).stem}", left_columns=4))


def drift_sigma(sigma_point, card, reference, rule: str) -> str:
    """The test sigma of a drift time: ``relative``, the point's sigma times the card's measured spread over the
    first card's (the first time is what the model was trained for); ``measured``, the card's own measured sigma.
    Rounded to the sigma quantum (1e-4)."""
    measured = card.extra.get("measured_sigma")
    if measured is None:
        raise ValueError(f"drift card {card.name!r} has no measured_sigma: drift cards are fitted cards")
    if rule == "measured":
        value = float(measured)
    else:
        ref = reference.extra.get("measured_sigma")
        if not ref:
            raise ValueError(f"drift reference card {reference.name!r} has no positive measured_sigma")
        value = float(sigma_point) * float(measured) / float(ref)
    return format_sigma(f"{min(round(value, 4), 1.0):.4f}")
