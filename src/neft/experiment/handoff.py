"""What each intermediate file promises, checked by the rule that reads it.

Snakemake checks that a rule's inputs exist and are older than its outputs, nothing about what they hold: a chip
row deleted from an MC CSV (the file touched newer) used to give a table with another mean and exit status 0. Here
every file one rule hands another has a reader that checks it twice and raises a :class:`HandoffError` that names
the file, the key or row, what was expected and what was found, and what to do:

- against what its writer recorded: the sha256 of the file, written by the same job, in the MC sweep's JSON
  (``csv_sha256``) or, for every other hand-off table and the probe JSONs, in ``<file>.sha256`` beside it
  (``neft.experiment.tablecheck.record_digests``; an output of the writing rule and an input of each reading rule);
- against what the validated config says it holds: the grid's points, each once and no other
  (``neft.experiment.grid.sweep_keys``, ``curve_points``, ``comparison_points``, ``convergence_points``,
  ``study_points``; the rules pass them as params), the chip count and seed (:func:`mc_expectation`), the probe's
  settings, and what the model implies (no expected KL or mutual information where every chip is the same model;
  accuracies in [0, 100]; finite numbers, never text, in numeric fields).

===================================  ======================  ===================================================
file (its digest)                    producer                reader (what the reader checks: see each function)
===================================  ======================  ===================================================
results/data/<d>/prepared.pt         prepare_dataset         train, evaluate_mc: ``inputs.check_prepared``
results/devices/<d>/card.yaml        device_card, fit_...    train, evaluate_mc: ``inputs.check_card``
results/models/.../model.pt          train                   evaluate_mc: ``neft.core.checkpoints.check_meta``
results/models/.../train_log.csv     train                   tabulate_convergence: :func:`read_train_log`
results/mc/.../test~<t>.csv (.json)  evaluate_mc             aggregate_mc, tabulate_<study>: :func:`read_mc_sweeps`
results/tables/mc_chips.csv (.sha)   aggregate_mc            accuracy_data, ablation_data, crosscheck, worst_chips,
                                                             scorecard: :func:`read_mc_chips`
results/tables/mc_summary.csv (.sha) aggregate_mc            accuracy_data, scorecard: :func:`read_mc_summary`
results/tables/accuracy_curves.csv   accuracy_data           plots, tables, scorecard: :func:`read_curves`
results/tables/ablation*.csv         ablation_data           plot/tabulate_ablation: :func:`read_ablation`
results/tables/convergence.csv       tabulate_convergence    plot_convergence, scorecard: :func:`read_convergence`
results/tables/nonidealities.csv,    tabulate_nonidealities, plot_nonidealities, plot_drift: :func:`read_study_table`
drift.csv                            tabulate_drift
results/tables/ladder*.csv           tabulate_ladder         plot_ladder: :func:`read_ladder`
results/probe/.../test~<t>.json      probe_worst_case        tabulate_probe: :func:`read_probes`
the tables the conclusions cite      their rules             summarize: :func:`check_digests`
results/devices/<d>/fit.csv          fit_device              plot_device_fits: ``inputs.check_device_fit``
figures and tables                   their rules             render_report: ``inputs.check_report_inputs``
===================================  ======================  ===================================================

The remedy is always the same: delete the file (for an MC sweep, its CSV and JSON), and the workflow rebuilds it
from its inputs, with its digest. An MC JSON written before ``csv_sha256`` and ``mc_seed`` were recorded is
accepted: every other check still runs, and :func:`read_mc_sweeps` returns a note saying how many JSONs lack them.
The training logs carry no digest (their writer, ``neft.core.train``, records none; a digest output would retrain
every run): their reader checks them against the config's epochs and the values' ranges.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from neft.experiment.contracts import (
    ACCURACY_ROUNDING,
    CONVERGENCE_COLUMNS,
    CURVE_COLUMNS,
    CURVE_KEYS,
    DECOMPOSITION_COLUMNS,
    KEY_DTYPES,
    LADDER_COLUMNS,
    LADDER_DECOMPOSITION_COLUMNS,
    MC_COLUMNS,
    MC_JSON_FIELDS,
    MC_KEYS,
    MC_SUMMARY_COLUMNS,
    PROBE_COLUMNS,
    PROBE_NUMBERS,
    RERUN_MC,
    RERUN_PROBE,
    STUDY_COLUMNS,
    SWEEP_COLUMNS,
    SWEEP_DIFF_COLUMNS,
    TABLE_ROUNDING,
    TRAIN_LOG_COLUMNS,
    ZERO_UNCERTAINTY,
)
from neft.experiment.grid import COMPARISONS
from neft.experiment.tablecheck import (
    HandoffError,
    check_digest,
    digest_problem,
    error,
    ints_text,
    json_number,
    key_text,
    numeric,
    point_text,
    read_json,
    read_table,
    rebuild,
    require,
    require_columns,
    require_points,
    require_unique,
    row_lines,
    sha256_file,
)
from neft.util.sigma import format_sigma


# -- Monte-Carlo sweeps (evaluate_mc -> aggregate_mc) ------------------------------------------------------------
def mc_expectation(mc: dict) -> dict:
    """What the config says every sweep holds: ``{"seed", "chips"}``, or ``{"seed", "min_chips", "max_chips"}``
    with ``mc.adaptive.enabled`` (a sweep stops between them: at least ``min_chips`` unless ``max_chips`` is
    smaller, at most ``max_chips``). The rules that read MC results get it as ``params.expect``."""
    out = {"seed": int(mc["seed"])}
    adaptive = mc.get("adaptive") or {}
    if adaptive.get("enabled"):
        hi = int(adaptive["max_chips"])
        out |= {"min_chips": min(int(adaptive["min_chips"]), hi), "max_chips": hi}
    else:
        out["chips"] = int(mc["chips"])
    return out


def _chip_count_problem(n: int, expect: dict | None) -> str | None:
    if not expect:
        return None
    if "chips" in expect and n != expect["chips"]:
        return f"{n} chips, but the config's mc.chips is {expect['chips']}"
    if "max_chips" in expect and not expect["min_chips"] <= n <= expect["max_chips"]:
        return f"{n} chips, but mc.adaptive allows {expect['min_chips']}..{expect['max_chips']} (min_chips..max_chips)"
    return None


_MC_PATH = re.compile(
    r"(?:^|/)(?P<model>[^/]+)/(?P<dataset>[^/]+)/(?P<method>[^/]+)/(?P<device>[^/]+)/sigma~(?P<sigma_train>[^/]+)"
    r"/seed~(?P<seed>\d+)/test~(?P<sigma_test>[^/]+)\.(?:csv|json)$"
)


def mc_keys_from_path(path: str | Path) -> dict | None:
    """The experiment keys spelled by an MC file's path (``neft.experiment.grid.Evaluation.path``), or None for a path
    outside that layout (then only the JSON names the keys)."""
    m = _MC_PATH.search(Path(path).as_posix())
    if not m:
        return None
    keys = m.groupdict()
    keys["seed"] = int(keys["seed"])
    return keys


def _key_text(key: str, value) -> str:
    if key.startswith("sigma"):
        try:
            return format_sigma(value)
        except (TypeError, ValueError):
            return str(value)
    if key == "seed":
        try:
            return str(int(value))
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _chip_value_problems(df: pd.DataFrame, problems: list[str], n_test: int | None = None) -> None:
    """Per chip row: 0 <= correct <= n, accuracy = 100 correct / n, confidences in [0, 1] (confidence_correct is
    NaN exactly when no prediction is correct)."""
    n = require(df, problems, "n", lo=1, integer=True)
    if n_test is not None and (n.notna() & (n != n_test)).any():
        i = n[n.notna() & (n != n_test)].index
        problems.append(f"column n is {n[i[0]]:g} at {row_lines(i)}, but the sweep's n_test is {n_test}")
    correct = require(df, problems, "correct", lo=0, integer=True)
    over = correct > n
    if over.any():
        problems.append(f"column correct exceeds n at {row_lines(over[over].index)}")
    acc = require(df, problems, "accuracy", lo=0, hi=100)
    off = (acc - 100.0 * correct / n).abs() > ACCURACY_ROUNDING
    if off.any():
        i = off[off].index[0]
        problems.append(
            f"column accuracy is {acc[i]:g} at {row_lines(off[off].index)}, but 100 * correct / n is "
            f"{100.0 * correct[i] / n[i]:.4f}"
        )
    require(df, problems, "confidence", lo=0, hi=1)
    none_correct = (correct == 0).rename("correct is 0")
    cc = require(df, problems, "confidence_correct", lo=0, hi=1, nan_ok=none_correct)
    filled = none_correct & cc.notna()
    if filled.any():
        problems.append(
            f"column confidence_correct is a number where correct is 0 at {row_lines(filled[filled].index)}"
        )


def _chip_index_problem(chips: pd.Series, what: str = "", n: int | None = None) -> str | None:
    """Chip indices must be exactly 0..n-1 (n: the chip count the sweep should have, by default its rows), each
    once, in order."""
    values = pd.to_numeric(chips, errors="coerce")
    n = len(values) if n is None else n
    whole = values.notna() & (values == values.round())
    if not whole.all() or list(values.astype(int)) != list(range(n)):
        found = values.tolist()
        seen = [int(v) for v in values.dropna() if float(v).is_integer()]
        dups = sorted({v for v in seen if seen.count(v) > 1})
        missing = sorted(set(range(n)) - set(seen))
        detail = []
        if dups:
            detail.append(f"duplicated: {ints_text(dups)}")
        if missing:
            detail.append(f"missing: {ints_text(missing)}")
        if not detail:
            detail.append("out of order")
        shown = ints_text(int(v) if float(v).is_integer() else v for v in found if not pd.isna(v))
        return f"{what}chip indices are {shown}, expected 0..{n - 1}, each once, in order ({'; '.join(detail)})"
    return None


def read_mc_sweep(
    csv_path: str | Path, json_path: str | Path, expect: dict | None = None, extra_keys: dict | None = None
) -> tuple[pd.DataFrame, dict, bool]:
    """One MC sweep: its CSV (one row per chip) checked against the JSON its job wrote beside it, the path both
    live at, and the config's chip count (``expect``: :func:`mc_expectation`). Returns the rows (read exactly as
    ``neft.analysis.results.read_chips`` reads them), the JSON, and whether the JSON predates ``csv_sha256``.
    ``extra_keys``: key columns a sweep writes before the experiment keys ({name: dtype}; the scale ladder's rung),
    checked like them."""
    csv_path, json_path = Path(csv_path), Path(json_path)
    extra = dict(extra_keys or {})
    stats = read_json(json_path, RERUN_MC)
    missing = [k for k in (*extra, *MC_KEYS, *MC_JSON_FIELDS) if k not in stats]
    if missing:
        raise error(json_path, f"missing field(s) {', '.join(missing)}", RERUN_MC)
    df = read_table(csv_path, (*extra, *MC_KEYS, *MC_COLUMNS), dtype=KEY_DTYPES | extra, exact=True, remedy=RERUN_MC)
    json_problems: list[str] = []
    csv_problems: list[str] = []

    # the JSON against the path and the config
    path_keys = mc_keys_from_path(csv_path)
    if path_keys is not None:
        for k in MC_KEYS:
            if _key_text(k, stats[k]) != _key_text(k, path_keys[k]):
                json_problems.append(f"{k} is {stats[k]!r}, but its path says {path_keys[k]!r}")
    try:
        n_json = int(stats["chips"])
        n_test = int(stats["n_test"])
    except (TypeError, ValueError):
        what = f"chips ({stats['chips']!r}) and n_test ({stats['n_test']!r}) must be integers"
        raise error(json_path, what, RERUN_MC) from None
    count = _chip_count_problem(n_json, expect)
    if count:
        json_problems.append(f"says {count}")
    for k in ("ekl", "mutual_info"):
        v = stats[k]
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < -1e-6:
            json_problems.append(f"{k} is {v!r}, expected a finite number >= 0")
    if expect and "seed" in expect and "mc_seed" in stats and str(stats["mc_seed"]) != str(expect["seed"]):
        json_problems.append(f"mc_seed is {stats['mc_seed']}, but the config's mc.seed is {expect['seed']}")
    if json_problems:
        raise error(json_path, json_problems, RERUN_MC)

    # the CSV against its JSON
    if len(df) != n_json:
        csv_problems.append(f"{len(df)} chip rows, but {json_path.name} says chips: {n_json}")
    index = _chip_index_problem(df["chip"], n=n_json)
    if index:
        csv_problems.append(index)
    for k in (*extra, *MC_KEYS):
        want = _key_text(k, stats[k])
        got = df[k].map(lambda v, k=k: _key_text(k, v))
        bad = got != want
        if bad.any():
            i = bad[bad].index
            csv_problems.append(f"column {k} is {df[k][i[0]]!r} at {row_lines(i)}, but {json_path.name} says {want!r}")
    _chip_value_problems(df, csv_problems, n_test)
    legacy = "csv_sha256" not in stats
    if not legacy:
        found = sha256_file(csv_path)
        if found != stats["csv_sha256"]:
            csv_problems.append(
                f"its sha256 is {found[:16]}..., but {json_path.name}, written by the same job, recorded "
                f"{str(stats['csv_sha256'])[:16]}... (the CSV was changed after its job wrote it)"
            )
    if csv_problems:
        raise error(csv_path, csv_problems, RERUN_MC)
    zero = _zero_problem("", stats, _identical_chips(df, stats["sigma_test"], csv_path.name))
    if zero:
        raise error(json_path, zero, RERUN_MC)
    return df, stats, legacy


def read_mc_sweeps(
    chip_files: list[str], stats_files: list[str], expect: dict | None = None
) -> tuple[list[pd.DataFrame], list[dict], list[str]]:
    """Every sweep aggregate_mc reads (:func:`read_mc_sweep`), one JSON per CSV, each experiment once, one test
    set size per dataset. Returns the rows, the JSONs and notes for the log."""
    if len(chip_files) != len(stats_files):
        raise HandoffError(f"aggregate_mc: {len(chip_files)} MC CSVs but {len(stats_files)} JSONs (one JSON per CSV)")
    frames, stats, legacy, seen, n_test = [], [], [], {}, {}
    for csv_path, json_path in zip(chip_files, stats_files):
        if Path(csv_path).with_suffix("") != Path(json_path).with_suffix(""):
            raise HandoffError(f"aggregate_mc: {csv_path} is paired with {json_path}, not with its own JSON")
        df, st, old = read_mc_sweep(csv_path, json_path, expect)
        key = tuple(_key_text(k, st[k]) for k in MC_KEYS)
        if key in seen:
            raise error(json_path, f"the same experiment {key_text(MC_KEYS, key)} as {seen[key]}", RERUN_MC)
        seen[key] = json_path
        dataset = str(st["dataset"])
        first = n_test.setdefault(dataset, (int(st["n_test"]), json_path))
        if first[0] != int(st["n_test"]):
            raise error(
                json_path,
                f"n_test is {st['n_test']}, but {first[1]} tested {dataset} on {first[0]} images "
                "(every sweep of a dataset uses the same test set)",
                RERUN_MC,
            )
        frames.append(df)
        stats.append(st)
        if old:
            legacy.append(json_path)
    notes = []
    if legacy:
        notes.append(
            f"{len(legacy)} of {len(stats_files)} MC JSONs predate csv_sha256 (e.g. {legacy[0]}): their CSVs were "
            "checked for rows, chip indices, keys and values, not for edits after their job; delete such a CSV and "
            "its JSON to rerun that job and record it"
        )
    return frames, stats, notes


# -- aggregated tables (aggregate_mc -> accuracy_data, ablation_data) --------------------------------------------
def read_mc_chips(path: str | Path, expect: dict | None = None, sweeps: list | None = None) -> pd.DataFrame:
    """results/tables/mc_chips.csv: every chip row; per sweep, chips 0..n-1 once each, as many as the config says
    (``expect``: :func:`mc_expectation`); exactly the config's ``sweeps`` (``neft.experiment.grid.sweep_keys``); the
    file its job wrote (the sha256 recorded beside it, ``mc_chips.csv.sha256``)."""
    df = read_table(path, (*MC_KEYS, *MC_COLUMNS), dtype=KEY_DTYPES, exact=True, remedy=rebuild(path))
    problems: list[str] = []
    require_columns(df, problems, MC_KEYS)
    _chip_value_problems(df, problems)
    if not problems:
        for key, g in df.groupby(list(MC_KEYS), sort=False):
            what = f"sweep {key_text(MC_KEYS, key)} ({row_lines(g.index[:1])}): "
            count = _chip_count_problem(len(g), expect)
            index = _chip_index_problem(g["chip"].sort_values(), n=(expect or {}).get("chips"))
            found = [m for m in (count, index) if m]
            if found:
                problems.append(what + "; ".join(found))
                break
            if g["n"].nunique() != 1:
                problems.append(f"{what}column n differs between its chips")
                break
    if sweeps is not None and not problems:
        require_points(df, problems, MC_KEYS, sweeps, "sweep")
    _digest(path, problems)
    if problems:
        raise error(path, problems, rebuild(path))
    return df


def _digest(path: str | Path, problems: list[str]) -> None:
    """The file must be the one its job wrote: its sha256 is the one recorded beside it (``<file>.sha256``)."""
    problem = digest_problem(path)
    if problem:
        problems.append(problem)


def read_mc_summary(
    path: str | Path, chips: pd.DataFrame | None = None, chips_path: str | Path = "", sweeps: list | None = None
) -> pd.DataFrame:
    """results/tables/mc_summary.csv: one row per sweep with finite statistics, exactly the config's ``sweeps``
    (``neft.experiment.grid.sweep_keys``); with ``chips`` (mc_chips.csv, written by the same job), the same sweeps,
    chip counts, means and test set sizes, and no uncertainty where the model has none (:func:`_zero_uncertainty`);
    the file its job wrote (``mc_summary.csv.sha256``)."""
    df = read_table(path, MC_SUMMARY_COLUMNS, dtype=KEY_DTYPES, remedy=rebuild(path))
    problems: list[str] = []
    require_columns(df, problems, MC_KEYS)
    require_unique(df, problems, MC_KEYS, "sweep")
    require(df, problems, "chips", lo=1, integer=True)
    require(df, problems, "mean", lo=0, hi=100)
    require(df, problems, "n_test", lo=1, integer=True)
    require(df, problems, "ekl", lo=-1e-6)
    require(df, problems, "mutual_info", lo=-1e-6)
    require(df, problems, "confidence", lo=0, hi=1)
    if sweeps is not None and not problems:
        require_points(df, problems, MC_KEYS, sweeps, "sweep")
    if not problems and chips is not None:
        other = Path(chips_path).name or "mc_chips.csv"
        g = chips.groupby(list(MC_KEYS), sort=False).agg(
            rows=("chip", "size"), mean=("accuracy", "mean"), n=("n", "first")
        )
        s = df.set_index(list(MC_KEYS))
        only_summary = s.index.difference(g.index)
        only_chips = g.index.difference(s.index)
        if len(only_summary):
            problems.append(f"sweep {key_text(MC_KEYS, only_summary[0])} is not in {other}")
        if len(only_chips):
            problems.append(f"sweep {key_text(MC_KEYS, only_chips[0])} of {other} has no row here")
        both = s.index.intersection(g.index)
        for key in both:
            row, agg, what = s.loc[key], g.loc[key], f"sweep {key_text(MC_KEYS, key)}"
            if int(row["chips"]) != int(agg["rows"]):
                problems.append(
                    f"{what}: chips is {int(row['chips'])}, but {other} holds {int(agg['rows'])} of its chips"
                )
            elif abs(float(row["mean"]) - float(agg["mean"])) > TABLE_ROUNDING:
                problems.append(
                    f"{what}: mean is {row['mean']:.6f}, but its chips in {other} average {agg['mean']:.6f}"
                )
            elif int(row["n_test"]) != int(agg["n"]):
                problems.append(
                    f"{what}: n_test is {int(row['n_test'])}, but its chips in {other} have n = {int(agg['n'])}"
                )
            if len(problems) >= 3:
                break
        if not problems:
            _zero_uncertainty(df, chips, other, problems)
    _digest(path, problems)
    if problems:
        raise error(path, problems, rebuild(path))
    return df


def _identical_chips(rows: pd.DataFrame, sigma_test, where: str) -> str | None:
    """Why a sweep's chip ``rows`` (read from ``where``) are one model, or None. The expected KL and mutual
    information measure how chips disagree (``neft.core.mc.ChipStats.uncertainty``), so both are 0 when every chip is
    the same model: with one chip, and at sigma_test 0 on a card without read noise or stuck devices, where
    ``ChipEvaluator`` runs the noise-free model once for every chip (their correct counts and confidences are then all
    equal, which is how it is recognised)."""
    if len(rows) == 1:
        return f"one chip in {where}, whose expected KL against itself is 0"
    if (
        _key_text("sigma_test", sigma_test) == "0"
        and rows["correct"].nunique() == 1
        and rows["confidence"].nunique() == 1
    ):
        return (
            f"its {len(rows)} chips in {where} are one model (sigma_test 0: every chip is the noise-free model, with "
            "the same correct count and confidence)"
        )
    return None


def _zero_problem(what: str, values: dict, why: str | None) -> str | None:
    """A problem when ``why`` says the chips are one model and the expected KL or mutual information is not 0."""
    for c in ("ekl", "mutual_info") if why else ():
        v = float(values[c])
        if abs(v) > ZERO_UNCERTAINTY:
            return f"{what}{c} is {v:g}, but it must be 0 (|{c}| <= {ZERO_UNCERTAINTY:g}): {why}"
    return None


def _zero_uncertainty(df: pd.DataFrame, chips: pd.DataFrame, other: str, problems: list[str]) -> None:
    """No expected KL and no mutual information in a sweep whose chips in ``other`` are one model
    (:func:`_identical_chips`)."""
    groups = dict(iter(chips.groupby(list(MC_KEYS), sort=False)))
    for i, row in df.iterrows():
        key = tuple(row[k] for k in MC_KEYS)
        if key in groups:
            what = f"sweep {key_text(MC_KEYS, key)} ({row_lines([i])}): "
            problem = _zero_problem(what, row, _identical_chips(groups[key], row["sigma_test"], other))
            if problem:
                problems.append(problem)
                return


# -- curves and the tables built from summaries ------------------------------------------------------------------
#: the keys of one point of accuracy_curves.csv, and what the grid says of it
CURVE_POINT = ("model", "dataset", "device", "method", "sigma")
CURVE_SOURCE = ("source_method", "sigma_train", "seeds")


def read_curves(path: str | Path, points: list | None = None, expect: dict | None = None) -> pd.DataFrame:
    """results/tables/accuracy_curves.csv: one row per (pair, device, method, sigma), every number a reader draws
    or tabulates present (std and the CI only from two chips on, confidence_correct unless no chip got anything
    right), in range, the CI around the mean; exactly the config's ``points``
    (``neft.experiment.grid.curve_points``: each with its source run and seed count), seeds x ``mc.chips`` chips
    (``expect``: :func:`mc_expectation`); no uncertainty where every chip is the same model; the file its job wrote
    (``accuracy_curves.csv.sha256``)."""
    df = read_table(path, CURVE_COLUMNS, dtype=KEY_DTYPES, remedy=rebuild(path))
    problems: list[str] = []
    require_columns(df, problems, CURVE_KEYS[:-1])
    require_unique(df, problems, CURVE_POINT, "point")
    seeds = require(df, problems, "seeds", lo=1, integer=True)
    chips = require(df, problems, "chips", lo=1, integer=True)
    one_chip = (chips < 2).rename("chips < 2")
    mean = require(df, problems, "mean", lo=0, hi=100)
    require(df, problems, "std", lo=0, nan_ok=one_chip)
    low = require(df, problems, "ci_low", nan_ok=one_chip)
    high = require(df, problems, "ci_high", nan_ok=one_chip)
    outside = (low > mean + TABLE_ROUNDING) | (high < mean - TABLE_ROUNDING)
    if outside.any():
        problems.append(f"the CI [ci_low, ci_high] does not contain mean at {row_lines(outside[outside].index)}")
    for c in ("p1", "p5"):
        require(df, problems, c, lo=0, hi=100)
    require(df, problems, "confidence", lo=0, hi=1)
    require(df, problems, "confidence_correct", lo=0, hi=1, nan_ok=(mean == 0).rename("mean is 0"))
    ekl = require(df, problems, "ekl", lo=-1e-6)
    mi = require(df, problems, "mutual_info", lo=-1e-6)
    if not problems and points is not None:
        require_points(df, problems, CURVE_POINT, [p[: len(CURVE_POINT)] for p in points])
        _point_sources(df, problems, points)
    if not problems and expect and "chips" in expect:
        off = chips != seeds * int(expect["chips"])
        if off.any():
            i = off[off].index[0]
            problems.append(
                f"column chips is {int(chips[i])} at {row_lines(off[off].index)}, but {int(seeds[i])} seed(s) x the "
                f"config's mc.chips {expect['chips']} is {int(seeds[i]) * int(expect['chips'])}"
            )
    if not problems and "sd_within_seed" in df.columns:
        within = pd.to_numeric(df["sd_within_seed"], errors="coerce")
        same = (df["sigma"].map(lambda v: _key_text("sigma", v)) == "0") & (within == 0)
        for c, v in (("ekl", ekl), ("mutual_info", mi)):
            bad = same & (v.abs() > ZERO_UNCERTAINTY)
            if bad.any():
                i = bad[bad].index[0]
                problems.append(
                    f"point {key_text(CURVE_POINT, df.loc[i, list(CURVE_POINT)])} ({row_lines(bad[bad].index)}): {c} "
                    f"is {v[i]:g}, but it must be 0 (|{c}| <= {ZERO_UNCERTAINTY:g}): at sigma 0 with sd_within_seed "
                    "0 every chip of a seed is the noise-free model, and identical chips have no uncertainty"
                )
                break
    _digest(path, problems)
    if problems:
        raise error(path, problems, rebuild(path))
    return df


def _point_sources(df: pd.DataFrame, problems: list[str], points: list) -> None:
    """Each point's source run (``neft.experiment.grid.point_source``) and seed count, as the grid says."""
    n = len(CURVE_POINT)
    want = {tuple(point_text(k, v) for k, v in zip(CURVE_POINT, p[:n])): p[n:] for p in points}
    for i, row in df.iterrows():
        key = tuple(point_text(k, row[k]) for k in CURVE_POINT)
        if key not in want:
            continue
        for c, w in zip(CURVE_SOURCE, want[key]):
            if point_text(c, row[c]) != point_text(c, w):
                problems.append(
                    f"point {key_text(CURVE_POINT, key)} ({row_lines([i])}): {c} is {row[c]!r}, but the config's grid "
                    f"says {w!r}"
                )
                return


def read_ablation(
    decomposition_path: str | Path, sweep_path: str | Path, points: list | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """results/tables/ablation.csv (every comparison of every instance and sigma, with its numbers; exactly the
    config's ``points``, ``neft.experiment.grid.comparison_points``) and ablation_beta_sweep.csv (may be empty: no
    beta sweep configured); each the file its job wrote (the sha256 recorded beside it)."""
    decomp = read_table(decomposition_path, DECOMPOSITION_COLUMNS, dtype=KEY_DTYPES, remedy=rebuild(decomposition_path))
    problems: list[str] = []
    require_columns(decomp, problems, DECOMPOSITION_COLUMNS[:8])
    require_unique(decomp, problems, DECOMPOSITION_COLUMNS[:6], "comparison")
    chips = require(decomp, problems, "chips", lo=1, integer=True)
    for c in ("mean_a", "mean_b"):
        require(decomp, problems, c, lo=0, hi=100)
    require(decomp, problems, "diff", lo=-100, hi=100)
    for c in ("ci_low", "ci_high"):
        require(decomp, problems, c, nan_ok=(chips < 2).rename("chips < 2"))
    require(decomp, problems, "share_of_gain", nan_ok=pd.Series(True, index=decomp.index), infinite_ok=False)
    wanted = [c for c, _, _ in COMPARISONS]
    if not problems:
        for key, g in decomp.groupby(list(DECOMPOSITION_COLUMNS[:5]), sort=False):
            lacking = [c for c in wanted if c not in set(g["comparison"])]
            if lacking:
                problems.append(
                    f"{key_text(DECOMPOSITION_COLUMNS[:5], key)} lacks comparison(s) {', '.join(lacking)} "
                    f"(expected {', '.join(wanted)})"
                )
                break
    if points is not None and not problems:
        keys = DECOMPOSITION_COLUMNS[:5]
        require_points(decomp, problems, keys, points, "comparison point")
    _digest(decomposition_path, problems)
    if problems:
        raise error(decomposition_path, problems, rebuild(decomposition_path))

    sweep = read_table(sweep_path, SWEEP_COLUMNS, dtype=KEY_DTYPES, allow_empty=True, remedy=rebuild(sweep_path))
    if sweep.empty:
        check_digest(sweep_path)
        return decomp, sweep
    problems = []
    require_columns(sweep, problems, ("model", "dataset", "device", "instance", "sigma", "method"))
    require_unique(sweep, problems, ("model", "dataset", "device", "instance", "sigma", "beta"), "beta point")
    require(sweep, problems, "beta", lo=0)
    chips = require(sweep, problems, "chips", lo=1, integer=True)
    require(sweep, problems, "mean", lo=0, hi=100)
    for c in ("ci_low", "ci_high"):
        require(sweep, problems, c, nan_ok=(chips < 2).rename("chips < 2"))
    present = [c for c in SWEEP_DIFF_COLUMNS if c in sweep.columns]
    if present and len(present) != len(SWEEP_DIFF_COLUMNS):
        problems.append(
            f"missing column(s) {', '.join(c for c in SWEEP_DIFF_COLUMNS if c not in present)} "
            f"(written together with {', '.join(present)})"
        )
    _digest(sweep_path, problems)
    if problems:
        raise error(sweep_path, problems, rebuild(sweep_path))
    return decomp, sweep


def read_convergence(path: str | Path, points: list | None = None) -> pd.DataFrame:
    """results/tables/convergence.csv: per (pair, method, device, sigma), converged of runs and their ratio; exactly
    the config's ``points`` with their run counts (``neft.experiment.grid.convergence_points``); the file its job wrote
    (``convergence.csv.sha256``)."""
    df = read_table(path, CONVERGENCE_COLUMNS, dtype={"sigma": str, **KEY_DTYPES}, remedy=rebuild(path))
    problems: list[str] = []
    require_columns(df, problems, CONVERGENCE_COLUMNS[:5])
    require_unique(df, problems, CONVERGENCE_COLUMNS[:5], "row")
    runs = require(df, problems, "runs", lo=1, integer=True)
    converged = require(df, problems, "converged", lo=0, integer=True)
    prob = require(df, problems, "probability", lo=0, hi=1)
    require(df, problems, "mean_noisy_acc", lo=0, hi=100)
    if not problems:
        over = converged > runs
        if over.any():
            problems.append(f"converged exceeds runs at {row_lines(over[over].index)}")
        off = (prob - converged / runs).abs() > 5e-5 + 1e-9
        if off.any():
            i = off[off].index[0]
            problems.append(
                f"probability is {prob[i]:g} at {row_lines(off[off].index)}, but converged / runs is "
                f"{converged[i] / runs[i]:.4f}"
            )
    if points is not None and not problems:
        require_points(df, problems, CONVERGENCE_COLUMNS[:5], [p[:5] for p in points], "row")
        want = {tuple(point_text(k, v) for k, v in zip(CONVERGENCE_COLUMNS[:5], p)): p[5] for p in points}
        for i, row in df.iterrows():
            key = tuple(point_text(k, row[k]) for k in CONVERGENCE_COLUMNS[:5])
            if key in want and int(runs[i]) != int(want[key]):
                problems.append(
                    f"row {key_text(CONVERGENCE_COLUMNS[:5], key)} ({row_lines([i])}): runs is {int(runs[i])}, but "
                    f"the config's convergence study trains {want[key]} (convergence.seeds)"
                )
                break
    _digest(path, problems)
    if problems:
        raise error(path, problems, rebuild(path))
    return df


# -- training (train -> tabulate_convergence; train -> evaluate_mc) ----------------------------------------------
def read_train_log(path: str | Path, epochs: int | None = None) -> pd.DataFrame:
    """A train_log.csv: one row per epoch 1..E (E = the config's training.epochs), learning rate, accuracies and
    timings finite (the loss may be NaN or infinite: a diverged run is a result the convergence study counts), at
    least one selected epoch (the checkpoint is the selected epoch's weights), one selection split."""
    df = read_table(path, TRAIN_LOG_COLUMNS, remedy="delete it and its model.pt so the workflow retrains that run")
    problems: list[str] = []
    epoch = require(df, problems, "epoch", lo=1, integer=True)
    if not problems:
        want = list(range(1, (epochs if epochs is not None else len(df)) + 1))
        got = [int(e) for e in epoch]
        if got != want:
            if epochs is not None and len(got) != epochs:
                problems.append(f"{len(got)} epoch rows, but the config's training.epochs is {epochs}")
            problems.append(f"epochs are {ints_text(got)}, expected 1..{len(want)}, each once, in order")
    require(df, problems, "lr", lo=0)
    numeric(df, "loss", problems)  # NaN or inf is a diverged run, text is not a loss
    for c in ("clean_acc", "noisy_acc"):
        require(df, problems, c, lo=0, hi=100)
    require(df, problems, "seconds", lo=0)
    selected = df["selected"].astype(str).str.strip()
    bad = ~selected.isin(["True", "False"])
    if bad.any():
        i = bad[bad].index
        problems.append(f"column selected is {df['selected'][i[0]]!r} at {row_lines(i)}, expected True or False")
    elif not (selected == "True").any():
        problems.append("no epoch is selected (the checkpoint holds the selected epoch's weights)")
    splits = sorted(set(df["split"].astype(str)))
    if len(splits) != 1 or splits[0] not in ("val", "test"):
        problems.append(f"column split is {', '.join(splits)}, expected one of val, test in every row")
    if problems:
        raise error(path, problems, "delete it and its model.pt so the workflow retrains that run")
    return df


def read_probes(
    paths: list[str],
    settings: dict | None = None,
    expect: dict | None = None,
    sampled: list[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """The worst-case probe's JSONs (``neft.core.probe`` via ``neft.jobs.runs.probe_job``), each the file its job
    wrote (the sha256 recorded beside it, ``test~<t>.json.sha256``) with every field its writer promises: its keys
    those of its path, each number a finite number in its range (:data:`PROBE_NUMBERS`), consistent with the others
    (worst <= 1st percentile, below_p1 = sampled_p1 - found_accuracy, the start chip among the sampled ones, the step
    among the steps); the config's probe ``settings`` (steps, step, radius_quantile) and ``expect`` (mc.seed, the chip
    count); with ``sampled`` (the (CSV, JSON) of each probe's main sweep, checked by :func:`read_mc_sweep`), the
    sampled chips it started from."""
    rows = []
    for i, p in enumerate(paths):
        data = read_json(Path(p), RERUN_PROBE)
        missing = [k for k in PROBE_COLUMNS if k not in data]
        if missing:
            raise error(p, f"missing field(s) {', '.join(missing)} (expected {', '.join(PROBE_COLUMNS)})", RERUN_PROBE)
        problems: list[str] = []
        _probe_problems(p, data, problems, settings, expect)
        if not problems and sampled is not None:
            csv_path, json_path = sampled[i]
            chips, _, _ = read_mc_sweep(csv_path, json_path, expect)
            _sampled_problems(data, chips, Path(csv_path).name, problems)
        _digest(p, problems)
        if problems:
            raise error(p, problems, RERUN_PROBE)
        rows.append(data)
    return pd.DataFrame(rows, columns=list(PROBE_COLUMNS))


def _probe_problems(path, data: dict, problems: list[str], settings: dict | None, expect: dict | None) -> None:
    keys = mc_keys_from_path(path)
    for k in MC_KEYS if keys is not None else ():
        if _key_text(k, data[k]) != _key_text(k, keys[k]):
            problems.append(f"{k} is {data[k]!r}, but its path says {keys[k]!r}")
    v = {k: json_number(data, k, problems, lo, hi, integer) for k, (lo, hi, integer) in PROBE_NUMBERS.items()}
    if problems:
        return
    if v["sampled_worst"] > v["sampled_p1"] + 1e-9:
        problems.append(f"sampled_worst is {v['sampled_worst']!r}, above sampled_p1 {v['sampled_p1']!r}")
    if abs(v["below_p1"] - (v["sampled_p1"] - v["found_accuracy"])) > 1e-9:
        problems.append(
            f"below_p1 is {v['below_p1']!r}, but sampled_p1 - found_accuracy is "
            f"{v['sampled_p1'] - v['found_accuracy']!r}"
        )
    if v["start_chip"] >= v["sampled_chips"]:
        problems.append(f"start_chip is {v['start_chip']:g}, but only chips 0..{v['sampled_chips'] - 1:g} were sampled")
    if v["found_step"] > v["steps"]:
        problems.append(f"found_step is {v['found_step']:g}, but the probe ran {v['steps']:g} steps")
    start = data.get("start_accuracy")
    if isinstance(start, (int, float)) and v["found_accuracy"] > start + 1e-9:
        problems.append(f"found_accuracy is {v['found_accuracy']!r}, above the start chip's {start!r}")
    for k, want in (settings or {}).items():
        if k in data and _probe_setting(data[k]) != _probe_setting(want):
            problems.append(f"{k} is {data[k]!r}, but the config's worst_case_probe.{k} is {want!r}")
    if expect and "seed" in expect and "mc_seed" in data and str(data["mc_seed"]) != str(expect["seed"]):
        problems.append(f"mc_seed is {data['mc_seed']!r}, but the config's mc.seed is {expect['seed']}")
    if expect and "chips" in expect and int(v["sampled_chips"]) != int(expect["chips"]):
        problems.append(f"sampled_chips is {v['sampled_chips']:g}, but the config's mc.chips is {expect['chips']}")


def _probe_setting(value) -> str:
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return repr(value)


def _sampled_problems(data: dict, chips: pd.DataFrame, name: str, problems: list[str]) -> None:
    """What the probe says of the sampled chips it started from, recomputed from its main sweep's CSV."""
    acc = chips.sort_values("chip")["accuracy"].astype(float)
    found = {
        "sampled_chips": float(len(acc)),
        "sampled_mean": float(acc.mean()),
        "sampled_p1": float(np.percentile(acc.to_numpy(), 1)),
        "sampled_worst": float(acc.min()),
        "start_chip": float(chips.sort_values("chip")["chip"].iloc[int(acc.to_numpy().argmin())]),
    }
    for k, want in found.items():
        if abs(float(data[k]) - want) > 1e-6:
            problems.append(f"{k} is {data[k]!r}, but the {len(acc)} chips of {name} it started from give {want:.6g}")
            return


# -- the studies' and the ladder's tables (-> their figures), the tables the conclusions cite (-> summarize) --------
def read_study_table(path: str | Path, points: list | None = None) -> pd.DataFrame:
    """results/tables/nonidealities.csv or drift.csv (``neft.analysis.nonideal_study.study_table``): one row per
    (pair, study, level, method), exactly the config's ``points`` (``neft.experiment.grid.study_points``), finite
    accuracies in [0, 100] with the interval around the mean, the file its job wrote (``<table>.csv.sha256``)."""
    df = read_table(path, STUDY_COLUMNS, dtype={"level": str, "sigma": str, **KEY_DTYPES}, remedy=rebuild(path))
    problems: list[str] = []
    keys = ("model", "dataset", "study", "level", "method")
    require_columns(df, problems, keys)
    require_unique(df, problems, keys, "row")
    require(df, problems, "seeds", lo=1, integer=True)
    one_chip = (require(df, problems, "chips", lo=1, integer=True) < 2).rename("chips < 2")
    mean = require(df, problems, "mean", lo=0, hi=100)
    low = require(df, problems, "ci_low", nan_ok=one_chip)
    high = require(df, problems, "ci_high", nan_ok=one_chip)
    require(df, problems, "p1", lo=0, hi=100)
    outside = (low > mean + 5e-5) | (high < mean - 5e-5)
    if outside.any():
        problems.append(f"the CI [ci_low, ci_high] does not contain mean at {row_lines(outside[outside].index)}")
    if points is not None and not problems:
        require_points(df, problems, keys, points, "row")
    _digest(path, problems)
    if problems:
        raise error(path, problems, rebuild(path))
    return df


def read_ladder(accuracy_path: str | Path, decomposition_path: str | Path, points: list | None = None):
    """The scale ladder's tables plot_ladder draws (``neft.analysis.ladder``): ladder.csv with one row per (rung,
    paper sigma, method), exactly the config's ``points`` ([width, epochs, paper_sigma, method]), accuracies in
    [0, 100]; ladder_decomposition.csv (empty without a NeFT instance on the ladder) with differences in
    [-100, 100]; each the file its job wrote (the sha256 recorded beside it)."""
    text = {"width": str, "paper_sigma": str, "sigma": str, **KEY_DTYPES}
    acc = read_table(accuracy_path, LADDER_COLUMNS, dtype=text, remedy=rebuild(accuracy_path))
    problems: list[str] = []
    keys = ("width", "epochs", "paper_sigma", "method")
    require_columns(acc, problems, keys)
    require_unique(acc, problems, keys, "rung point")
    require(acc, problems, "epochs", lo=1, integer=True)
    seeds = require(acc, problems, "seeds", lo=1, integer=True)
    require(acc, problems, "mean", lo=0, hi=100)
    require(acc, problems, "p1", lo=0, hi=100)
    for c in ("ci95_low", "ci95_high"):
        require(acc, problems, c, nan_ok=(seeds < 2).rename("seeds < 2"))
    if points is not None and not problems:
        require_points(acc, problems, keys, points, "rung point", "the config's scale_study")
    _digest(accuracy_path, problems)
    if problems:
        raise error(accuracy_path, problems, rebuild(accuracy_path))
    decomp = read_table(
        decomposition_path,
        LADDER_DECOMPOSITION_COLUMNS,
        dtype=text,
        allow_empty=True,
        remedy=rebuild(decomposition_path),
    )
    problems = []
    if len(decomp):
        require_unique(decomp, problems, ("width", "epochs", "paper_sigma", "instance", "comparison"), "comparison")
        require(decomp, problems, "diff", lo=-100, hi=100)
    _digest(decomposition_path, problems)
    if problems:
        raise error(decomposition_path, problems, rebuild(decomposition_path))
    return acc, decomp


def check_digests(paths) -> None:
    """Each file is the one its job wrote: its sha256 is the one recorded beside it (``tablecheck.check_digest``);
    summarize calls it on the tables it cites before reading them."""
    for path in paths:
        check_digest(path)
