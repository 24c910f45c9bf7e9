"""Hand-offs whose numbers nobody checked (issue 26, class 2): every file one rule hands another is verified by its
reader against the digest its writer recorded beside it (``<file>.sha256``; the MC sweeps keep theirs in their JSON)
and against what the config says it must hold (``neft.experiment.grid``: the grid's points, the model's zeros).

The filed examples were: a row deleted from ``accuracy_curves.csv`` silently dropped its point from the accuracy
table; an ``ekl`` edited in ``mc_summary.csv`` went into the uncertainty table (W/O Noise at 0.5 nats at sigma 0,
where identical chips have none); an edited probe JSON went into its table, and a text value gave a bare
``ValueError``. Each class below has several members beyond its example; a case either leaves the digest as the job
wrote it (an edit) or records it again (``resign``: a writer that wrote a wrong file), so that only the config's or
the model's check can catch it. Every case asserts a ``HandoffError`` (never another error) whose message names the
file, the key or row, and what to do. The last tests check the DAG: each rule that reads a digested file takes its
digest too, and a finished run refuses an edited table.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neft.analysis.results import accuracy_curves, aggregate, read_chips, write_csv
from neft.experiment import grid
from neft.experiment.contracts import LADDER_COLUMNS, STUDY_COLUMNS
from neft.experiment.handoff import read_curves, read_mc_chips, read_mc_summary
from neft.experiment.inputs import check_report_inputs
from neft.experiment.study_handoff import read_ablation, read_convergence, read_ladder, read_probes, read_study_table
from neft.experiment.tablecheck import (
    HandoffError,
    check_digests,
    digest_path,
    digest_writer,
    record_digest,
    record_digests,
)
from neft.jobs.runs import write_chip_csv

from .conftest import REPO, snakemake
from .test_handoff import (
    TEST_PRESET,
    _rerun,
    _touch_newer,
    ablation_files,
    convergence_file,
    duplicate_row,
    finished,  # noqa: F401 - the fixture: a small finished test-scale run
    remove_row,
    set_cell,
)

#: the config of the files below, as the validated config holds it (only what neft.experiment.grid reads)
CONFIG = {
    "experiments": {"pairs": [{"model": "vgg8", "dataset": "mnist"}], "methods": ["plain", "noise_injection"]}
    | {"devices": ["RRAM1"], "seeds": [0]},
    "methods": {
        "plain": {"kind": "plain", "label": "W/O Noise", "train_at": "zero", "test_at": "grid"},
        "noise_injection": {"kind": "noise_injection", "label": "W/ Noise", "train_at": "nonzero", "test_at": "train"}
        | {"zero_from": "plain"},
        "ovf": {"kind": "ovf", "label": "OVF", "train_at": "all", "test_at": "train"},  # the convergence study's
    },
    "sigmas": [0, 0.1],
    "ablation": {"enabled": False, "beta_sweep": {}},
    "device_study": {"enabled": False},
    "convergence": {"enabled": True, "methods": ["ovf"], "sigmas": [0.1, 0.2], "seeds": [0, 1]},
    "mc": {"full_grid": False},
}
EXPECT = {"seed": 2023, "chips": 3}
PROBE = {"steps": 5, "step": 0.05, "radius_quantile": 0.99}
N = 256
#: (method, sigma_train, sigma_test, correct per chip): W/O Noise on its grid, W/ Noise at its training sigma
SWEEPS = [
    ("plain", "0", "0", [200, 200, 200]),
    ("plain", "0", "0.1", [120, 150, 90]),
    ("noise_injection", "0.1", "0.1", [180, 170, 190]),
]


def sweep(root: Path, method: str, sigma_train: str, sigma_test: str, correct: list[int]) -> tuple[Path, Path]:
    """One MC sweep's CSV and JSON as ``neft.jobs.runs.mc_job`` writes them; at sigma 0 every chip is the noise-free
    model (one row repeated, no expected KL, no mutual information), as ``neft.core.mc.ChipEvaluator`` makes it."""
    ev = grid.Evaluation(grid.Run("vgg8", "mnist", method, "RRAM1", sigma_train, 0), sigma_test)
    keys = {"model": "vgg8", "dataset": "mnist", "method": method, "device": "RRAM1", "sigma_train": sigma_train}
    keys |= {"seed": 0, "sigma_test": sigma_test}
    clean = sigma_test == "0"
    rows = [
        {"chip": k, "correct": c, "n": N, "accuracy": 100.0 * c / N, "confidence": 0.8 + (0 if clean else 0.01 * k)}
        | {"confidence_correct": 0.9}
        for k, c in enumerate(correct)
    ]
    csv = root / f"results/mc/{ev.path}.csv"
    sha = write_chip_csv(rows, keys, csv)
    stats = keys | {"chips": len(rows), "ekl": 0.0 if clean else 0.02, "mutual_info": 0.0 if clean else 0.01}
    stats |= {"n_test": N, "mc_seed": 2023, "csv_sha256": sha}
    csv.with_suffix(".json").write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
    return csv, csv.with_suffix(".json")


def probe_json(root: Path, csv: Path, **over) -> Path:
    """A worst-case probe's JSON as ``neft.jobs.runs.probe_job`` writes it (from the main sweep ``csv``), with its
    digest as rule probe_worst_case records it."""
    acc = pd.read_csv(csv).sort_values("chip")["accuracy"].to_numpy()
    p1, found = float(np.percentile(acc, 1)), 50.0
    data = json.loads(csv.with_suffix(".json").read_text())
    data = {k: data[k] for k in ("model", "dataset", "method", "device", "sigma_train", "seed", "sigma_test")}
    data |= {"mc_seed": 2023, "dims": 51012, "radius": 227.5, "radius_quantile": 0.99, "steps": 5, "step": 0.05}
    data |= {"start_chip": int(acc.argmin()), "start_accuracy": float(acc.min()), "start_norm": 226.0}
    data |= {"sampled_chips": len(acc), "sampled_mean": float(acc.mean()), "sampled_p1": p1}
    data |= {"sampled_worst": float(acc.min()), "found_accuracy": found, "found_step": 3, "found_norm": 227.5}
    data |= {"found_norm_quantile": 0.99, "below_p1": p1 - found} | over
    path = root / ("results/probe/" + csv.relative_to(root / "results/mc").with_suffix(".json").as_posix())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    record_digest(path)
    return path


@dataclass
class Files:
    root: Path
    csvs: list[Path] = field(default_factory=list)
    jsons: list[Path] = field(default_factory=list)
    probe: Path | None = None

    def table(self, name: str) -> Path:
        return self.root / "results/tables" / name


def build(root: Path) -> Files:
    """The MC sweeps, what aggregate_mc and accuracy_data write from them (each table with its digest), a probe."""
    f = Files(root)
    for spec in SWEEPS:
        csv, js = sweep(root, *spec)
        f.csvs.append(csv)
        f.jsons.append(js)
    chips, summary = aggregate([str(p) for p in f.csvs], [str(p) for p in f.jsons], EXPECT)
    write_csv(chips, f.table("mc_chips.csv"))
    write_csv(summary, f.table("mc_summary.csv"))
    record_digests([f.table("mc_chips.csv.sha256"), f.table("mc_summary.csv.sha256")])
    curves = accuracy_curves(
        read_chips(f.table("mc_chips.csv")), read_chips(f.table("mc_summary.csv")), CONFIG["methods"], [0, 0.1]
    )
    write_csv(curves, f.table("accuracy_curves.csv"))
    record_digest(f.table("accuracy_curves.csv"))
    f.probe = probe_json(root, f.csvs[2])
    return f


def resign(path: Path) -> None:
    """Record the file's digest again: as if its writer had written it so (only the config's checks can tell)."""
    record_digest(path)


def set_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    for k, v in changes.items():
        if v is ...:
            data.pop(k)
        else:
            data[k] = v
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def _chips(f: Files):
    return read_mc_chips(f.table("mc_chips.csv"), EXPECT, grid.sweep_keys(CONFIG))


READERS = {
    "mc_chips.csv": (_chips, lambda f: f.table("mc_chips.csv")),
    "mc_summary.csv": (
        lambda f: read_mc_summary(
            f.table("mc_summary.csv"), _chips(f), f.table("mc_chips.csv"), grid.sweep_keys(CONFIG)
        ),
        lambda f: f.table("mc_summary.csv"),
    ),
    "accuracy_curves.csv": (
        lambda f: read_curves(f.table("accuracy_curves.csv"), grid.curve_points(CONFIG), EXPECT),
        lambda f: f.table("accuracy_curves.csv"),
    ),
    "probe JSON": (
        lambda f: read_probes([str(f.probe)], PROBE, EXPECT, [(str(f.csvs[2]), str(f.jsons[2]))]),
        lambda f: f.probe,
    ),
}

EDITED = "the file was changed after its job wrote it"
CURVE = "model=vgg8, dataset=mnist, device=RRAM1"
# (reader, case, tamper(target path, files), fragments the message must hold besides the file's path)
CASES = [
    # accuracy_curves.csv (accuracy_data -> every accuracy, uncertainty, confidence and device figure and table)
    (
        "accuracy_curves.csv",
        "row deleted",
        lambda t, f: remove_row(t, 5),
        [f"point ({CURVE}, method=noise_injection, sigma=0.1) is missing", "this file 3 of them", EDITED],
    ),
    (
        "accuracy_curves.csv",
        "row deleted, digest recorded again",
        lambda t, f: (remove_row(t, 2), resign(t)),
        [f"point ({CURVE}, method=plain, sigma=0) is missing: the config's grid has 4 points, this file 3 of them"],
    ),
    (
        "accuracy_curves.csv",
        "row duplicated",
        lambda t, f: (duplicate_row(t, 3), resign(t)),
        [f"point ({CURVE}, method=plain, sigma=0.1) appears more than once (lines 3, 4)"],
    ),
    (
        "accuracy_curves.csv",
        "a point the grid lacks",
        lambda t, f: (set_cell(t, 3, "method", "ovf"), resign(t)),
        ["method=plain, sigma=0.1) is missing", f"point ({CURVE}, method=ovf, sigma=0.1) at line 3 is not in"],
    ),
    ("accuracy_curves.csv", "mean edited", lambda t, f: set_cell(t, 3, "mean", "55.000000"), ["its sha256 is", EDITED]),
    (
        "accuracy_curves.csv",
        "nonzero ekl at sigma 0",
        lambda t, f: (set_cell(t, 2, "ekl", "0.500000"), resign(t)),
        [f"point ({CURVE}, method=plain, sigma=0) (line 2): ekl is 0.5, but it must be 0"],
    ),
    (
        "accuracy_curves.csv",
        "nonzero mutual information at sigma 0",
        lambda t, f: (set_cell(t, 4, "mutual_info", "0.010000"), resign(t)),
        ["method=noise_injection, sigma=0) (line 4): mutual_info is 0.01, but it must be 0"],
    ),
    (
        "accuracy_curves.csv",
        "another source run",
        lambda t, f: (set_cell(t, 4, "source_method", "noise_injection"), resign(t)),
        ["method=noise_injection, sigma=0) (line 4): source_method is 'noise_injection', but the config's grid says"],
    ),
    (
        "accuracy_curves.csv",
        "chips off the config",
        lambda t, f: (set_cell(t, 3, "chips", "2"), resign(t)),
        ["column chips is 2 at line 3, but 1 seed(s) x the config's mc.chips 3 is 3"],
    ),
    (
        "accuracy_curves.csv",
        "text for a number",
        lambda t, f: set_cell(t, 3, "ekl", "many"),
        ["column ekl holds text, not a number, at line 3 ('many')"],
    ),
    (
        "accuracy_curves.csv",
        "digest missing",
        lambda t, f: digest_path(t).unlink(),
        ["no digest beside it (accuracy_curves.csv.sha256, which rule accuracy_data writes with it, is missing)"],
    ),
    (
        "accuracy_curves.csv",
        "digest of another file",
        lambda t, f: digest_path(t).write_text(digest_path(f.table("mc_chips.csv")).read_text()),
        ["its digest accuracy_curves.csv.sha256 is not one line '<sha256>  accuracy_curves.csv'"],
    ),
    # mc_summary.csv and mc_chips.csv (aggregate_mc -> accuracy_data, ablation_data, crosscheck, worst_chips, scorecard)
    (
        "mc_summary.csv",
        "ekl edited at sigma 0",
        lambda t, f: set_cell(t, 3, "ekl", "0.500000"),
        ["(line 3): ekl is 0.5, but it must be 0", "sigma_test 0: every chip is the noise-free model", EDITED],
    ),
    (
        "mc_summary.csv",
        "nonzero ekl at sigma 0, digest recorded again",
        lambda t, f: (set_cell(t, 3, "ekl", "0.500000"), resign(t)),
        ["sweep (model=vgg8, dataset=mnist, method=plain, device=RRAM1, sigma_train=0, seed=0, sigma_test=0) (line 3):"]
        + ["ekl is 0.5, but it must be 0 (|ekl| <= 1e-06)"],
    ),
    (
        "mc_summary.csv",
        "nonzero mutual information at sigma 0",
        lambda t, f: (set_cell(t, 3, "mutual_info", "0.100000"), resign(t)),
        ["mutual_info is 0.1, but it must be 0"],
    ),
    ("mc_summary.csv", "ekl edited at sigma 0.1", lambda t, f: set_cell(t, 4, "ekl", "0.900000"), [EDITED]),
    (
        "mc_summary.csv",
        "row deleted, digest recorded again",
        lambda t, f: (remove_row(t, 2), resign(t)),
        ["sweep (model=vgg8, dataset=mnist, method=noise_injection, device=RRAM1, sigma_train=0.1, seed=0, sigma_test"]
        + ["=0.1) is missing: the config's grid has 3 sweeps, this file 2 of them"],
    ),
    (
        "mc_summary.csv",
        "text for a number",
        lambda t, f: set_cell(t, 3, "ekl", "high"),
        ["column ekl holds text, not a number, at line 3 ('high')"],
    ),
    (
        "mc_chips.csv",
        "a sweep deleted, digest recorded again",
        lambda t, f: ([remove_row(t, 5) for _ in range(3)], resign(t)),
        ["method=plain, device=RRAM1, sigma_train=0, seed=0, sigma_test=0) is missing: the config's grid has 3 sweeps"],
    ),
    (
        "mc_chips.csv",
        "a sweep the grid lacks",
        lambda t, f: ([set_cell(t, line, "seed", "1") for line in (8, 9, 10)], resign(t)),
        ["seed=1, sigma_test=0.1) at lines 8, 9, 10 is not in the config's grid"],
    ),
    ("mc_chips.csv", "accuracy edited", lambda t, f: set_cell(t, 6, "confidence", "0.900000"), [EDITED]),
    # the worst-case probe's JSON (probe_worst_case -> tabulate_probe)
    (
        "probe JSON",
        "found accuracy edited",
        lambda t, f: set_json(t, found_accuracy=5.0),
        ["below_p1 is", "but sampled_p1 - found_accuracy is", EDITED, "rule probe_worst_case"],
    ),
    ("probe JSON", "norm edited", lambda t, f: set_json(t, found_norm=200.0), ["its sha256 is", EDITED]),
    (
        "probe JSON",
        "text value",
        lambda t, f: (set_json(t, found_accuracy="12.5 %"), resign(t)),
        ["found_accuracy is '12.5 %' (str), expected a number"],
    ),
    (
        "probe JSON",
        "null value",
        lambda t, f: (set_json(t, found_norm=None), resign(t)),
        ["found_norm is None (NoneType), expected a number"],
    ),
    (
        "probe JSON",
        "missing key",
        lambda t, f: (set_json(t, found_norm_quantile=...), resign(t)),
        ["missing field(s) found_norm_quantile"],
    ),
    (
        "probe JSON",
        "out of range",
        lambda t, f: (set_json(t, found_norm_quantile=1.5), resign(t)),
        ["found_norm_quantile is 1.5, expected at most 1"],
    ),
    (
        "probe JSON",
        "sampled chips disagree with the sweep",
        lambda t, f: (set_json(t, sampled_mean=50.0), resign(t)),
        ["sampled_mean is 50.0, but the 3 chips of test~0.1.csv it started from give 70.3125"],
    ),
    (
        "probe JSON",
        "another config's steps",
        lambda t, f: (set_json(t, steps=40, found_step=30), resign(t)),
        ["steps is 40, but the config's worst_case_probe.steps is 5"],
    ),
    (
        "probe JSON",
        "key off its path",
        lambda t, f: (set_json(t, method="ovf"), resign(t)),
        ["method is 'ovf', but its path says 'noise_injection'"],
    ),
    (
        "probe JSON",
        "start chip not sampled",
        lambda t, f: (set_json(t, start_chip=7), resign(t)),
        ["start_chip is 7, but only chips 0..2 were sampled"],
    ),
    (
        "probe JSON",
        "its sweep edited",
        lambda t, f: set_cell(f.csvs[2], 2, "confidence", "0.700000"),
        ["test~0.1.csv: ", "the CSV was changed after its job wrote it"],
    ),
]


def _id(case) -> str:
    return f"{case[0]}: {case[1]}"


@pytest.mark.parametrize("reader,tamper,fragments", [c[:1] + c[2:] for c in CASES], ids=[_id(c) for c in CASES])
def test_a_file_that_is_not_what_its_job_wrote_or_the_config_implies_is_refused(tmp_path, reader, tamper, fragments):
    read, target = READERS[reader]
    files = build(tmp_path)
    read(files)  # the files as their jobs wrote them pass
    path = target(files)
    tamper(path, files)
    with pytest.raises(Exception) as err:
        read(files)
    assert err.type is HandoffError, f"{err.type.__name__}: {err.value}"  # never a bare ValueError or KeyError
    message = str(err.value)
    assert any(str(p) in message for p in (path, *files.csvs, *files.jsons)), f"no file named in: {message}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert "delete" in message, message  # what to do


def test_the_grid_expectations_are_what_the_tables_hold(tmp_path):
    """What the readers are given (``neft.experiment.grid``) is exactly what the real writers produce here."""
    f = build(tmp_path)
    swept = [["vgg8", "mnist", method, "RRAM1", train, 0, test] for method, train, test, _ in SWEEPS]
    assert sorted(grid.sweep_keys(CONFIG)) == sorted(swept)
    assert len(read_mc_chips(f.table("mc_chips.csv"), EXPECT, grid.sweep_keys(CONFIG))) == 9
    curves = read_curves(f.table("accuracy_curves.csv"), grid.curve_points(CONFIG), EXPECT)
    assert len(curves) == len(grid.curve_points(CONFIG)) == 4
    assert grid.convergence_points(CONFIG) == [
        ["vgg8", "mnist", "ovf", "RRAM1", "0.1", 2],
        ["vgg8", "mnist", "ovf", "RRAM1", "0.2", 2],
    ]
    table = read_probes([str(f.probe)], PROBE, EXPECT, [(str(f.csvs[2]), str(f.jsons[2]))])
    assert table.method.tolist() == ["noise_injection"] and table.sampled_chips.tolist() == [3]


# -- the other digested tables: the ablation, convergence, study and ladder tables, the tables summarize cites ----
def study_file(root: Path) -> tuple[Path, list]:
    rows = [
        ("vgg8", "mnist", "RRAM1", "read_noise", level, np.nan, "0.1", m, 1, 3, mean, mean - 2, mean + 2, mean - 3)
        + ("noise_injection", np.nan, np.nan, np.nan, "(the baseline)")
        for level, mean in (("off", 60.0), ("0.05", 55.0))
        for m in ("noise_injection", "ovf")
    ]
    path = root / "nonidealities.csv"
    write_csv(pd.DataFrame(rows, columns=list(STUDY_COLUMNS)), path, float_format="%.4f")
    record_digest(path)
    return path, [["vgg8", "mnist", "read_noise", lv, m] for lv in ("off", "0.05") for m in ("noise_injection", "ovf")]


def ladder_files(root: Path) -> tuple[Path, Path, list]:
    rows = [
        ("0.0625", e, "0.4", "0.3", m, 2, 50.0 + e, 45.0 + e, 55.0 + e, 40.0 + e)
        for e in (1, 2)
        for m in ("plain", "ovf")
    ]
    acc, decomp = root / "ladder.csv", root / "ladder_decomposition.csv"
    write_csv(pd.DataFrame(rows, columns=list(LADDER_COLUMNS)), acc, float_format="%.4f")
    write_csv(pd.DataFrame(), decomp)
    record_digests([f"{acc}.sha256", f"{decomp}.sha256"])
    return acc, decomp, [["0.0625", e, "0.4", m] for e in (1, 2) for m in ("plain", "ovf")]


def _ablation(root):
    d, s = ablation_files(root)
    points = [["vgg8", "mnist", "RRAM1", i, "0.1"] for i in ("ovf",)]
    return (lambda: read_ablation(d, s, points)), d


def _convergence(root):
    path = convergence_file(root)
    points = [["vgg8", "mnist", "ovf", "RRAM1", s, 2] for s in ("0.1", "0.2")]
    return (lambda: read_convergence(path, points)), path


def _study(root):
    path, points = study_file(root)
    return (lambda: read_study_table(path, points)), path


def _ladder(root):
    acc, decomp, points = ladder_files(root)
    return (lambda: read_ladder(acc, decomp, points)), acc


def _cited(root):
    path = root / "accuracy.csv"
    path.write_text("model,dataset,method,sigma,mean\nvgg8,mnist,plain,0,80.4688\n")
    record_digest(path)
    return (lambda: check_digests([path])), path


def _report(root):
    path = root / "headline.csv"
    path.write_text("method,gain\novf,3.5000\n")
    record_digest(path)
    return (lambda: check_report_inputs([path])), path


TABLES = {"ablation": _ablation, "convergence": _convergence, "study": _study, "ladder": _ladder}
TABLES |= {"summarize's table": _cited, "report's table": _report}
OTHER_CASES = [
    ("ablation", "diff edited", lambda t: set_cell(t, 2, "diff", "9.000000"), [EDITED, "rule ablation_data"]),
    (
        "ablation",
        "an instance the config lacks",
        lambda t: ([set_cell(t, line, "instance", "irs") for line in (2, 3, 4, 5)], resign(t)),
        ["comparison point (model=vgg8, dataset=mnist, device=RRAM1, instance=ovf, sigma=0.1) is missing"],
    ),
    (
        "convergence",
        "row deleted, digest recorded again",
        lambda t: (remove_row(t, 3), resign(t)),
        ["row (model=vgg8, dataset=mnist, method=ovf, device=RRAM1, sigma=0.2) is missing"],
    ),
    (
        "convergence",
        "runs off the config",
        lambda t: (set_cell(t, 3, "runs", "3"), set_cell(t, 3, "probability", "0.6667"), resign(t)),
        ["sigma=0.2) (line 3): runs is 3, but the config's convergence study trains 2"],
    ),
    ("convergence", "probability edited", lambda t: set_cell(t, 2, "converged", "2"), [EDITED, "converged / runs"]),
    (
        "study",
        "row deleted, digest recorded again",
        lambda t: (remove_row(t, 5), resign(t)),
        ["row (model=vgg8, dataset=mnist, study=read_noise, level=0.05, method=ovf) is missing"],
    ),
    ("study", "mean edited", lambda t: set_cell(t, 2, "mean", "61.0000"), [EDITED, "rule tabulate_nonidealities"]),
    ("study", "text for a number", lambda t: set_cell(t, 3, "p1", "low"), ["column p1 holds text, not a number"]),
    (
        "ladder",
        "row deleted, digest recorded again",
        lambda t: (remove_row(t, 2), resign(t)),
        ["rung point (width=0.0625, epochs=1, paper_sigma=0.4, method=plain) is missing", "the config's scale_study"],
    ),
    ("ladder", "mean edited", lambda t: set_cell(t, 3, "mean", "99.0000"), [EDITED, "rule tabulate_ladder"]),
    ("summarize's table", "mean edited", lambda t: set_cell(t, 2, "mean", "90.0000"), [EDITED, "tabulate_accuracy"]),
    ("report's table", "gain edited", lambda t: set_cell(t, 2, "gain", "9.0000"), [EDITED, "rule scorecard"]),
]


@pytest.mark.parametrize(
    "table,tamper,fragments", [c[:1] + c[2:] for c in OTHER_CASES], ids=[_id(c) for c in OTHER_CASES]
)
def test_every_digested_table_is_refused_when_edited_or_off_the_config(tmp_path, table, tamper, fragments):
    read, path = TABLES[table](tmp_path)
    read()
    tamper(path)
    with pytest.raises(Exception) as err:
        read()
    assert err.type is HandoffError, f"{err.type.__name__}: {err.value}"
    message = str(err.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert "delete" in message, message


# -- the DAG: a rule that reads a digested file takes its digest; the writer records what its rule declares --------
ALL_STUDIES = (
    "worst_case_probe: {enabled: true, methods: [noise_injection, ovf], sigma: 0.1, steps: 5}\n"
    "scale_study:\n  enabled: true\n  methods: [plain, noise_injection, ovf]\n  seeds: [0]\n"
    "  rungs: [{width: 0.0625, epochs: 1}, {width: 0.0625, epochs: 2}]\n"
)


def _jobs(dry_run: str) -> list[tuple[str, list[str], list[str]]]:
    jobs = []
    for m in re.finditer(r"^rule (\w+):\n((?:    .*\n)*)", dry_run, re.M):
        fields = dict(re.findall(r"^    (input|output): (.*)$", m[2], re.M))
        inputs, outputs = ([x.strip() for x in fields.get(k, "").split(",") if x.strip()] for k in ("input", "output"))
        jobs.append((m[1], inputs, outputs))
    return jobs


@pytest.mark.workflow
def test_every_reader_of_a_digested_file_takes_its_digest(tmp_path):
    (tmp_path / "all.yaml").write_text(ALL_STUDIES)
    args = ("--configfile", str(REPO / TEST_PRESET), str(tmp_path / "all.yaml"))
    out = snakemake("reproduce_all", "table_worst_case_probe", "scale_study", "-n", *args, cwd=tmp_path).stdout
    jobs = _jobs(out)
    digested = {o[: -len(".sha256")] for _, _, outs in jobs for o in outs if o.endswith(".sha256")}
    assert {f"results/tables/{t}.csv" for t in ("mc_chips", "mc_summary", "accuracy_curves", "ablation")} <= digested
    assert any(d.startswith("results/probe/") for d in digested) and "results/tables/ladder.csv" in digested
    readers = 0
    for rule, inputs, outputs in jobs:
        for o in outputs:  # the writer of a digest writes its file, and the messages name that writer
            assert not o.endswith(".sha256") or o[: -len(".sha256")] in outputs, (rule, o)
            assert not o.endswith(".sha256") or digest_writer(o[: -len(".sha256")]) == rule, (rule, o)
        for i in inputs:
            # target rules (no outputs) only ask for files; render_report checks a digest where one lies beside a table
            if i in digested and outputs and rule != "render_report":
                readers += 1
                assert f"{i}.sha256" in inputs, f"rule {rule} reads {i} without its digest"
    assert readers >= 25


@pytest.mark.workflow
@pytest.mark.parametrize(
    "table,line,column,value,fragments",
    [
        # the filed example: an ekl edited in mc_summary.csv went into the uncertainty table
        ("mc_summary.csv", 2, "ekl", "0.500000", ["ekl is 0.5, but it must be 0", EDITED, "rule aggregate_mc"]),
        # the filed example: a row deleted from accuracy_curves.csv dropped its point from the accuracy table
        (
            "accuracy_curves.csv",
            3,
            None,
            None,
            ["point (model=vgg8, dataset=mnist, device=RRAM1, method=plain, sigma=0.1)"],
        ),
    ],
    ids=["ekl edited in mc_summary.csv", "row deleted from accuracy_curves.csv"],
)
def test_cli_an_edited_table_stops_the_run_and_no_table_shows_it(
    finished,  # noqa: F811 - the fixture imported above
    tmp_path,
    table,
    line,
    column,
    value,
    fragments,
):
    work = tmp_path / "work"
    shutil.copytree(finished, work, symlinks=True)
    path = work / "results/tables" / table
    before = (work / "results/tables/accuracy.csv").read_bytes()
    if column is None:
        remove_row(path, line)
    else:
        set_cell(path, line, column, value)
    _touch_newer(path)
    proc = _rerun(work)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert f"results/tables/{table}: " in out, out[-3000:]
    for fragment in fragments:
        assert fragment in out, f"{fragment!r} not in: {out[-3000:]}"
    accuracy = work / "results/tables/accuracy.csv"
    assert not accuracy.exists() or accuracy.read_bytes() == before  # never rewritten from the edited table
