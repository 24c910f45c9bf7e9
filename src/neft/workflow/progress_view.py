"""Job progress, the view side: a terminal line of jobs done, running jobs' epochs or chips, and ETAs.

Snakemake's process runs it through the logger plugin ``snakemake_logger_plugin_neft`` (selected in
``profiles/default``): ``View`` follows Snakemake's log events (job stats, job starts and ends, "N of M steps done",
cores), reads the progress file each running job writes (``neft.util.progress``) and prints, every
``NEFT_PROGRESS_INTERVAL`` seconds (15) when something changed, one line: jobs done, each running job with its epoch
or chip count and ETA, and an estimate of the whole run (durations of this run's finished jobs per rule, or of
running jobs projected from their rate, or ``benchmarks/`` of earlier runs, times the jobs left, over the cores).
``view_enabled`` decides whether to show it: never in a dry run or under ``--quiet``; ``NEFT_PROGRESS=1`` forces it
on (``0`` off); otherwise only when stderr is a terminal and ``CI`` is not set.

This module imports only the standard library: Snakemake's process imports it for every command.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from neft.util.progress import ROOT, progress_path

ENV_FORCE = "NEFT_PROGRESS"
ENV_INTERVAL = "NEFT_PROGRESS_INTERVAL"
PREFIX = "[neft]"
_SLACK = 60.0  # seconds a progress file may predate its job's start (clock skew between cluster nodes)
_SHOWN = 4  # running jobs shown one by one; the others are counted


def read_progress(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
        float(record["done"]), float(record["total"]), float(record["updated"]), float(record["started"])
        return record
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- the view -------------------------------------------------------------------------------------------------------
def _flag(value: str | None) -> bool | None:
    """An environment switch: None when unset or empty; False for 0/false/no/off; True otherwise."""
    if value is None or not value.strip():
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")


def view_enabled(quiet, dryrun: bool, env: Mapping[str, str] = os.environ, stream=None) -> bool:
    """Show the view? Never in a dry run or under ``--quiet`` (progress or all); ``NEFT_PROGRESS`` forces it on or
    off; otherwise only on a terminal outside CI (a CI log gets nothing)."""
    if dryrun:
        return False
    quiet_names = {str(getattr(q, "name", q)).lower() for q in quiet or ()}
    if quiet_names & {"progress", "all"}:
        return False
    forced = _flag(env.get(ENV_FORCE))
    if forced is not None:
        return forced
    if _flag(env.get("CI")):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def format_duration(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 10:
        return f"{m} min {s} s"
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def job_name(wildcards: Mapping | None) -> str:
    """``vgg8/mnist/ovf/RRAM1/sigma0.07/seed0``: wildcard values, numbers prefixed with their wildcard's name."""
    parts = []
    for k, v in (wildcards or {}).items():
        v = str(v)
        parts.append(f"{k}{v}" if v.replace(".", "", 1).isdigit() else v)
    return "/".join(parts)


def rate_remaining(progress: Mapping, now: float) -> float | None:
    """Seconds left for a job from its own progress rate since its reporter started (None before any progress)."""
    done, first, total = float(progress["done"]), float(progress.get("first", 0)), float(progress["total"])
    spent = float(progress["updated"]) - float(progress["started"])
    if done <= first or spent <= 0:
        return None
    left = (total - done) * spent / (done - first)
    return max(0.0, left - (now - float(progress["updated"])))


def overall_remaining(
    running: list[tuple[float | None, int]],
    pending: Mapping[str, int],
    expected: Mapping[str, float | None],
    threads: Mapping[str, int],
    slots: int,
) -> tuple[float, int]:
    """(seconds left for the whole run, jobs without an estimate). ``running``: (seconds left or None, threads) per
    running job; ``pending``: jobs not started per rule; ``expected``: seconds per job of each rule. The work left
    (thread-seconds) is spread over ``slots`` cores, but never ends before the longest running job."""
    work, longest, untimed = 0.0, 0.0, 0
    for left, n_threads in running:
        if left is None:
            untimed += 1
            continue
        work += left * n_threads
        longest = max(longest, left)
    for rule, n in pending.items():
        if n <= 0:
            continue
        if expected.get(rule) is None:
            untimed += n
            continue
        work += n * expected[rule] * threads.get(rule, 1)
    return max(longest, work / max(slots, 1)), untimed


def load_history(benchmarks: Path, limit: int = 5000) -> dict[str, list[float]]:
    """Wall seconds of earlier runs' jobs per rule, from Snakemake's ``benchmark:`` files (benchmarks/<rule>/...)."""
    out: dict[str, list[float]] = defaultdict(list)
    if not benchmarks.is_dir():
        return out
    for i, tsv in enumerate(sorted(benchmarks.glob("**/*.tsv"))):
        if i >= limit:
            break
        try:
            lines = tsv.read_text().splitlines()
            out[tsv.relative_to(benchmarks).parts[0]].append(float(lines[1].split("\t")[0]))
        except (OSError, ValueError, IndexError):
            continue
    return out


@dataclass
class _Job:
    rule: str
    name: str
    log: str | None
    threads: int
    started: float


@dataclass
class View:
    """Follows Snakemake's log events and prints a progress line through ``write`` every ``interval`` seconds when
    something changed (``start()`` runs the timer; tests call ``line()``/``tick()`` with their own clock)."""

    write: Callable[[str], None]
    interval: float = 15.0
    clock: Callable[[], float] = time.time
    root: Path | None = None  # progress folder; default: ROOT under the working directory at the first job
    benchmarks: Path | None = None  # earlier runs' timings; default: benchmarks/ there
    jobs: dict = field(default_factory=dict)
    running: set = field(default_factory=set)
    counts: dict = field(default_factory=dict)
    durations: dict = field(default_factory=lambda: defaultdict(list))
    finished: Counter = field(default_factory=Counter)
    history: dict | None = None
    done: int = 0
    total: int = 0
    cores: int = 0
    nodes: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._made_root = False
        self._signature = None

    # events (Snakemake's logging thread)
    def handle(self, event: str, rec: Mapping) -> None:
        now = self.clock()
        with self._lock:
            if event == "run_info" and isinstance(rec.get("stats"), Mapping):
                stats = dict(rec["stats"])
                self.total = int(stats.pop("total", 0)) or self.total
                self.counts = {k: int(v) for k, v in stats.items()}
            elif event == "resources_info":
                self.cores = int(rec.get("cores") or self.cores)
                self.nodes = int(rec.get("nodes") or self.nodes)
            elif event == "job_info" and rec.get("jobid") is not None:
                self._first_job()
                logs = [str(f).split(" (")[0] for f in rec.get("log") or []]
                self.jobs[rec["jobid"]] = _Job(
                    str(rec.get("rule_name", "")),
                    job_name(rec.get("wildcards")),
                    logs[0] if logs else None,
                    int(rec.get("threads") or 1),
                    now,
                )
                self.running.add(rec["jobid"])
            elif event in ("job_finished", "job_error"):
                jobid = rec.get("job_id", rec.get("jobid"))
                job = self.jobs.get(jobid)
                if job is not None and jobid in self.running:
                    self.running.discard(jobid)
                    if event == "job_finished":
                        self.finished[job.rule] += 1
                        self.durations[job.rule].append(now - job.started)
            elif event == "progress":
                self.done, self.total = int(rec.get("done", self.done)), int(rec.get("total") or self.total)
        if event == "job_info" and self._thread is None and self.interval > 0:
            self.start()

    def _first_job(self) -> None:
        if self.root is None:
            self.root = Path.cwd() / ROOT
        if self.benchmarks is None:
            self.benchmarks = Path.cwd() / "benchmarks"
        if self.history is None:
            self.history = load_history(self.benchmarks)
        if not self.root.exists():
            try:
                self.root.mkdir(parents=True)
                self._made_root = True
            except OSError:
                pass

    # the line
    def _progress(self, job: _Job) -> dict | None:
        if job.log is None or self.root is None:
            return None
        record = read_progress(progress_path(job.log, self.root))
        if record is None or float(record["started"]) < job.started - _SLACK:
            return None  # none yet, or a stale file of an earlier attempt
        return record

    def line(self) -> tuple[str, tuple] | None:
        """The progress line and what it shows (to print only changes); None while no job runs (before the first,
        between two, after the last: Snakemake's own lines say that)."""
        now = self.clock()
        with self._lock:
            if not self.running:
                return None
            running = sorted((self.jobs[j].started, j) for j in self.running)
            state = {j: (self.jobs[j], self._progress(self.jobs[j])) for _, j in running}
            projected: dict[str, list[float]] = defaultdict(list)
            lefts = {}
            for j, (job, prog) in state.items():
                lefts[j] = rate_remaining(prog, now) if prog else None
                if lefts[j] is not None:
                    projected[job.rule].append(now - job.started + lefts[j])
            expected = self._expected(projected)
            parts, signature = [], [self.done]
            for j, (job, prog) in state.items():
                shown_left = lefts[j]
                if lefts[j] is None and expected.get(job.rule) is not None:  # no rate yet: the rule's usual time
                    lefts[j] = max(0.0, expected[job.rule] - (now - job.started))
                    shown_left = lefts[j] or None  # overrun: say how long it has run instead
                text = " ".join(p for p in (job.rule, job.name, _count(prog)) if p)
                since = f"{format_duration(now - job.started)} so far"
                parts.append(f"{text} ({'ETA ' + format_duration(shown_left) if shown_left is not None else since})")
                signature.append((j, int(20 * float(prog["done"]) / max(float(prog["total"]), 1e-9)) if prog else None))
            shown = parts[:_SHOWN] + ([f"{len(parts) - _SHOWN} more"] if len(parts) > _SHOWN else [])
            # local runs count threads against cores; cluster runs count jobs against nodes
            by_job = self.nodes > 0 and not self.cores
            threads = {job.rule: 1 if by_job else job.threads for job in self.jobs.values()}
            running_counts = Counter(job.rule for job, _ in state.values())
            pending = {r: n - self.finished[r] - running_counts[r] for r, n in self.counts.items()}
            slots = self.cores or (self.nodes if 0 < self.nodes < 10**6 else len(state)) or 1
            left, untimed = overall_remaining(
                [(lefts[j], threads[job.rule]) for j, (job, _) in state.items()], pending, expected, threads, slots
            )
            total = self.total or sum(self.counts.values())
            if untimed and left == 0:
                whole = "whole run: no estimate yet"
            else:
                whole = f"whole run: about {format_duration(left)} left"
                if untimed:
                    whole += f" (+{untimed} jobs not timed yet)"
            head = f"{PREFIX} {self.done}/{total} jobs done, {len(state)} running"
            return f"{head}{': ' + '; '.join(shown) if shown else ''}; {whole}", tuple(signature)

    def _expected(self, projected: Mapping[str, list[float]]) -> dict[str, float | None]:
        """Seconds per job of each rule: this run's finished jobs, else running ones projected from their rate,
        else earlier runs' benchmarks, else the median of every job finished so far (else unknown)."""
        anything = [d for ds in self.durations.values() for d in ds]
        fallback = statistics.median(anything) if anything else None
        out = {}
        for rule in set(self.counts) | {j.rule for j in self.jobs.values()}:
            if self.durations.get(rule):
                out[rule] = statistics.fmean(self.durations[rule])
            elif projected.get(rule):
                out[rule] = statistics.fmean(projected[rule])
            elif (self.history or {}).get(rule):
                out[rule] = statistics.median(self.history[rule])
            else:
                out[rule] = fallback
        return out

    def tick(self) -> str | None:
        """Print the line if what it shows changed since the last one printed; return what was printed."""
        result = self.line()
        if result is None or result[1] == self._signature:
            return None
        self._signature = result[1]
        self.write(result[0])
        return result[0]

    # the timer
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="neft-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001, S112 - a progress line is never worth failing a run
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._made_root and self.root is not None:
            import shutil

            shutil.rmtree(self.root, ignore_errors=True)


def _count(prog: Mapping | None) -> str:
    if not prog:
        return ""
    done, total = float(prog["done"]), int(float(prog["total"]))
    if prog.get("unit") == "epoch":
        return f"epoch {min(int(done) + 1, total)}/{total}"
    return f"{prog.get('unit', 'step')}s {int(done)}/{total}"


def terminal_view(stdout: bool = False, env: Mapping[str, str] = os.environ) -> View:
    """The view printing to Snakemake's stream (stderr, or stdout under ``--stdout``)."""
    stream = sys.stdout if stdout else sys.stderr

    def write(text: str) -> None:
        stream.write(text + "\n")
        stream.flush()

    interval, problem = progress_interval(env)
    if problem is not None:
        write(f"{PREFIX} {problem}")
    return View(write, interval=interval)


#: the range of ``NEFT_PROGRESS_INTERVAL``, in seconds, and the value when it is unset
INTERVAL_RANGE = (0.2, 86400.0)
INTERVAL_DEFAULT = 15.0


def progress_interval(env: Mapping[str, str] = os.environ) -> tuple[float, str | None]:
    """Seconds between progress lines from ``NEFT_PROGRESS_INTERVAL``, and why the given value was not taken (None
    when it was): a value that is not a number, or outside ``INTERVAL_RANGE`` (a day: longer overflows the
    thread's timer), gives the default, with a line that says so; the view never stops the run."""
    raw = env.get(ENV_INTERVAL)
    if raw is None or not raw.strip():
        return INTERVAL_DEFAULT, None
    low, high = INTERVAL_RANGE
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if low <= value <= high:  # NaN fails both comparisons
        return value, None
    return INTERVAL_DEFAULT, (
        f"{ENV_INTERVAL}={raw!r} is not a number of seconds from {low:g} to {high:g}; printing every "
        f"{INTERVAL_DEFAULT:g} s"
    )
