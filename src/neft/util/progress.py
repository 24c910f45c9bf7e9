"""Job progress, the job side: a job says how far it is in a small JSON file that the terminal view reads.

``neft.jobs`` binds the process to its job (``bind(log)``, the rule's log path); ``reporter(unit, total)`` then
gives a ``Reporter`` whose ``update(done)`` rewrites ``.snakemake/neft-progress/<log path>.json`` atomically (a
temporary file renamed over it), at most once per ``min_interval`` seconds plus the final count. Training reports
epochs (fractions within an epoch, per batch), Monte-Carlo chips. A reporter writes only where the view created the
folder (so nobody watching costs nothing), never raises (an unwritable folder switches it off) and touches no
random state, so results are byte-identical with or without it. The file is removed when the job finishes.

The view that reads these files is ``neft.workflow.progress_view``. This module imports only the standard library:
Snakemake's process imports it for every command, and the training loop (``neft.core.train``) reports through it
without knowing about Snakemake.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(".snakemake/neft-progress")  # relative to the workflow's working directory


# -- the job side ---------------------------------------------------------------------------------------------------
def progress_path(log: str | os.PathLike, root: str | os.PathLike = ROOT) -> Path:
    """The progress file of the job whose log is ``log``: the log's relative path mirrored under ``root``."""
    p = os.path.normpath(os.fspath(log))
    if os.path.isabs(p) or p.split(os.sep)[0] == "..":
        p = hashlib.sha1(os.path.abspath(p).encode()).hexdigest()[:16]
    return Path(root) / f"{p}.json"


def describe_log(log: str | os.PathLike) -> tuple[str, str]:
    """(rule, name) from the workflow's log layout ``logs/<rule>/<name>.log`` (empty when it does not fit)."""
    parts = Path(os.path.normpath(os.fspath(log))).parts
    if len(parts) >= 3 and parts[0] == "logs":
        return parts[1], str(Path(*parts[2:])).removesuffix(".log")
    return "", ""


def write_atomic(path: Path, text: str) -> None:
    """``text`` to ``path`` through a temporary file in the same folder and a rename: a reader sees the old file or
    the new one, never part of one. No fsync (unlike ``neft.util.io.atomic_write_text``): a progress file is advisory
    and rewritten every second, and this module must not import torch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Reporter:
    """How far one job is, in ``unit`` (``epoch``, ``chip``) out of ``total``; ``path`` None makes it a no-op."""

    def __init__(
        self,
        path: str | os.PathLike | None,
        unit: str,
        total: float,
        done: float = 0,
        *,
        log: str = "",
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.unit, self.total, self.first = unit, total, done
        self.min_interval = min_interval
        self._clock = clock
        self.started = clock()
        self._last = -math.inf
        self._meta = {"log": log, "unit": unit, "total": total, "first": done, "pid": os.getpid()}
        self._meta["rule"], self._meta["name"] = describe_log(log) if log else ("", "")
        self.update(done, force=True)

    def update(self, done: float, force: bool = False) -> None:
        """Record ``done``; written if forced, final, or ``min_interval`` after the last write."""
        if self.path is None:
            return
        now = self._clock()
        if not force and done < self.total and now - self._last < self.min_interval:
            return
        self._last = now
        record = self._meta | {"done": done, "started": self.started, "updated": now}
        try:
            write_atomic(self.path, json.dumps(record, sort_keys=True))
        except Exception:  # noqa: BLE001 - progress is optional: an unwritable folder must not fail the job
            self.path = None

    def close(self) -> None:
        """The job is done: remove its progress file."""
        if self.path is not None:
            try:
                self.path.unlink()
            except OSError:
                pass
            self.path = None


_job_log: str | None = None


def bind(log: str | os.PathLike) -> None:
    """This process is the job whose log is ``log`` (``neft.jobs.runs.job_log`` calls it)."""
    global _job_log
    _job_log = os.fspath(log)


def reporter(unit: str, total: float, done: float = 0, min_interval: float = 1.0) -> Reporter:
    """A reporter for this process's job; a no-op one outside a job, or where no view made the folder."""
    if _job_log is None or not ROOT.is_dir():
        return Reporter(None, unit, total, done)
    return Reporter(progress_path(_job_log), unit, total, done, log=_job_log, min_interval=min_interval)
