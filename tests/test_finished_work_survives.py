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
import subprocess
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
    subprocess.run(["cp", "-a", str(finished), str(copy)], check=True)  # -a: hard links stay links, as in a real run
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


# -- issue 26, class 1: nothing restored unverified ----------------------------------------------------------------
def _kept(tmp_path: Path, model: bytes = b"weights", log: str = "epoch\n1\n", key: str = "key-1"):
    out_model, out_log = tmp_path / "model.pt", tmp_path / "train_log.csv"
    out_model.write_bytes(model)
    out_log.write_text(log)
    keep.store(out_model, out_log, key)
    return out_model, out_log


def _in_place(path: Path, data: bytes) -> None:
    """Overwrite ``path`` in its own inode, as torch.save, cp or a shell redirect do."""
    with open(path, "r+b") as fh:
        fh.write(data)
        fh.truncate()


def test_kept_files_are_independent_copies_that_an_edit_of_the_output_cannot_reach(tmp_path):
    model, log = _kept(tmp_path)
    kept = keep.kept_dir(model)
    assert (kept / "model.pt").stat().st_nlink == 1 and not os.path.samefile(kept / "model.pt", model)
    _in_place(model, b"zeroed weights")
    _in_place(log, b"epoch\n9\n")
    model.unlink()
    log.unlink()
    said = []
    assert keep.restore(model, log, "key-1", log=said.append)
    assert model.read_bytes() == b"weights" and log.read_text() == "epoch\n1\n"
    assert "each kept file has the sha256 recorded when it was kept" in said[0]


def _foreign_link(kept: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    other.write_bytes(b"another run's weights")
    (kept / "model.pt").unlink()
    os.link(other, kept / "model.pt")


def _old_layout(kept: Path, tmp_path: Path) -> None:
    (kept / keep.MANIFEST).unlink()
    (kept / "key").write_text("key-1\n")


KEPT_DAMAGE = [
    ("model edited in place", lambda k, t: _in_place(k / "model.pt", b"zeroed"), "the kept model.pt has sha256"),
    ("model truncated", lambda k, t: _in_place(k / "model.pt", b"wei"), "changed, truncated or replaced after it"),
    ("model a foreign hard link", _foreign_link, "the kept model.pt has sha256"),
    ("log edited in place", lambda k, t: _in_place(k / "train_log.csv", b"epoch\n7\n"), "the kept train_log.csv"),
    ("log deleted", lambda k, t: (k / "train_log.csv").unlink(), "the kept train_log.csv is missing or unreadable"),
    ("record deleted", lambda k, t: (k / keep.MANIFEST).unlink(), "its record kept.json is missing"),
    ("record not JSON", lambda k, t: (k / keep.MANIFEST).write_text("{key"), "kept.json is unreadable or incomplete"),
    (
        "record without a digest",
        lambda k, t: (k / keep.MANIFEST).write_text('{"key": "key-1", "sha256": {}}'),
        "kept.json is unreadable or incomplete",
    ),
    ("kept as hard links by an earlier version", _old_layout, "as hard links without digests"),
]


@pytest.mark.parametrize("damage,fragment", [c[1:] for c in KEPT_DAMAGE], ids=[c[0] for c in KEPT_DAMAGE])
def test_a_kept_training_that_is_not_what_was_kept_is_never_restored(tmp_path, damage, fragment):
    model, log = _kept(tmp_path)
    model.unlink()
    log.unlink()
    damage(keep.kept_dir(model), tmp_path)
    said = []
    assert not keep.restore(model, log, "key-1", log=said.append)
    assert not model.exists() and not log.exists()
    assert len(said) == 1 and said[0].startswith(f"not restoring the training kept in {keep.kept_dir(model)}: ")
    assert fragment in said[0] and said[0].endswith("; training again"), said


def test_a_keep_of_another_training_is_passed_over_silently(tmp_path):
    model, log = _kept(tmp_path)
    said = []
    assert not keep.restore(model, log, "key-2", log=said.append) and said == []


def _without_seconds(found: dict) -> dict:
    """Each output's bytes, a log's ``seconds`` column (wall time: never reproducible) left out."""
    out = {}
    for name, (_, data) in found.items():
        if name.endswith(".csv"):
            rows = [line.split(",") for line in data.decode().splitlines()]
            col = rows[0].index("seconds")
            data = "\n".join(",".join(r[:col] + r[col + 1 :]) for r in rows).encode()
        out[name] = data
    return out


def _two_runs(root: Path) -> tuple[Path, Path]:
    """The W/O Noise (plain) and W/ Noise (noise_injection) checkpoints of the finished run."""
    found = {p.parts[-5]: p for p in (root / "results/models").rglob("model.pt") if keep.KEPT not in p.parts}
    return found["plain"], found["noise_injection"]


def _train_log(root: Path, model: Path) -> str:
    rel = model.parent.relative_to(root / "results/models")
    return (root / "logs/train" / rel.parent / f"{rel.name}.log").read_text()


@pytest.mark.workflow
@pytest.mark.slow
def test_cli_a_checkpoint_zeroed_in_place_then_deleted_comes_back_as_trained(work):
    """The filed case: zero W/O Noise's weights in place, delete the file, rerun with --forcerun train. The keep
    holds its own copy, so the training comes back as it was trained, never as edited."""
    before = models(work)
    plain, _ = _two_runs(work)
    state = torch.load(plain, weights_only=True)
    zeroed = {k: torch.zeros_like(v) if torch.is_tensor(v) and v.is_floating_point() else v for k, v in state.items()}
    torch.save(zeroed, plain)  # into the same inode
    plain.unlink()
    proc = run(work, "--forcerun", "train")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {k: v[1] for k, v in models(work).items()} == {k: v[1] for k, v in before.items()}
    assert "restored the finished training kept in" in _train_log(work, plain)


@pytest.mark.workflow
@pytest.mark.slow
def test_cli_another_runs_checkpoint_linked_into_the_keep_trains_again(work):
    """A hard link from W/O Noise's checkpoint in place of W/ Noise's kept one: not restored (its digest is not the
    one kept), so W/ Noise trains again, to the bytes it had (training is deterministic)."""
    before = models(work)
    plain, noisy = _two_runs(work)
    kept = keep.kept_dir(noisy) / "model.pt"
    kept.unlink()
    os.link(plain, kept)
    proc = run(work, "--forcerun", "train")
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = _train_log(work, noisy)
    kept_rel = keep.kept_dir(noisy).relative_to(work)
    assert f"not restoring the training kept in {kept_rel}: the kept model.pt has sha256" in text, text
    assert "epoch 1/1" in text
    assert noisy.read_bytes() != plain.read_bytes()
    assert _without_seconds(models(work)) == _without_seconds(before)


@pytest.mark.workflow
@pytest.mark.slow
def test_cli_a_truncated_checkpoint_deleted_as_advised_comes_back_whole(work):
    """Truncated in place: the preflight stops the run naming it; deleted as its message advises, the next run
    restores the intact kept copy (before, the keep was the same inode, truncated too, and came back every time)."""
    before = models(work)
    plain, _ = _two_runs(work)
    _truncate(plain)
    newer(plain)
    proc = run(work)
    assert proc.returncode != 0 and str(plain.relative_to(work)) in proc.stdout + proc.stderr
    plain.unlink()
    proc = snakemake(  # the file itself: its sweeps are finished, so table_accuracy alone needs nothing
        str(plain.relative_to(work)), "--cores", "2", "--configfile", str(TEST_PRESET), "small.yaml", cwd=work
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {k: v[1] for k, v in models(work).items()} == {k: v[1] for k, v in before.items()}
    assert "restored the finished training kept in" in _train_log(work, plain)
