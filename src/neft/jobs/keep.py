"""Finished trainings outlive their output files.

Snakemake deletes a job's outputs before the job runs, so when an input looks newer than a finished training
(a prepared dataset rewritten, a card touched, a corrupt file dropped in its place) the finished ``model.pt`` and
``train_log.csv`` would be gone before the job can discover that the input is unreadable or unchanged. At the
paper scale that is hours of training per file.

So every finished training is also kept in ``<run folder>/.kept/``: an independent copy of each output (a copy,
never a hard link: ``torch.save``, ``cp`` or a shell redirect onto ``model.pt`` writes into the file's inode, so a
hard-linked keep would change with it), and ``kept.json`` recording a key and each copy's sha256. The key is a
digest of everything the result depends on (the job's config slice, the bytes of the prepared data, the device
card, the neft source code). A training job first computes that key; when the kept training has the same key, its
inputs are byte-identical to the finished training's, so the result would be the same, and the job restores the
kept files instead of training again, but only when each kept file still has the digest recorded when it was
kept. Anything else (a different key, a kept file changed, truncated, replaced by another run's file or missing,
a keep from an earlier version that recorded no digests) trains again, and the job's log says why. A training is
kept only once it has finished, replacing the previous keep in one rename. The settings part of the key includes
the torch and Python versions and the machine type, so a different software stack trains again. To retrain
although nothing changed (``snakemake -f`` alone restores), delete the run's ``.kept`` folder first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from neft.util.io import atomic_path, sha256_file

KEPT = ".kept"
#: what was kept: the key and each kept file's sha256
MANIFEST = "kept.json"
_FILES = ("model.pt", "train_log.csv")


def code_digest() -> str:
    """The neft package's source: a code change never restores a training made by other code."""
    root = Path(__file__).resolve().parents[1]  # src/neft: every layer
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def training_key(fingerprint: str, *inputs: str | Path) -> str | None:
    """Digest of the job's settings (``fingerprint``), the bytes of each input file and the code; None when an
    input cannot be read (the job's own reading of it then says why)."""
    h = hashlib.sha256(fingerprint.encode())
    try:
        for path in inputs:
            h.update(b"\0" + sha256_file(path).encode())
    except OSError:
        return None
    h.update(b"\0" + code_digest().encode())
    return h.hexdigest()


def kept_dir(out_model: str | Path) -> Path:
    return Path(out_model).parent / KEPT


def _record(folder: Path) -> tuple[dict | None, str | None]:
    """The record of what is kept in ``folder`` (its key and digests), or why there is none that can be trusted."""
    manifest = folder / MANIFEST
    if not manifest.exists():
        if (folder / "key").exists():  # the layout before digests: hard links nobody can vouch for
            return (
                None,
                "it was kept by an earlier version, as hard links without digests: a change since cannot be told",
            )
        return None, f"its record {MANIFEST} is missing"
    try:
        record = json.loads(manifest.read_text())
        if not isinstance(record["key"], str) or set(record["sha256"]) != set(_FILES):
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"its record {MANIFEST} is unreadable or incomplete"
    return record, None


def _changed(folder: Path, digests: dict) -> str | None:
    """Why a kept file is no longer the one recorded, or None when each still is."""
    for name in _FILES:
        try:
            found = sha256_file(folder / name)
        except OSError:
            return f"the kept {name} is missing or unreadable"
        if found != digests[name]:
            return (
                f"the kept {name} has sha256 {found[:16]}..., but {digests[name][:16]}... was kept (it was changed, "
                "truncated or replaced after it was kept)"
            )
    return None


def restore(out_model: str | Path, out_log: str | Path, key: str | None, log: Callable[[str], None] = print) -> bool:
    """Copy the kept training back to the outputs when its key is ``key`` and every kept file has the digest recorded
    when it was kept; False otherwise, with a log line saying why unless the keep is simply of another training.

    Copies (not links): the outputs get fresh modification times, so Snakemake sees them as newer than the inputs
    and the next run has nothing to do."""
    folder = kept_dir(out_model)
    if key is None or not folder.is_dir():
        return False
    record, problem = _record(folder)
    if record is not None and record["key"] != key:
        return False  # another training's inputs: it is replaced once this one finishes
    problem = problem or _changed(folder, record["sha256"])
    if problem is not None:
        log(f"not restoring the training kept in {folder}: {problem}; training again")
        return False
    for name, dst in zip(_FILES, (out_model, out_log)):
        with atomic_path(dst) as tmp:
            shutil.copyfile(folder / name, tmp)
            if sha256_file(tmp) != record["sha256"][name]:  # changed while being copied: restore nothing of it
                raise OSError(f"the kept {name} in {folder} changed while it was restored; run the job again")
    log(
        f"restored the finished training kept in {folder}: its inputs, settings and code are byte-identical to "
        "this job's, and each kept file has the sha256 recorded when it was kept, so training again would give "
        "the same files"
    )
    return True


def store(out_model: str | Path, out_log: str | Path, key: str) -> None:
    """Keep independent copies of the just-finished outputs under ``key`` with their digests, replacing the previous
    keep only once the new one is complete."""
    folder = kept_dir(out_model)
    tmp = folder.with_name(f"{KEPT}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    digests = {}
    for src, name in zip((out_model, out_log), _FILES):
        shutil.copyfile(src, tmp / name)  # a new file (a new inode): nothing written to the output reaches it
        digests[name] = sha256_file(tmp / name)
        if digests[name] != sha256_file(src):
            shutil.rmtree(tmp, ignore_errors=True)
            raise OSError(f"{src} changed while it was being kept")
    (tmp / MANIFEST).write_text(json.dumps({"key": key, "sha256": digests}, indent=1, sort_keys=True) + "\n")
    old = folder.with_name(f"{KEPT}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
