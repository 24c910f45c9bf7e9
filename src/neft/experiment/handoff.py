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
results/models/.../train_log.csv     train                   tabulate_convergence: ``study_handoff.read_train_log``
results/mc/.../test~<t>.csv (.json)  evaluate_mc             aggregate_mc, tabulate_<study>: :func:`read_mc_sweeps`
results/tables/mc_chips.csv (.sha)   aggregate_mc            accuracy_data, ablation_data, crosscheck, worst_chips,
                                                             scorecard: :func:`read_mc_chips`
results/tables/mc_summary.csv (.sha) aggregate_mc            accuracy_data, scorecard: :func:`read_mc_summary`
results/tables/accuracy_curves.csv   accuracy_data           plots, tables, scorecard: :func:`read_curves`
results/tables/ablation*.csv         ablation_data           plot/tabulate_ablation: ``study_handoff.read_ablation``
results/tables/convergence.csv       tabulate_convergence    plot_convergence, scorecard:
                                                             ``study_handoff.read_convergence``
results/tables/nonidealities.csv,    tabulate_nonidealities, plot_nonidealities, plot_drift:
drift.csv                            tabulate_drift          ``study_handoff.read_study_table``
results/tables/ladder*.csv           tabulate_ladder         plot_ladder: ``study_handoff.read_ladder``
results/probe/.../test~<t>.json      probe_worst_case        tabulate_probe: ``study_handoff.read_probes``
the tables the conclusions cite      their rules             summarize: ``tablecheck.check_digests``
results/devices/<d>/fit.csv          fit_device              plot_device_fits: ``inputs.check_device_fit``
figures and tables                   their rules             render_report: ``inputs.check_report_inputs``
===================================  ======================  ===================================================

The readers of the Monte-Carlo chain (sweeps, aggregated tables, curves) are here; those of the studies (ablation,
convergence, training logs, probe, non-ideality, drift and ladder tables) in ``neft.experiment.study_handoff``.

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

import pandas as pd

from neft.experiment.contracts import (
    ACCURACY_ROUNDING,
    CURVE_COLUMNS,
    CURVE_KEYS,
    KEY_DTYPES,
    MC_COLUMNS,
    MC_JSON_FIELDS,
    MC_KEYS,
    MC_SUMMARY_COLUMNS,
    RERUN_MC,
    TABLE_ROUNDING,
    ZERO_UNCERTAINTY,
)
from neft.experiment.tablecheck import (
    HandoffError,
    error,
    ints_text,
    key_text,
    point_text,
    read_json,
    read_table,
    rebuild,
    require,
    require_columns,
    require_digest,
    require_points,
    require_unique,
    row_lines,
)
from neft.util.io import sha256_file


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
            if point_text(k, stats[k]) != point_text(k, path_keys[k]):
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
        want = point_text(k, stats[k])
        got = df[k].map(lambda v, k=k: point_text(k, v))
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
        key = tuple(point_text(k, st[k]) for k in MC_KEYS)
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
    require_digest(path, problems)
    if problems:
        raise error(path, problems, rebuild(path))
    return df


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
    require_digest(path, problems)
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
        point_text("sigma_test", sigma_test) == "0"
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
        same = (df["sigma"].map(lambda v: point_text("sigma", v)) == "0") & (within == 0)
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
    require_digest(path, problems)
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
