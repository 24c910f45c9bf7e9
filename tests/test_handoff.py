"""Intermediate files are checked by the rule that reads them (issue 12, class 4; ``neft.experiment.handoff``).

For each handoff of the DAG (a file one rule writes and another reads), good files written by the real producer
are read back through the consumer's reader, then tampered with in the ways a file goes wrong (a row removed or
duplicated, a chip index changed, the JSON's chip count changed, a NaN, a column removed, a wrong experiment key,
a truncated or empty file): each must raise with a message that names the file and the disagreement. One CLI
test deletes a chip row of a finished run's MC CSV, touches it newer, and reruns: the run fails naming the CSV, and
the tables already built are untouched.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from neft.analysis.ablation import beta_sweep, decomposition
from neft.analysis.results import KEYS, accuracy_curves, aggregate, read_chips, write_csv
from neft.core import devices
from neft.core.data import get_spec, load_prepared
from neft.core.data.registry import DatasetError
from neft.core.devices import DeviceCardError
from neft.core.train import seeded_model, write_log
from neft.experiment.grid import Evaluation, Run
from neft.experiment.handoff import (
    mc_expectation,
    mc_keys_from_path,
    read_curves,
    read_mc_chips,
    read_mc_summary,
    read_mc_sweep,
)
from neft.experiment.inputs import check_card, check_device_fit, check_prepared, check_report_inputs
from neft.experiment.study_handoff import read_ablation, read_convergence, read_train_log
from neft.experiment.tablecheck import HandoffError, record_digest, record_digests
from neft.jobs.runs import MC_COLUMNS, load_model, write_chip_csv
from neft.util.io import CheckpointError, atomic_torch_save

from .conftest import REPO, snakemake
from .test_ablation import ABLATION

EXPECT = {"seed": 2023, "chips": 3}
METHODS = {
    "plain": {"label": "W/O Noise", "train_at": "zero"},
    "noise_injection": {"label": "W/ Noise", "train_at": "nonzero", "zero_from": "plain"},
}


# -- tampering: what goes wrong with a file --------------------------------------------------------------------------
def _lines(p: Path) -> list[str]:
    return p.read_text().splitlines(keepends=True)


def remove_row(p: Path, line: int = 3) -> None:
    """Delete file line ``line`` (1-based; line 1 is the header)."""
    rows = _lines(p)
    del rows[line - 1]
    p.write_text("".join(rows))


def duplicate_row(p: Path, line: int = 2) -> None:
    rows = _lines(p)
    rows.insert(line, rows[line - 1])
    p.write_text("".join(rows))


def set_cell(p: Path, line: int, column: str, value: str) -> None:
    rows = [r.rstrip("\n").split(",") for r in _lines(p)]
    rows[line - 1][rows[0].index(column)] = value
    p.write_text("".join(",".join(r) + "\n" for r in rows))


def drop_column(p: Path, column: str) -> None:
    rows = [r.rstrip("\n").split(",") for r in _lines(p)]
    i = rows[0].index(column)
    p.write_text("".join(",".join(r[:i] + r[i + 1 :]) + "\n" for r in rows))


def add_column(p: Path, column: str, value: str) -> None:
    rows = _lines(p)
    p.write_text("".join(r.rstrip("\n") + "," + (column if i == 0 else value) + "\n" for i, r in enumerate(rows)))


def truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:-7])


def empty(p: Path) -> None:
    p.write_bytes(b"")


def edit_json(p: Path, **changes) -> None:
    data = json.loads(p.read_text())
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    p.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


# -- good files, written by the producers --------------------------------------------------------------------------
SWEEPS = [  # (method, sigma_train, sigma_test, correct per chip)
    ("plain", "0", "0", [200, 200, 200]),
    ("plain", "0", "0.1", [120, 150, 0]),
    ("noise_injection", "0.1", "0.1", [180, 170, 190]),
]


def write_sweep(root: Path, method, sigma_train, sigma_test, correct, n=256, legacy=False) -> tuple[Path, Path]:
    """One MC sweep's CSV and JSON exactly as ``neft.jobs.runs.mc_job`` writes them (``legacy``: a JSON written before
    csv_sha256 and mc_seed were recorded)."""
    keys = {"model": "vgg8", "dataset": "mnist", "method": method, "device": "RRAM1", "sigma_train": sigma_train}
    keys["seed"] = 0
    ev = Evaluation(Run("vgg8", "mnist", method, "RRAM1", sigma_train, 0), sigma_test)
    csv = root / f"results/mc/{ev.path}.csv"
    rows = [
        {
            "chip": k,
            "correct": c,
            "n": n,
            "accuracy": 100.0 * c / n,
            "confidence": 0.8 + (0.01 * k if sigma_test != "0" else 0),  # at sigma 0 every chip is the clean model
            "confidence_correct": 0.9 if c else float("nan"),
        }
        for k, c in enumerate(correct)
    ]
    sha = write_chip_csv(rows, keys | {"sigma_test": sigma_test}, csv)
    spread = sigma_test != "0"  # identical chips (sigma 0) have no expected KL and no mutual information
    stats = keys | {"sigma_test": sigma_test, "chips": len(rows), "ekl": 0.01 * spread, "mutual_info": 0.005 * spread}
    stats["n_test"] = n
    if not legacy:
        stats |= {"mc_seed": 2023, "csv_sha256": sha}
    csv.with_suffix(".json").write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
    return csv, csv.with_suffix(".json")


@dataclass
class Files:
    root: Path
    csvs: list[Path] = field(default_factory=list)
    jsons: list[Path] = field(default_factory=list)
    expect: dict = field(default_factory=lambda: dict(EXPECT))

    @property
    def tables(self) -> Path:
        return self.root / "results/tables"


def mc_files(root: Path, legacy=False) -> Files:
    f = Files(root)
    for spec in SWEEPS:
        csv, js = write_sweep(root, *spec, legacy=legacy)
        f.csvs.append(csv)
        f.jsons.append(js)
    return f


def tables(root: Path) -> Files:
    """mc_chips.csv, mc_summary.csv (aggregate_mc) and accuracy_curves.csv (accuracy_data) from good sweeps."""
    f = mc_files(root)
    chips, summary = aggregate([str(p) for p in f.csvs], [str(p) for p in f.jsons], EXPECT)
    write_csv(chips, f.tables / "mc_chips.csv")
    write_csv(summary, f.tables / "mc_summary.csv")
    record_digests([f.tables / "mc_chips.csv.sha256", f.tables / "mc_summary.csv.sha256"])  # as aggregate_mc does
    curves = accuracy_curves(
        read_chips(f.tables / "mc_chips.csv"), read_chips(f.tables / "mc_summary.csv"), METHODS, [0, 0.1]
    )
    write_csv(curves, f.tables / "accuracy_curves.csv")
    record_digest(f.tables / "accuracy_curves.csv")
    return f


# -- each handoff: how to build good files, how the consumer reads them, which file the cases tamper with ----------
def _mc(f: Files):
    return aggregate([str(p) for p in f.csvs], [str(p) for p in f.jsons], f.expect)


HANDOFFS = {
    # name: (build, read, default target)
    "mc_sweep": (mc_files, _mc, lambda f: f.csvs[1]),
    "mc_sweep_legacy_json": (lambda r: mc_files(r, legacy=True), _mc, lambda f: f.csvs[1]),
    "mc_chips": (
        tables,
        lambda f: read_mc_chips(f.tables / "mc_chips.csv", f.expect),
        lambda f: f.tables / "mc_chips.csv",
    ),
    "mc_summary": (
        tables,
        lambda f: read_mc_summary(
            f.tables / "mc_summary.csv", read_mc_chips(f.tables / "mc_chips.csv"), f.tables / "mc_chips.csv"
        ),
        lambda f: f.tables / "mc_summary.csv",
    ),
    "accuracy_curves": (
        tables,
        lambda f: read_curves(f.tables / "accuracy_curves.csv"),
        lambda f: f.tables / "accuracy_curves.csv",
    ),
}


def json_of(f: Files) -> Path:
    return f.jsons[1]


# (handoff, tamper id, tamper(files, target), fragments the message must hold besides the target's path)
CASES = [
    # MC sweep: the CSV against its JSON (which records chips, keys, n_test and the CSV's sha256), path and config
    (
        "mc_sweep",
        "row removed",
        lambda f, t: remove_row(t, 3),
        ["2 chip rows, but test~0.1.json says chips: 3", "sha256"],
    ),
    ("mc_sweep", "row duplicated", lambda f, t: duplicate_row(t, 2), ["4 chip rows", "duplicated: 0"]),
    (
        "mc_sweep",
        "chip index changed",
        lambda f, t: set_cell(t, 3, "chip", "7"),
        ["chip indices are 0, 7, 2", "missing: 1"],
    ),
    (
        "mc_sweep",
        "NaN accuracy",
        lambda f, t: set_cell(t, 2, "accuracy", "nan"),
        ["column accuracy is NaN or empty at line 2"],
    ),
    (
        "mc_sweep",
        "accuracy off its correct count",
        lambda f, t: set_cell(t, 2, "accuracy", "99.0000"),
        ["column accuracy is 99 at line 2, but 100 * correct / n is 46.8750"],
    ),
    (
        "mc_sweep",
        "confidence above 1",
        lambda f, t: set_cell(t, 2, "confidence", "1.5"),
        ["column confidence is 1.5 at line 2, expected at most 1"],
    ),
    (
        "mc_sweep",
        "confidence_correct without a correct prediction",
        lambda f, t: set_cell(t, 4, "confidence_correct", "0.5"),
        ["confidence_correct is a number where correct is 0 at line 4"],
    ),
    (
        "mc_sweep",
        "column removed",
        lambda f, t: drop_column(t, "confidence_correct"),
        ["missing column(s) confidence_correct"],
    ),
    ("mc_sweep", "column added", lambda f, t: add_column(t, "extra", "1"), ["unexpected column(s) extra"]),
    (
        "mc_sweep",
        "wrong experiment key",
        lambda f, t: set_cell(t, 3, "method", "ovf"),
        ["column method is 'ovf' at line 3, but test~0.1.json says 'plain'"],
    ),
    ("mc_sweep", "truncated", lambda f, t: truncate(t), ["truncated: its last line has no newline"]),
    ("mc_sweep", "empty", lambda f, t: empty(t), ["empty file (0 bytes)"]),
    ("mc_sweep", "header only", lambda f, t: t.write_text(_lines(t)[0]), ["a header but no rows"]),
    (
        "mc_sweep",
        "edited after its job",
        lambda f, t: set_cell(t, 2, "confidence", "0.800001"),
        ["the CSV was changed after its job wrote it"],
    ),
    (
        "mc_sweep",
        "JSON chip count changed",
        lambda f, t: edit_json(json_of(f), chips=4),
        ["says 4 chips, but the config's mc.chips is 3"],
    ),
    ("mc_sweep", "JSON truncated", lambda f, t: truncate(json_of(f)), ["not valid JSON"]),
    ("mc_sweep", "JSON empty", lambda f, t: empty(json_of(f)), ["empty file"]),
    ("mc_sweep", "JSON without chips", lambda f, t: edit_json(json_of(f), chips=None), ["missing field(s) chips"]),
    (
        "mc_sweep",
        "JSON wrong experiment key",
        lambda f, t: edit_json(json_of(f), method="ovf"),
        ["method is 'ovf', but its path says 'plain'"],
    ),
    (
        "mc_sweep",
        "JSON NaN ekl",
        lambda f, t: edit_json(json_of(f), ekl=float("nan")),
        ["ekl is nan, expected a finite number >= 0"],
    ),
    (
        "mc_sweep",
        "JSON mc seed",
        lambda f, t: edit_json(json_of(f), mc_seed=7),
        ["mc_seed is 7, but the config's mc.seed is 2023"],
    ),
    (
        "mc_sweep",
        "config chip count",
        lambda f, t: f.expect.update(chips=5),
        ["says 3 chips, but the config's mc.chips is 5"],
    ),
    (
        "mc_sweep",
        "adaptive range",
        lambda f, t: f.expect.update({"min_chips": 5, "max_chips": 10}) or f.expect.pop("chips"),
        ["says 3 chips, but mc.adaptive allows 5..10"],
    ),
    (
        "mc_sweep",
        "another sweep's test set",
        lambda f, t: write_sweep(f.root, "noise_injection", "0.1", "0.1", [100, 90, 80], n=200),
        ["n_test is 200, but", "tested mnist on 256 images"],
    ),
    ("mc_sweep", "JSON of another sweep", lambda f, t: f.jsons.reverse(), ["is paired with", "not with its own JSON"]),
    # old JSONs (no csv_sha256): every check but the checksum still runs
    (
        "mc_sweep_legacy_json",
        "row removed",
        lambda f, t: remove_row(t, 3),
        ["2 chip rows, but test~0.1.json says chips: 3"],
    ),
    ("mc_sweep_legacy_json", "row duplicated", lambda f, t: duplicate_row(t, 2), ["4 chip rows"]),
    ("mc_sweep_legacy_json", "chip index changed", lambda f, t: set_cell(t, 3, "chip", "1.5"), ["chip indices are"]),
    (
        "mc_sweep_legacy_json",
        "NaN accuracy",
        lambda f, t: set_cell(t, 2, "accuracy", ""),
        ["column accuracy is NaN or empty"],
    ),
    (
        "mc_sweep_legacy_json",
        "wrong experiment key",
        lambda f, t: set_cell(t, 2, "sigma_test", "0.2"),
        ["column sigma_test is '0.2'"],
    ),
    # mc_chips.csv (aggregate_mc -> accuracy_data, ablation_data)
    ("mc_chips", "row removed", lambda f, t: remove_row(t, 3), ["method=noise_injection", "missing: 1"]),
    ("mc_chips", "last chip removed", lambda f, t: remove_row(t, 4), ["2 chips, but the config's mc.chips is 3"]),
    ("mc_chips", "row duplicated", lambda f, t: duplicate_row(t, 2), ["duplicated: 0"]),
    ("mc_chips", "chip index changed", lambda f, t: set_cell(t, 3, "chip", "5"), ["missing: 1"]),
    (
        "mc_chips",
        "NaN accuracy",
        lambda f, t: set_cell(t, 2, "accuracy", "nan"),
        ["column accuracy is NaN or empty at line 2"],
    ),
    ("mc_chips", "column removed", lambda f, t: drop_column(t, "confidence"), ["missing column(s) confidence"]),
    (
        "mc_chips",
        "wrong experiment key",
        lambda f, t: set_cell(t, 2, "method", "ovf"),
        ["method=ovf", "1 chips, but the config's mc.chips is 3"],
    ),
    ("mc_chips", "empty key", lambda f, t: set_cell(t, 2, "device", ""), ["column device is empty at line 2"]),
    ("mc_chips", "truncated", lambda f, t: truncate(t), ["truncated"]),
    ("mc_chips", "empty", lambda f, t: empty(t), ["empty file (0 bytes)"]),
    # mc_summary.csv, against mc_chips.csv written by the same job
    ("mc_summary", "row removed", lambda f, t: remove_row(t, 2), ["of mc_chips.csv has no row here"]),
    ("mc_summary", "row duplicated", lambda f, t: duplicate_row(t, 2), ["appears more than once (lines 2, 3)"]),
    (
        "mc_summary",
        "chip count changed",
        lambda f, t: set_cell(t, 2, "chips", "2"),
        ["chips is 2, but mc_chips.csv holds 3 of its chips"],
    ),
    (
        "mc_summary",
        "mean changed",
        lambda f, t: set_cell(t, 2, "mean", "50.000000"),
        ["mean is 50.000000, but its chips in mc_chips.csv average"],
    ),
    ("mc_summary", "NaN ekl", lambda f, t: set_cell(t, 3, "ekl", "nan"), ["column ekl is NaN or empty at line 3"]),
    ("mc_summary", "column removed", lambda f, t: drop_column(t, "mutual_info"), ["missing column(s) mutual_info"]),
    (
        "mc_summary",
        "wrong experiment key",
        lambda f, t: set_cell(t, 2, "seed", "1"),
        ["seed=1,", "is not in mc_chips.csv"],
    ),
    ("mc_summary", "truncated", lambda f, t: truncate(t), ["truncated"]),
    ("mc_summary", "empty", lambda f, t: empty(t), ["empty file (0 bytes)"]),
    # accuracy_curves.csv (accuracy_data -> plots, tables, scorecard)
    ("accuracy_curves", "row duplicated", lambda f, t: duplicate_row(t, 2), ["appears more than once"]),
    (
        "accuracy_curves",
        "NaN mean",
        lambda f, t: set_cell(t, 2, "mean", "nan"),
        ["column mean is NaN or empty at line 2"],
    ),
    (
        "accuracy_curves",
        "text for a number",
        lambda f, t: set_cell(t, 2, "mean", "abc"),
        ["column mean holds text, not a number, at line 2"],
    ),
    (
        "accuracy_curves",
        "NaN CI from 3 chips",
        lambda f, t: set_cell(t, 3, "ci_low", ""),
        ["column ci_low is NaN or empty at line 3 (allowed only where chips < 2)"],
    ),
    (
        "accuracy_curves",
        "CI off the mean",
        lambda f, t: set_cell(t, 3, "ci_low", "99.0"),
        ["does not contain mean at line 3"],
    ),
    ("accuracy_curves", "column removed", lambda f, t: drop_column(t, "ekl"), ["missing column(s) ekl"]),
    ("accuracy_curves", "empty key", lambda f, t: set_cell(t, 2, "method", ""), ["column method is empty at line 2"]),
    ("accuracy_curves", "truncated", lambda f, t: truncate(t), ["truncated"]),
    ("accuracy_curves", "empty", lambda f, t: empty(t), ["empty file (0 bytes)"]),
]


def _case_id(case) -> str:
    return f"{case[0]}: {case[1]}"


@pytest.mark.parametrize(
    "handoff,tamper,fragments", [(c[0], c[2], c[3]) for c in CASES], ids=[_case_id(c) for c in CASES]
)
def test_tampered_file_is_refused_by_its_reader(tmp_path, handoff, tamper, fragments):
    build, read, target = HANDOFFS[handoff]
    files = build(tmp_path)
    read(files)  # the good files pass
    path = target(files)
    tamper(files, path)
    with pytest.raises(HandoffError) as err:
        read(files)
    message = str(err.value)
    named = [str(p) for p in [path, *files.jsons, *files.csvs]]
    assert any(n in message for n in named), f"no file named in: {message}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert "delete" in message or "paired" in message  # what to do


@pytest.mark.parametrize("handoff", sorted(HANDOFFS))
def test_good_files_read_as_before(tmp_path, handoff):
    build, read, target = HANDOFFS[handoff]
    files = build(tmp_path)
    out = read(files)
    if handoff.startswith("mc_sweep"):
        chips, summary = out
        assert len(chips) == 9 and list(chips.columns) == [*KEYS, *MC_COLUMNS]
        assert (summary["chips"] == 3).all()
    else:
        pd.testing.assert_frame_equal(out, read_chips(target(files)))


def test_a_sweep_reads_exactly_as_read_chips_and_its_json_records_the_csv(tmp_path):
    f = mc_files(tmp_path)
    df, stats, legacy = read_mc_sweep(f.csvs[1], f.jsons[1], EXPECT)
    pd.testing.assert_frame_equal(df, read_chips(f.csvs[1]))
    assert not legacy and stats["csv_sha256"] == hashlib.sha256(f.csvs[1].read_bytes()).hexdigest()
    assert stats["chips"] == len(df) == 3 and stats["mc_seed"] == 2023


def test_old_jsons_are_accepted_with_a_note(tmp_path):
    f = mc_files(tmp_path, legacy=True)
    notes = []
    chips, _ = aggregate([str(p) for p in f.csvs], [str(p) for p in f.jsons], EXPECT, log=notes.append)
    assert len(chips) == 9
    assert len(notes) == 1 and "3 of 3 MC JSONs predate csv_sha256" in notes[0] and "rerun that job" in notes[0]


def test_mc_expectation_follows_the_config():
    assert mc_expectation({"chips": 50, "seed": 2023, "adaptive": {"enabled": False}}) == {"seed": 2023, "chips": 50}
    adaptive = {"enabled": True, "min_chips": 20, "max_chips": 1000, "ci_half_width": 0.5}
    assert mc_expectation({"chips": 50, "seed": 1, "adaptive": adaptive}) == {
        "seed": 1,
        "min_chips": 20,
        "max_chips": 1000,
    }
    small = adaptive | {"min_chips": 30, "max_chips": 10}  # the loop ends at max_chips first
    assert mc_expectation({"chips": 50, "seed": 1, "adaptive": small}) == {"seed": 1, "min_chips": 10, "max_chips": 10}


def test_mc_keys_from_path_reads_the_grid_layout():
    ev = Evaluation(Run("resnet18", "tiny_imagenet", "ovf_beta0.01", "RRAM1", "0.025", 3), "0.05", "FeFET6")
    keys = mc_keys_from_path(f"results/mc/{ev.path}.csv")
    assert keys == {
        "model": "resnet18",
        "dataset": "tiny_imagenet",
        "method": "ovf_beta0.01",
        "device": "FeFET6",
        "sigma_train": "0.025",
        "seed": 3,
        "sigma_test": "0.05",
    }
    assert mc_keys_from_path("somewhere/else.csv") is None


# -- ablation, convergence, training logs, data, cards, checkpoints, device fits, report ---------------------------


def ablation_files(root: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    base = 60 + 10 * rng.standard_normal(5)
    rows = [
        ("vgg8", "mnist", m, "RRAM1", "0.1", 0, "0.1", k, base[k] + off)
        for m, off in {"noise_injection": 0, "ovf": 5, "ni_t": 1, "ovf_b0": 3, "ovf_beta0.01": 4}.items()
        for k in range(5)
    ]
    chips = pd.DataFrame(rows, columns=[*KEYS, "chip", "accuracy"])
    decomp = decomposition(chips, ABLATION)
    sweep = beta_sweep(chips, ABLATION, {"ovf": {"kind": "ovf", "params": {"beta": "paper"}}})
    d, s = root / "ablation.csv", root / "ablation_beta_sweep.csv"
    write_csv(decomp, d)
    write_csv(sweep, s)
    record_digests([f"{d}.sha256", f"{s}.sha256"])
    return d, s


def convergence_file(root: Path) -> Path:
    summary = pd.DataFrame(
        [
            ("vgg8", "mnist", "ovf", "RRAM1", "0.1", 2, 1, 55.5, 0.5),
            ("vgg8", "mnist", "ovf", "RRAM1", "0.2", 2, 2, 60, 1.0),
        ],
        columns=["model", "dataset", "method", "device", "sigma", "runs", "converged", "mean_noisy_acc", "probability"],
    )
    path = root / "convergence.csv"
    write_csv(summary, path, float_format="%.4f")
    record_digest(path)
    return path


def train_log_file(root: Path, loss=0.5) -> Path:
    rows = [
        {
            "epoch": e,
            "lr": 1e-3,
            "loss": loss,
            "split": "val",
            "clean_acc": 90.0 + e,
            "noisy_acc": 80.0 + e,
            "seconds": 1.5,
            "selected": e == 2,
        }
        for e in (1, 2, 3)
    ]
    path = root / "train_log.csv"
    write_log(rows, path)
    return path


OTHER_CASES = [
    # ablation.csv and ablation_beta_sweep.csv (ablation_data -> plot_ablation, tabulate_ablation)
    ("ablation", "comparison removed", lambda d, s: remove_row(d, 3), "d", ["lacks comparison(s) temp"]),
    ("ablation", "row duplicated", lambda d, s: duplicate_row(d, 2), "d", ["appears more than once"]),
    (
        "ablation",
        "NaN diff",
        lambda d, s: set_cell(d, 2, "diff", "nan"),
        "d",
        ["column diff is NaN or empty at line 2"],
    ),
    ("ablation", "column removed", lambda d, s: drop_column(d, "ci_high"), "d", ["missing column(s) ci_high"]),
    ("ablation", "truncated", lambda d, s: truncate(d), "d", ["truncated"]),
    ("ablation", "empty", lambda d, s: empty(d), "d", ["empty file (0 bytes)"]),
    (
        "ablation",
        "sweep NaN mean",
        lambda d, s: set_cell(s, 3, "mean", "nan"),
        "s",
        ["column mean is NaN or empty at line 3"],
    ),
    (
        "ablation",
        "sweep row duplicated",
        lambda d, s: duplicate_row(s, 2),
        "s",
        ["beta point", "appears more than once"],
    ),
    (
        "ablation",
        "sweep column removed",
        lambda d, s: drop_column(s, "diff_ci_low"),
        "s",
        ["missing column(s) diff_ci_low"],
    ),
    ("ablation", "sweep truncated", lambda d, s: truncate(s), "s", ["truncated"]),
    # convergence.csv (tabulate_convergence -> plot_convergence, scorecard)
    (
        "convergence",
        "probability off",
        lambda p: set_cell(p, 2, "probability", "0.9000"),
        None,
        ["probability is 0.9 at line 2, but converged / runs is 0.5000"],
    ),
    (
        "convergence",
        "more converged than runs",
        lambda p: set_cell(p, 2, "converged", "3"),
        None,
        ["converged exceeds runs at line 2"],
    ),
    ("convergence", "NaN runs", lambda p: set_cell(p, 3, "runs", ""), None, ["column runs is NaN or empty at line 3"]),
    ("convergence", "row duplicated", lambda p: duplicate_row(p, 2), None, ["appears more than once"]),
    ("convergence", "column removed", lambda p: drop_column(p, "probability"), None, ["missing column(s) probability"]),
    ("convergence", "truncated", lambda p: truncate(p), None, ["truncated"]),
    ("convergence", "empty", lambda p: empty(p), None, ["empty file (0 bytes)"]),
    # train_log.csv (train -> tabulate_convergence), with the config's 3 epochs
    (
        "train_log",
        "row removed",
        lambda p: remove_row(p, 4),
        None,
        ["2 epoch rows, but the config's training.epochs is 3"],
    ),
    (
        "train_log",
        "row duplicated",
        lambda p: duplicate_row(p, 2),
        None,
        ["4 epoch rows", "epochs are 1, 1, 2, 3, expected 1..3"],
    ),
    ("train_log", "epoch changed", lambda p: set_cell(p, 3, "epoch", "5"), None, ["epochs are 1, 5, 3, expected 1..3"]),
    (
        "train_log",
        "NaN accuracy",
        lambda p: set_cell(p, 2, "noisy_acc", "nan"),
        None,
        ["column noisy_acc is NaN or empty at line 2"],
    ),
    (
        "train_log",
        "accuracy above 100",
        lambda p: set_cell(p, 2, "clean_acc", "101"),
        None,
        ["column clean_acc is 101 at line 2, expected at most 100"],
    ),
    ("train_log", "no epoch selected", lambda p: set_cell(p, 3, "selected", "False"), None, ["no epoch is selected"]),
    ("train_log", "column removed", lambda p: drop_column(p, "clean_acc"), None, ["missing column(s) clean_acc"]),
    ("train_log", "truncated", lambda p: truncate(p), None, ["truncated"]),
    ("train_log", "empty", lambda p: empty(p), None, ["empty file (0 bytes)"]),
]


@pytest.mark.parametrize(
    "handoff,tamper,which,fragments", [c[:1] + c[2:] for c in OTHER_CASES], ids=[_case_id(c) for c in OTHER_CASES]
)
def test_tampered_table_is_refused_by_its_reader(tmp_path, handoff, tamper, which, fragments):
    if handoff == "ablation":
        d, s = ablation_files(tmp_path)
        read_ablation(d, s)
        tamper(d, s)
        path, read = (d if which == "d" else s), lambda: read_ablation(d, s)
    elif handoff == "convergence":
        path = convergence_file(tmp_path)
        read_convergence(path)
        tamper(path)
        read = lambda: read_convergence(path)  # noqa: E731
    else:
        path = train_log_file(tmp_path)
        read_train_log(path, 3)
        tamper(path)
        read = lambda: read_train_log(path, 3)  # noqa: E731
    with pytest.raises(HandoffError) as err:
        read()
    message = str(err.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"


def test_a_diverged_training_log_is_a_result_not_a_broken_file(tmp_path):
    log = read_train_log(train_log_file(tmp_path, loss=float("nan")), 3)
    assert log["loss"].isna().all()
    with pytest.raises(HandoffError, match="the config's training.epochs is 2"):
        read_train_log(train_log_file(tmp_path), 2)


def test_an_empty_beta_sweep_is_a_table_without_rows(tmp_path):
    d, s = ablation_files(tmp_path)
    write_csv(pd.DataFrame(), s)  # what ablation_data writes when no beta is swept
    record_digest(s)
    decomp, sweep = read_ablation(d, s)
    assert sweep.empty and not decomp.empty


# prepared.pt (prepare_dataset -> train, evaluate_mc)
def prepared(tmp_path, **over) -> Path:
    g = torch.Generator().manual_seed(0)
    data = {
        "train_x": torch.randint(0, 256, (64, 1, 32, 32), dtype=torch.uint8, generator=g),
        "train_y": torch.randint(0, 10, (64,), generator=g),
        "test_x": torch.randint(0, 256, (32, 1, 32, 32), dtype=torch.uint8, generator=g),
        "test_y": torch.randint(0, 10, (32,), generator=g),
        "classes": [str(i) for i in range(10)],
        "dataset": "mnist",
    } | over
    path = tmp_path / "results/data/mnist/prepared.pt"
    atomic_torch_save(data, path)
    return path


PREPARED_CASES = [
    (
        "label removed",
        {"train_y": torch.zeros(63, dtype=torch.int64)},
        HandoffError,
        ["train_y holds 63 labels, but train_x 64 images"],
    ),
    (
        "label out of range",
        {"test_y": torch.full((32,), 10)},
        HandoffError,
        ["test_y spans 10..10, but mnist has 10 classes"],
    ),
    (
        "float images",
        {"train_x": torch.zeros(64, 1, 32, 32)},
        HandoffError,
        ["train_x is torch.float32 of 4 dimensions, expected uint8"],
    ),
    (
        "no test images",
        {"test_x": torch.zeros(0, 1, 32, 32, dtype=torch.uint8), "test_y": torch.zeros(0, dtype=torch.int64)},
        HandoffError,
        ["test_x holds no images"],
    ),
    ("key removed", {"classes": None}, DatasetError, ["not a prepared dataset file"]),
    ("truncated", "truncate", CheckpointError, ["truncated, corrupt or not a torch file"]),
    ("empty", "empty", CheckpointError, ["cannot load"]),
]


@pytest.mark.parametrize("case,tamper,error,fragments", PREPARED_CASES, ids=[c[0] for c in PREPARED_CASES])
def test_tampered_prepared_dataset_is_refused_by_train_and_mc(tmp_path, case, tamper, error, fragments):
    from neft.jobs.runs import load_splits

    cfg = {"split_seed": 0, "val_size": 16, "test_subset": None}
    load_splits("mnist", {}, str(prepared(tmp_path)), cfg)  # good
    if tamper == "truncate":
        path = prepared(tmp_path)
        truncate(path)
    elif tamper == "empty":
        path = prepared(tmp_path)
        empty(path)
    else:
        over = {k: v for k, v in tamper.items() if v is not None}
        path = prepared(tmp_path, **over)
        if any(v is None for v in tamper.values()):
            data = torch.load(path, weights_only=True)
            for k in [k for k, v in tamper.items() if v is None]:
                data.pop(k)
            atomic_torch_save(data, path)
    with pytest.raises(error) as err:
        load_splits("mnist", {}, str(path), cfg)  # what train_job and mc_job call
    assert str(path) in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_check_prepared_accepts_the_producer_s_file(tmp_path):
    path = prepared(tmp_path)
    check_prepared(load_prepared(path, get_spec("mnist")), path, get_spec("mnist"))


# card.yaml (device_card, fit_device -> train, evaluate_mc)
def test_a_card_under_another_device_s_name_is_refused(tmp_path):
    path = tmp_path / "results/devices/RRAM1/card.yaml"
    devices.get("RRAM1").save(path)
    assert check_card(path).name == "RRAM1"
    devices.get("FeFET2").save(path)
    with pytest.raises(HandoffError, match=r"card.yaml: the card's name is 'FeFET2', expected 'RRAM1'"):
        check_card(path)
    with pytest.raises(HandoffError, match="expected 'RRAM4'"):
        check_card(tmp_path / "results/devices/RRAM1/card.yaml", "RRAM4")
    empty(path)
    with pytest.raises(DeviceCardError, match=str(path)):
        check_card(path)


# model.pt (train -> evaluate_mc): a strict load that names the file (neft.util.io.load_state_dict_strict)
@pytest.mark.parametrize("case", ["key removed", "wrong shape", "truncated", "empty"])
def test_tampered_checkpoint_is_refused_by_mc(tmp_path, case):
    spec = get_spec("mnist")
    state = seeded_model("vgg8", spec, 0.0625, 0).state_dict()
    path = tmp_path / "model.pt"
    atomic_torch_save(state, path)
    load_model("vgg8", 0.0625, spec, str(path))  # good
    first = next(iter(state))
    if case == "key removed":
        atomic_torch_save({k: v for k, v in state.items() if k != first}, path)
        fragment = f"missing keys: {first}"
    elif case == "wrong shape":
        atomic_torch_save(state | {first: torch.zeros(1)}, path)
        fragment = "shape mismatch"
    elif case == "truncated":
        truncate(path)
        fragment = "truncated, corrupt or not a torch file"
    else:
        empty(path)
        fragment = "cannot load"
    with pytest.raises(CheckpointError) as err:
        load_model("vgg8", 0.0625, spec, str(path))
    assert str(path) in str(err.value) and fragment in str(err.value)


# fit.csv + card.yaml (fit_device -> plot_device_fits)
FIT_CASES = [
    ("level removed", lambda p: remove_row(p, 3), ["levels are 0, 2, 3"]),
    (
        "fit of another device",
        lambda p: p.write_text(p.read_text().replace("MyRRAM,", "Other,")),
        ["device is Other, but"],
    ),
    ("NaN residual", lambda p: set_cell(p, 2, "residual", "nan"), ["column residual is NaN or empty at line 2"]),
    (
        "measured std changed",
        lambda p: set_cell(p, 2, "measured_rel_std", "0.5"),
        ["measured_rel_std differs from the one"],
    ),
]


@pytest.mark.parametrize("case,tamper,fragments", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_tampered_device_fit_is_refused_by_its_plot(tmp_path, case, tamper, fragments):
    from neft.core.fitting import fit_file, read_fit_table

    card, table = fit_file(REPO / "resources/device_data/rram_wan2022.csv", "RRAM_Wan2022_1s", "MyRRAM")
    fit, card_path = tmp_path / "fit.csv", tmp_path / "card.yaml"
    write_csv(table, fit, float_format="%.8g")
    card.save(card_path)
    check_device_fit(read_fit_table(fit), fit, card, card_path)
    tamper(fit)
    with pytest.raises(HandoffError) as err:
        check_device_fit(read_fit_table(fit), fit, card, card_path)
    assert str(fit) in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value)


# figures and tables (their rules -> render_report)
def test_report_inputs_must_be_complete(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    png, pdf, md = tmp_path / "a.png", tmp_path / "a.pdf", tmp_path / "a.md"
    fig.savefig(png)
    fig.savefig(pdf)
    plt.close(fig)
    md.write_text("**table**\n")
    check_report_inputs([png, pdf, md])
    for path, tamper, fragment in [
        (png, truncate, "not a complete PNG"),
        (pdf, truncate, "not a complete PDF"),
        (md, truncate, "truncated"),
        (md, empty, r"empty file \(0 bytes\)"),
    ]:
        tamper(path)
        with pytest.raises(HandoffError, match=fragment) as err:
            check_report_inputs([path])
        assert str(path) in str(err.value)


def test_writers_and_readers_agree_on_the_mc_layout():
    from neft.experiment import contracts
    from neft.jobs import runs

    assert runs.MC_COLUMNS == contracts.MC_COLUMNS and list(contracts.MC_KEYS) == KEYS


# -- through the Snakemake CLI -------------------------------------------------------------------------------------
SMALL = (
    "experiments: {methods: [plain]}\n"
    "ablation: {enabled: false}\nconvergence: {enabled: false}\ndevice_study: {enabled: false}\n"
    "training: {epochs: 1}\n"
)
TEST_PRESET = "config/presets/test.yaml"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A directory where a small test-scale run (W/O Noise only, one epoch) has built the accuracy table."""
    work = tmp_path_factory.mktemp("handoff_finished")
    (work / "small.yaml").write_text(SMALL)
    snakemake("table_accuracy", "--cores", "2", "--configfile", str(REPO / TEST_PRESET), "small.yaml", cwd=work)
    return work


def _rerun(work: Path):
    return snakemake(
        "table_accuracy", "--cores", "2", "--configfile", str(REPO / TEST_PRESET), "small.yaml", cwd=work, check=False
    )


def _state(work: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(work)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted((work / "results").rglob("*"))
        if p.is_file()
    }


def _touch_newer(path: Path) -> None:
    t = path.stat().st_mtime + 5
    os.utime(path, (t, t))


@pytest.mark.workflow
def test_cli_a_chip_row_removed_from_a_finished_sweep_stops_aggregation(finished, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(finished, work, symlinks=True)
    csv = work / "results/mc/vgg8/mnist/plain/RRAM1/sigma~0/seed~0/test~0.1.csv"
    stats = json.loads(csv.with_suffix(".json").read_text())  # what the real MC job records beside its CSV
    assert stats["csv_sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest() and stats["mc_seed"] == 2023
    assert stats["chips"] == 3
    before = _state(work)
    remove_row(csv, 3)
    _touch_newer(csv)
    proc = _rerun(work)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "results/mc/vgg8/mnist/plain/RRAM1/sigma~0/seed~0/test~0.1.csv: " in out
    assert "2 chip rows, but test~0.1.json says chips: 3" in out
    after = _state(work)
    aggregated = {f"results/tables/{t}.csv{d}" for t in ("mc_chips", "mc_summary") for d in ("", ".sha256")}
    for name, value in before.items():
        if name == str(csv.relative_to(work)):
            continue
        if name in aggregated and name not in after:
            continue  # the failed aggregate_mc's outputs: removed by Snakemake, never rewritten from bad rows
        assert after.get(name) == value, f"{name} was touched"
    assert not math.isnan(pd.read_csv(work / "results/tables/accuracy.csv")["mean"].iloc[0])


@pytest.mark.workflow
def test_cli_a_column_removed_from_the_curves_stops_the_table(finished, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(finished, work, symlinks=True)
    curves = work / "results/tables/accuracy_curves.csv"
    before = (work / "results/tables/accuracy.md").read_bytes()
    drop_column(curves, "p5")
    _touch_newer(curves)
    proc = _rerun(work)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "results/tables/accuracy_curves.csv: missing column(s) p5" in out
    assert (
        not (work / "results/tables/accuracy.md").exists()
        or (work / "results/tables/accuracy.md").read_bytes() == before
    )
