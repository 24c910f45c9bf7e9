"""Job progress and the terminal view (neft.util.progress, the logger plugin snakemake_logger_plugin_neft): the ETA
arithmetic, the progress file writer, when the view shows, and the test scale run with the view on and off."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from neft.core import devices
from neft.core.mc import ChipEvaluator, McSettings
from neft.core.models import VGG8
from neft.util import progress
from neft.util.progress import ROOT, Reporter, progress_path
from neft.workflow.progress_view import (
    View,
    format_duration,
    job_name,
    overall_remaining,
    progress_interval,
    rate_remaining,
    read_progress,
    terminal_view,
    view_enabled,
)

from .conftest import REPO
from .test_train import run as train_toy


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def job_dir(tmp_path, monkeypatch):
    """A working directory with the progress folder a view would create, and no job bound yet."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(progress, "_job_log", None)
    (tmp_path / ROOT).mkdir(parents=True)
    return tmp_path


# -- the arithmetic ---------------------------------------------------------------------------------------------------
def test_durations_read_like_a_person_writes_them():
    assert [format_duration(s) for s in (0.4, 40, 80, 599, 14 * 60 + 20, 3600 + 5 * 60)] == [
        "0 s",
        "40 s",
        "1 min 20 s",
        "9 min 59 s",
        "14 min",
        "1 h 05 min",
    ]
    assert format_duration(-3) == "0 s"
    assert job_name({"model": "vgg8", "method": "ovf", "sigma": "0.07", "seed": "0"}) == "vgg8/ovf/sigma0.07/seed0"


def test_a_job_s_eta_comes_from_its_own_rate_since_it_started():
    p = {"done": 1.0, "first": 0, "total": 4, "started": 100.0, "updated": 110.0}
    assert rate_remaining(p, now=110.0) == pytest.approx(30.0)  # 10 s per epoch, 3 to go
    assert rate_remaining(p, now=115.0) == pytest.approx(25.0)  # time since the last update counts down
    assert rate_remaining(p, now=500.0) == 0.0
    assert rate_remaining(p | {"done": 0.0}, now=110.0) is None  # nothing done yet: no rate
    # a resumed training counts only the epochs it ran itself
    assert rate_remaining({"done": 3.0, "first": 2, "total": 4, "started": 0.0, "updated": 10.0}, 10.0) == 10.0


def test_the_whole_run_spreads_the_work_left_over_the_cores():
    left, untimed = overall_remaining(
        running=[(30.0, 1), (None, 1)],
        pending={"train": 4, "evaluate_mc": 2, "plot": 1, "done_rule": 0},
        expected={"train": 60.0, "evaluate_mc": 10.0, "plot": None},
        threads={"train": 1, "evaluate_mc": 2},
        slots=2,
    )
    assert left == pytest.approx((30 + 4 * 60 + 2 * 10 * 2) / 2)
    assert untimed == 2  # the running job without an estimate, and the plot
    # never before the longest running job ends
    assert overall_remaining([(100.0, 1)], {"x": 1}, {"x": 1.0}, {}, slots=8) == (100.0, 0)


def test_the_view_follows_jobs_and_estimates_from_progress_finished_jobs_and_earlier_benchmarks(tmp_path):
    clock, lines = Clock(), []
    bench = tmp_path / "benchmarks/evaluate_mc/vgg8"
    bench.mkdir(parents=True)
    (bench / "test~0.1.tsv").write_text("s\th:m:s\tmax_rss\n12.0\t0:00:12\t100\n")
    view = View(lines.append, interval=0, clock=clock, root=tmp_path / "progress", benchmarks=tmp_path / "benchmarks")
    view.handle("run_info", {"stats": {"train": 3, "evaluate_mc": 2, "report": 1, "total": 6}})
    view.handle("resources_info", {"cores": 2})
    assert view.line() is None  # nothing started: nothing to say
    for jobid, name in ((1, "a"), (2, "b")):
        view.handle(
            "job_info",
            {"jobid": jobid, "rule_name": "train", "wildcards": {"run": name}, "log": [f"logs/train/{name}.log"]},
        )
    rep = Reporter(progress_path("logs/train/a.log", view.root), "epoch", 2, clock=clock)
    clock.t += 10
    rep.update(1.0)  # job a: one of two epochs in 10 s
    text, _ = view.line()
    assert text.startswith("[neft] 0/6 jobs done, 2 running: train a epoch 2/2 (ETA 10 s); ")
    assert "train b (ETA 10 s)" in text  # no progress of its own yet: the rule's projected 20 s
    # work left: 10 + 10 running, one more training (20 s), two sweeps (12 s from benchmarks), on 2 cores; the
    # report has no estimate at all
    assert text.endswith("whole run: about 32 s left (+1 jobs not timed yet)")
    assert view.tick() == text and view.tick() is None  # printed once; unchanged, not again
    assert lines == [text]

    clock.t += 10
    rep.update(2.0)
    view.handle("job_finished", {"job_id": 1})
    view.handle("progress", {"done": 1, "total": 6})
    text, _ = view.line()
    # job a took 20 s; job b, started with it, is assumed to take as long; the report now gets the median job
    assert text.startswith("[neft] 1/6 jobs done, 1 running: train b (20 s so far)")
    assert text.endswith("whole run: about 32 s left")  # (20 + 2 x 12 + 20) / 2
    assert view.tick() == text

    view.handle("job_error", {"jobid": 2})
    assert view.line() is None and view.tick() is None  # nothing running: nothing to add to Snakemake's lines


def test_a_progress_file_of_an_earlier_attempt_is_ignored(tmp_path):
    clock = Clock()
    root = tmp_path / "progress"
    old = Reporter(progress_path("logs/evaluate_mc/x.log", root), "chip", 50, clock=clock)
    old.update(40, force=True)
    clock.t += 3600
    view = View(lambda _: None, interval=0, clock=clock, root=root, benchmarks=tmp_path)
    view.handle("job_info", {"jobid": 7, "rule_name": "evaluate_mc", "log": ["logs/evaluate_mc/x.log"]})
    clock.t += 5
    assert view.line()[0] == "[neft] 0/0 jobs done, 1 running: evaluate_mc (5 s so far); whole run: no estimate yet"


# -- the writer -------------------------------------------------------------------------------------------------------
def test_progress_files_are_written_atomically(tmp_path):
    path = progress_path("logs/train/a.log", tmp_path)
    assert path == tmp_path / "logs/train/a.log.json"
    assert progress_path("/abs/logs/x.log", tmp_path).parent == tmp_path  # outside the run: hashed, flat
    rep = Reporter(path, "chip", 10_000, min_interval=0, log="logs/train/a.log")
    seen, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            text = path.read_text()
            seen.append(json.loads(text)["done"])  # never a partial file

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(1, 400):
        rep.update(i)
    stop.set()
    reader.join()
    assert seen and seen == sorted(seen)
    record = read_progress(path)
    assert record["done"] == 399 and record["rule"] == "train" and record["name"] == "a" and record["unit"] == "chip"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.log.json"]  # no temporary files left
    rep.close()
    assert not path.exists()


def test_progress_writes_are_rate_limited_but_the_last_count_is_always_written(tmp_path):
    clock, path = Clock(), tmp_path / "p.json"
    rep = Reporter(path, "epoch", 2, clock=clock)
    assert read_progress(path)["done"] == 0  # the start is written at once
    for step in range(1, 10):
        clock.t += 0.1
        rep.update(step / 10)
    assert read_progress(path)["done"] == 0  # nine updates within a second: none written
    clock.t += 0.1
    rep.update(1.0)
    assert read_progress(path)["done"] == 1.0  # a second after the last write
    clock.t += 0.1
    rep.update(1.5, force=True)
    assert read_progress(path)["done"] == 1.5
    clock.t += 0.1
    rep.update(2.0)
    assert read_progress(path)["done"] == 2.0  # the final count, however soon


def test_an_unwritable_progress_folder_is_ignored(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    rep = Reporter(tmp_path / "file/sub/p.json", "chip", 3, min_interval=0)  # its folder cannot exist
    rep.update(1)
    rep.update(3)
    rep.close()
    assert rep.path is None and (tmp_path / "file").read_text() == "not a folder"


def test_a_job_reports_only_where_a_view_made_the_folder(job_dir):
    assert progress.reporter("epoch", 2).path is None  # not a job
    progress.bind("logs/train/vgg8/run.log")
    rep = progress.reporter("epoch", 2)
    assert rep.path == Path(ROOT / "logs/train/vgg8/run.log.json")
    assert read_progress(rep.path)["rule"] == "train" and read_progress(rep.path)["name"] == "vgg8/run"
    rep.close()
    assert not rep.path
    shutil.rmtree(job_dir / ROOT)
    assert progress.reporter("epoch", 2).path is None  # nobody watching: nothing written


def test_training_and_mc_report_progress_and_their_results_do_not_change(job_dir, tmp_path):
    _, plain = train_toy(tmp_path / "unbound")
    progress.bind("logs/train/toy.log")
    path = job_dir / ROOT / "logs/train/toy.log.json"
    during = []

    def log(message):
        if message.startswith("epoch"):
            during.append(read_progress(path)["done"])

    _, watched = train_toy(tmp_path / "bound", log=log)
    assert during == [1, 2]  # each epoch's end is written as it happens
    assert not path.exists()  # removed when the model is written
    assert (tmp_path / "bound/model.pt").read_bytes() == (tmp_path / "unbound/model.pt").read_bytes()

    torch.manual_seed(0)
    model, x, y = VGG8(10, 1, 32, 0.125).eval(), torch.randn(16, 1, 32, 32), torch.randint(0, 10, (16,))
    counts = []
    for k in (1, 2):
        ev = ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(batch_size=8, chips_per_pass=k))
        counts.append([])
        rows = ev.evaluate(0.1, 5, on_chip=counts[-1].append).rows
        pd.testing.assert_frame_equal(pd.DataFrame(rows), pd.DataFrame(ev.evaluate(0.1, 5).rows))
    assert counts == [[1, 2, 3, 4, 5]] * 2


# -- when the view shows ----------------------------------------------------------------------------------------------
class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    "quiet,dryrun,env,tty,shown",
    [
        (None, False, {}, True, True),  # a person at a terminal
        (None, False, {}, False, False),  # a pipe or a file
        (None, False, {"CI": "true"}, True, False),  # CI
        (None, False, {"NEFT_PROGRESS": "1", "CI": "true"}, False, True),  # forced
        (None, False, {"NEFT_PROGRESS": "0"}, True, False),  # switched off
        ({"progress", "rules"}, False, {"NEFT_PROGRESS": "1"}, True, False),  # --quiet wins
        ({"rules"}, False, {}, True, True),  # --quiet rules hides job blocks, not progress
        (None, True, {"NEFT_PROGRESS": "1"}, True, False),  # a dry run
    ],
)
def test_when_the_view_shows(quiet, dryrun, env, tty, shown):
    assert view_enabled(quiet, dryrun, env, Tty() if tty else io.StringIO()) is shown


def test_the_logger_plugin_is_registered_and_feeds_the_view(tmp_path, monkeypatch, capsys):
    from snakemake_interface_logger_plugins.common import LogEvent
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

    handler_cls = LoggerPluginRegistry().get_plugin("neft").log_handler
    settings = SimpleNamespace(quiet=None, dryrun=False, stdout=False)
    monkeypatch.delenv("NEFT_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    assert handler_cls(settings, None).view is None
    monkeypatch.setenv("NEFT_PROGRESS", "1")
    handler = handler_cls(settings, None)
    assert not handler.writes_to_stream and handler.has_filter  # adds to Snakemake's output, sees every event
    handler.view.interval = 0  # no timer: this test ticks itself
    record = logging.LogRecord("snakemake", logging.INFO, "", 0, "job", None, None)
    record.__dict__.update(event=LogEvent.JOB_INFO, jobid=3, rule_name="aggregate_mc", log=["logs/agg.log"])
    monkeypatch.chdir(tmp_path)
    handler.emit(record)
    assert handler.view.tick().startswith("[neft] 0/0 jobs done, 1 running: aggregate_mc")
    assert (tmp_path / ROOT).is_dir()  # made for the jobs to write into
    handler.close()
    assert not (tmp_path / ROOT).exists()
    assert "[neft] 0/0 jobs done" in capsys.readouterr().err


@pytest.mark.parametrize("raw", ["1e12", "banana", "nan", "inf", "-5", "0", "0.1", "1e400"])
def test_an_unusable_progress_interval_is_named_and_the_default_taken(raw):
    """Issue 26, class 5: NEFT_PROGRESS_INTERVAL=1e12 overflowed the view's timer in its thread (a traceback that named
    nothing); now the value is refused with a line naming the variable, and the run goes on at 15 s."""
    interval, problem = progress_interval({"NEFT_PROGRESS_INTERVAL": raw})
    assert interval == 15.0
    assert (
        problem == f"NEFT_PROGRESS_INTERVAL={raw!r} is not a number of seconds from 0.2 to 86400; printing every 15 s"
    )


@pytest.mark.parametrize("raw,seconds", [(None, 15.0), ("", 15.0), ("0.5", 0.5), (" 60 ", 60.0), ("86400", 86400.0)])
def test_a_usable_progress_interval_is_taken(raw, seconds):
    env = {} if raw is None else {"NEFT_PROGRESS_INTERVAL": raw}
    assert progress_interval(env) == (seconds, None)


def test_the_view_prints_the_refusal_once(capsys):
    view = terminal_view(env={"NEFT_PROGRESS_INTERVAL": "1e12"})
    assert view.interval == 15.0
    assert (
        capsys.readouterr().err
        == "[neft] NEFT_PROGRESS_INTERVAL='1e12' is not a number of seconds from 0.2 to 86400; printing every 15 s\n"
    )


# -- the test scale, watched ------------------------------------------------------------------------------------------
TEST_PRESET = str(REPO / "config/presets/test.yaml")
MODEL = "results/models/vgg8/mnist/noise_injection/RRAM1/sigma~0.1/seed~0/model.pt"
MODEL_LOG = "logs/train/vgg8/mnist/noise_injection/RRAM1/sigma~0.1/seed~0.log"
SWEEPS = [f"results/mc/vgg8/mnist/{m}/RRAM1/sigma~{s}/seed~0/test~0.1.csv" for m, s in (("plain", 0), ("ovf", 0.1))]
LINE = re.compile(r"^\[neft\] \d+/\d+ jobs done, \d+ running.*; whole run: .*$", re.M)


def watched(cwd: Path, *args: str, configs=(), **env: str) -> subprocess.CompletedProcess:
    """Snakemake at the test scale in ``cwd`` with this environment (CI and NEFT_PROGRESS only where given)."""
    base = {k: v for k, v in os.environ.items() if k not in ("NEFT_PROGRESS", "CI")}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *args, "--cores", "2"]
    cmd += ["--configfile", TEST_PRESET, *configs]
    env = base | {"NEFT_PROGRESS_INTERVAL": "0.5"} | env
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.workflow
@pytest.mark.slow
def test_the_test_scale_shows_per_job_progress_and_a_whole_run_estimate_only_when_asked(tmp_path):
    # two trainings and their sweeps, warm-started jobs (the default), the view forced on although not a terminal
    err = watched(tmp_path, *SWEEPS, NEFT_PROGRESS="1").stderr
    lines = LINE.findall(err)
    assert any(re.search(r"train vgg8/mnist/\w+/RRAM1/sigma[\d.]+/seed0 epoch [12]/2 \(ETA \d", x) for x in lines), err
    assert any(re.search(r"whole run: about (\d+ min )?\d+ s left", ln) for ln in lines), err
    assert not (tmp_path / ROOT).exists()  # the view removes its folder at the end
    snakemake_log = next((tmp_path / ".snakemake/log").glob("*.log")).read_text()
    assert "[neft]" not in snakemake_log  # the view is for the terminal; the logs keep what they had
    train_log = (tmp_path / "logs/train/vgg8/mnist/ovf/RRAM1/sigma~0.1/seed~0.log").read_text()
    assert "epoch 1/2" in train_log and "epoch 2/2" in train_log

    # cold-started jobs (compute.warm_start: false) report the same way
    (tmp_path / "cold.yaml").write_text("compute: {warm_start: false}\n")
    err = watched(tmp_path, MODEL, configs=[str(tmp_path / "cold.yaml")], NEFT_PROGRESS="1").stderr
    assert any("train vgg8/mnist/noise_injection/RRAM1/sigma0.1/seed0 epoch" in ln for ln in LINE.findall(err)), err
    model = (tmp_path / MODEL).read_bytes()

    # --quiet, and CI without NEFT_PROGRESS: not one line (the same training, forced to run again)
    for flags, env in ((["--quiet"], {"NEFT_PROGRESS": "1"}), ([], {"CI": "true"})):
        shutil.rmtree((tmp_path / MODEL).parent / ".kept")  # else neft.jobs.keep restores the training instead
        proc = watched(tmp_path, MODEL, "-f", *flags, **env)
        assert "[neft]" not in proc.stdout + proc.stderr
        assert "epoch 2/2" in (tmp_path / MODEL_LOG).read_text()  # the job's log is complete all the same
    # nobody watched them, so they wrote no progress; the checkpoint is the one trained while being watched
    assert not (tmp_path / ROOT).exists()
    assert (tmp_path / MODEL).read_bytes() == model
