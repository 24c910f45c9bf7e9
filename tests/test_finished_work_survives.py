"""Issue 12, class 5: a bad input never destroys finished trainings.

Two lines of defence, each tested through the Snakemake CLI in a directory where a small test-scale run finished:

- ``neft.workflow.preflight`` (the ``onstart`` hook): an unreadable intermediate file (corrupt or truncated prepared
data, a
  damaged checkpoint, a broken card) with a newer modification time stops the run before any job starts, so
  Snakemake removes nothing; the message names the file.
- ``neft.jobs.keep``: a training whose outputs Snakemake removed anyway (an input that is readable but wrong, or
  rewritten with the same bytes) is restored from its kept copy as soon as its inputs are byte-identical to the
  finished training's again, without training.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import torch

from neft.jobs import keep
from neft.workflow import preflight

from .conftest import REPO, snakemake

TEST_PRESET = REPO / "config/presets/test.yaml"
SMALL = (
    "experiments: {methods: [plain, noise_injection]}\n"
    "ablation: {enabled: false}\nconvergence: {enabled: false}\ndevice_study: {enabled: false}\n"
    "training: {epochs: 1}\n"
)
PREPARED = "results/data/mnist/prepared.pt"


def run(work: Path, *extra: str):
    return snakemake(
        "table_accuracy", "--cores", "2", "--configfile", str(TEST_PRESET), "small.yaml", *extra, cwd=work, check=False
    )


def models(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every finished training output with its mtime and bytes."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted((root / "results/models").rglob("*"))
        if p.is_file() and p.name in ("model.pt", "train_log.csv") and keep.KEPT not in p.parts
    }


def newer(path: Path) -> None:
    """Newer than every output of the finished run (those are older: copied with their times), but not in the
    future: an output a job writes (or restores) within a future input's lead would be refused as clock skew."""
    time.sleep(0.01)
    now = time.time()
    os.utime(path, (now, now))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    work = tmp_path_factory.mktemp("finished")
    (work / "small.yaml").write_text(SMALL)
    proc = run(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(models(work)) == 4  # two trainings, model + log each
    return work


@pytest.fixture
def work(finished, tmp_path):
    copy = tmp_path / "work"
    shutil.copytree(finished, copy, symlinks=True)
    return copy


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00not a torch file\xff" * 100)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _bad_card(path: Path) -> None:
    path.write_text("name: RRAM1\nbits_per_weight: [8\n")


def _first_model(root: Path) -> Path:
    return next(p for p in sorted((root / "results/models").rglob("model.pt")) if keep.KEPT not in p.parts)


@pytest.mark.workflow
@pytest.mark.slow
@pytest.mark.parametrize(
    "target,damage",
    [
        (PREPARED, _garbage),
        (PREPARED, _truncate),
        (PREPARED, _flip_a_byte),
        ("results/devices/RRAM1/card.yaml", _bad_card),
        ("<first model>", _truncate),
    ],
    ids=[
        "prepared data garbage",
        "prepared data truncated",
        "prepared data with a flipped byte",
        "card not YAML",
        "checkpoint truncated",
    ],
)
def test_an_unreadable_newer_input_stops_the_run_before_anything_is_removed(work, target, damage):
    path = _first_model(work) if target == "<first model>" else work / target
    damage(path)
    newer(path)
    before = {k: v for k, v in models(work).items() if k != str(path.relative_to(work))}
    proc = run(work)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "stopped before any job ran, so no finished file was removed" in out, out[-3000:]
    assert str(path.relative_to(work)) in out
    assert {k: v for k, v in models(work).items() if k in before} == before


@pytest.mark.workflow
@pytest.mark.slow
def test_trainings_removed_by_a_wrong_input_come_back_without_training(work):
    """A prepared file that is intact but wrong passes the preflight; its trainings fail and Snakemake has removed
    their outputs. With the original file back (newer again), the trainings are restored from their kept copies:
    same bytes, no epoch trained."""
    before = models(work)
    original = work / PREPARED
    saved = original.read_bytes()
    torch.save({"not": torch.zeros(1)}, original)
    newer(original)
    proc = run(work)
    assert proc.returncode != 0
    assert "not a prepared dataset file" in proc.stdout + proc.stderr
    assert not any(work.joinpath(k).exists() for k in before if k.endswith("model.pt"))  # removed by Snakemake
    original.write_bytes(saved)
    newer(original)
    proc = run(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = models(work)
    assert {k: v[1] for k, v in after.items()} == {k: v[1] for k, v in before.items()}
    logs = list((work / "logs/train").rglob("*.log"))
    assert logs and all("restored the finished training kept in" in p.read_text() for p in logs)
    assert not any("epoch 1/1" in p.read_text() for p in logs)
    again = run(work)
    assert "Nothing to be done" in again.stdout + again.stderr  # restored outputs are fresh


@pytest.mark.workflow
@pytest.mark.slow
def test_prepared_data_rewritten_with_the_same_bytes_reruns_nothing(work):
    """The profile's max-checksum-file-size: Snakemake compares the rewritten dataset by its checksum."""
    before = models(work)
    logs = {p: p.stat().st_mtime_ns for p in (work / "logs/train").rglob("*.log")}
    newer(work / PREPARED)
    proc = run(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert models(work) == before  # not even rewritten: same bytes and times
    assert {p: p.stat().st_mtime_ns for p in (work / "logs/train").rglob("*.log")} == logs


def test_trainings_rerun_on_the_same_inputs_are_restored_instead_of_retrained(work):
    """When Snakemake reruns a finished training anyway (here forced; without the checksum setting a rewritten
    dataset did it), the keep store restores it from its byte-identical inputs."""
    before = models(work)
    proc = run(work, "--forcerun", "train")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {k: v[1] for k, v in models(work).items()} == {k: v[1] for k, v in before.items()}
    assert all("restored the finished training" in p.read_text() for p in (work / "logs/train").rglob("*.log"))


def test_preflight_passes_intact_files_and_names_damaged_ones(tmp_path):
    (tmp_path / "results/data/x").mkdir(parents=True)
    good = tmp_path / "results/data/x/prepared.pt"
    torch.save({"a": torch.arange(1000)}, good)
    assert preflight.problems(tmp_path) == []
    _flip_a_byte(good)
    found = preflight.problems(tmp_path)
    assert len(found) == 1 and "results/data/x/prepared.pt (prepared dataset)" in found[0]


def test_keep_restores_only_on_the_same_key(tmp_path):
    model, log = tmp_path / "model.pt", tmp_path / "train_log.csv"
    model.write_bytes(b"weights")
    log.write_text("epoch\n1\n")
    keep.store(model, log, "key-1")
    model.unlink()
    log.unlink()
    assert not keep.restore(model, log, "key-2", log=lambda m: None)
    assert not model.exists()
    assert keep.restore(model, log, "key-1", log=lambda m: None)
    assert model.read_bytes() == b"weights" and log.read_text() == "epoch\n1\n"
    assert not keep.restore(model, log, None, log=lambda m: None)


def test_the_key_changes_with_every_input(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"data")
    b.write_bytes(b"card")
    k = keep.training_key("settings", a, b)
    assert k == keep.training_key("settings", a, b)
    assert k != keep.training_key("other settings", a, b)
    b.write_bytes(b"card2")
    assert k != keep.training_key("settings", a, b)
    assert keep.training_key("settings", a, tmp_path / "missing") is None
