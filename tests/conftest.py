"""Shared fixtures: the repository root, config loading as Snakemake merges it, and Snakemake runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
#: Tests marked ``system`` install or need system packages, or start system services (tests/test_slurm.py: apt-get
#: install of slurm and munge, /etc/slurm/slurm.conf, daemons as root; the report's rendering with Debian's chromium in
#: tests/test_report_layout.py); they run only when this variable is 1 (.ci/run sets it).
SYSTEM_TESTS_ENV = "NEFT_SYSTEM_TESTS"


def system_tests_enabled() -> bool:
    return os.environ.get(SYSTEM_TESTS_ENV, "") == "1"


def pytest_collection_modifyitems(config, items):
    if system_tests_enabled():
        return
    skip = pytest.mark.skip(
        reason=(
            "system test: installs or needs system packages, or starts system services (as root); "
            f"run it with {SYSTEM_TESTS_ENV}=1 .venv/bin/python -m pytest"
        )
    )
    for item in items:
        if item.get_closest_marker("system") is not None:
            item.add_marker(skip)


def deep_merge(base: dict, over: dict) -> dict:
    """Snakemake's merge of --configfile over the Snakefile's configfile: mappings recursively, else replace."""
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(*presets: str | Path, extra: dict | None = None) -> dict:
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for p in presets:
        cfg = deep_merge(cfg, yaml.safe_load((REPO / p).read_text()))
    return deep_merge(cfg, extra or {})


def snakemake(*args: str, cwd: Path | None = None, check: bool = True, timeout: float = 900):
    """Run Snakemake with this interpreter on the repository's Snakefile (outputs go to ``cwd``)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *args]
    proc = subprocess.run(cmd, cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory):
    """``tools/gpu_acceptance.sh --cpu`` once per session (about 7 minutes on 2 cores): the paper-smoke tests read its
    workflow outputs, the benchmark test its ``neft.tools.bench`` run."""
    work = tmp_path_factory.mktemp("acceptance")
    cmd = ["bash", str(REPO / "tools/gpu_acceptance.sh"), "--cpu", "--work", str(work), "--out", str(work / "out")]
    # the test-scale step is left out: tests/test_workflow.py's e2e fixture runs that scale on this CPU already
    cmd += ["--cores", "2", "--chips", "20", "--skip-test-scale"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=2400)
    return work, proc


#: the job functions' former keyword names, for tests that vary one input at a time: (spec field, or paths field)
_JOB_FIELDS = {"data_cfg": "data"}
_PATH_FIELDS = {
    "data_path": "data",
    "card_path": "card",
    "checkpoint": "checkpoint",
    "out_model": "model",
    "out_log": "log",
    "state_path": "state",
    "out_csv": "chips",
    "out_stats": "stats",
    "sampled_csv": "sampled",
    "out_json": "out",
}


def job_and_paths(job_cls, paths_cls, kw: dict):
    """(job spec, paths, log) from one flat dict of a job's inputs, so a test case can override any one of them:
    ``mc_job(*job_and_paths(EvalJob, EvalPaths, base | {"checkpoint": bad}))``."""
    kw = dict(kw)
    log = kw.pop("log", print)
    paths = {_PATH_FIELDS[k]: kw.pop(k) for k in list(kw) if k in _PATH_FIELDS}
    job = {_JOB_FIELDS.get(k, k): v for k, v in kw.items()}
    return job_cls(**job), paths_cls(**paths), log
