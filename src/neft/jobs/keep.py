"""Finished trainings outlive their output files.

Snakemake deletes a job's outputs before the job runs, so when an input looks newer than a finished training
(a prepared dataset rewritten, a card touched, a corrupt file dropped in its place) the finished ``model.pt`` and
``train_log.csv`` would be gone before the job can discover that the input is unreadable or unchanged. At the
paper scale that is hours of training per file.

So every finished training is also kept, as hard links (no extra disk), in ``<run folder>/.kept/`` together with
a key: a digest of everything the result depends on (the job's config slice, the bytes of the prepared data, the
device card, the neft source code). A training job first computes that key; when the kept copy has the same key,
its inputs are byte-identical to the finished training's, so the result would be the same, and the job restores
the kept files instead of training again. A different key means a real change: the job trains, and the kept copy
is replaced only once the new training has finished. The settings part of the key includes the torch and Python
versions and the machine type, so a different software stack trains again. To retrain although nothing changed
(``snakemake -f`` alone restores), delete the run's ``.kept`` folder first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from neft.util.io import atomic_path

KEPT = ".kept"
_FILES = ("model.pt", "train_log.csv")


def file_digest(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


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
            h.update(b"\0" + file_digest(path).encode())
    except OSError:
        return None
    h.update(b"\0" + code_digest().encode())
    return h.hexdigest()


def kept_dir(out_model: str | Path) -> Path:
    return Path(out_model).parent / KEPT


def restore(out_model: str | Path, out_log: str | Path, key: str | None, log: Callable[[str], None] = print) -> bool:
    """Copy the kept training back to the outputs when its key is ``key``; False when there is none to restore.

    Copies (not links): the outputs get fresh modification times, so Snakemake sees them as newer than the inputs
    and the next run has nothing to do."""
    folder = kept_dir(out_model)
    if key is None:
        return False
    try:
        if (folder / "key").read_text().strip() != key:
            return False
    except OSError:
        return False
    sources = [folder / name for name in _FILES]
    if not all(p.is_file() and p.stat().st_size > 0 for p in sources):
        return False
    for src, dst in zip(sources, (out_model, out_log)):
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    log(
        f"restored the finished training kept in {folder}: its inputs, settings and code are byte-identical to "
        "this job's, so training again would give the same files"
    )
    return True


def store(out_model: str | Path, out_log: str | Path, key: str) -> None:
    """Keep the just-finished outputs under ``key`` (hard links where the filesystem allows, else copies),
    replacing the previous kept training only once the new one is complete."""
    folder = kept_dir(out_model)
    tmp = folder.with_name(f"{KEPT}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for src, name in zip((out_model, out_log), _FILES):
        try:
            os.link(src, tmp / name)
        except OSError:
            shutil.copyfile(src, tmp / name)
    (tmp / "key").write_text(key + "\n")
    old = folder.with_name(f"{KEPT}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
