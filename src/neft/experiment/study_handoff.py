"""What the studies' files promise, checked by the rule that reads each: the ablation's comparisons, the
convergence study, the training logs, the worst-case probe's JSONs, the non-ideality and drift tables and the scale
ladder's tables. Each reader checks its file against the sha256 its writer recorded beside it and against what the
validated config says it holds (its points, each once and no other), as ``neft.experiment.handoff`` does for the
Monte-Carlo chain (sweeps, aggregated tables, curves); that module's docstring maps every file to its reader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neft.experiment.contracts import (
    CONVERGENCE_COLUMNS,
    DECOMPOSITION_COLUMNS,
    KEY_DTYPES,
    LADDER_COLUMNS,
    LADDER_DECOMPOSITION_COLUMNS,
    MC_KEYS,
    PROBE_COLUMNS,
    PROBE_NUMBERS,
    RERUN_PROBE,
    STUDY_COLUMNS,
    SWEEP_COLUMNS,
    SWEEP_DIFF_COLUMNS,
    TRAIN_LOG_COLUMNS,
)
from neft.experiment.grid import COMPARISONS
from neft.experiment.handoff import mc_keys_from_path, read_mc_sweep
from neft.experiment.tablecheck import (
    check_digest,
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
    require_digest,
    require_points,
    require_unique,
    row_lines,
)


# -- the ablation (aggregate_mc -> ablation_data -> its table and figure) ----------------------------------------
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
    require_digest(decomposition_path, problems)
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
    require_digest(sweep_path, problems)
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
    require_digest(path, problems)
    if problems:
        raise error(path, problems, rebuild(path))
    return df


# -- training (train -> tabulate_convergence, tabulate_ladder) -----------------------------------------------
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
        require_digest(p, problems)
        if problems:
            raise error(p, problems, RERUN_PROBE)
        rows.append(data)
    return pd.DataFrame(rows, columns=list(PROBE_COLUMNS))


def _probe_problems(path, data: dict, problems: list[str], settings: dict | None, expect: dict | None) -> None:
    keys = mc_keys_from_path(path)
    for k in MC_KEYS if keys is not None else ():
        if point_text(k, data[k]) != point_text(k, keys[k]):
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


# -- the studies' and the ladder's tables (-> their figures) ---------------------------------------------------
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
    require_digest(path, problems)
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
    require_digest(accuracy_path, problems)
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
    require_digest(decomposition_path, problems)
    if problems:
        raise error(decomposition_path, problems, rebuild(decomposition_path))
    return acc, decomp
