"""SLURM tier: the test-scale workflow through profiles/slurm on a real single-node SLURM, against a local run.

The cluster (tests/slurm_cluster.py) is installed with apt-get and started by hand on 127.0.0.1, so the test is a
``system`` test: it runs only with NEFT_SYSTEM_TESTS=1 (tests/conftest.py; .ci/run sets it), and is skipped even then
where that is impossible (not root, no apt-get). It checks that every non-local job went through SLURM
(the Monte-Carlo sweeps as one group submission), that SLURM saw each of those jobs complete, and that the MC
CSVs and the accuracy table are byte-identical to a local run of the same config.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from .conftest import REPO
from .slurm_cluster import SlurmCluster, SlurmUnavailable

pytestmark = [pytest.mark.slurm, pytest.mark.system]

TEST_PRESET = str(REPO / "config/presets/test.yaml")
PROFILE = str(REPO / "profiles/slurm")
# Two methods, three MC sweeps (W/O Noise at sigma 0 and 0.1, W/ Noise at 0.1), no optional studies.
SMALL = (
    "experiments: {methods: [plain, noise_injection]}\n"
    "ablation: {enabled: false}\nconvergence: {enabled: false}\ndevice_study: {enabled: false}\n"
)
TARGETS = ["table_accuracy", "figure_accuracy"]
# Jobs of this DAG that are not localrules: device_card, prepare_dataset, 2 x train, aggregate_mc, accuracy_data,
# tabulate_accuracy, plot_accuracy as single submissions, and the 3 evaluate_mc jobs as one group submission.
SINGLE_SUBMISSIONS = 8
MC_JOBS = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # a missing plugin is an install error (requirements/lock.txt pins it), not a reason to skip
    assert importlib.util.find_spec("snakemake_executor_plugin_slurm"), "snakemake-executor-plugin-slurm is missing"
    c = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        c.start()
    except SlurmUnavailable as err:
        pytest.skip(f"no SLURM test cluster: {err}")
    try:
        yield c
    finally:
        c.stop()


def run(workdir, *args, timeout, cluster=None) -> str:
    """Snakemake on the repository's Snakefile in ``workdir``; its output, or a failure that shows it."""
    (workdir / "small.yaml").write_text(SMALL)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *TARGETS]
    cmd += ["--configfile", TEST_PRESET, str(workdir / "small.yaml"), *args]
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"").decode(errors="replace") + (err.stderr or b"").decode(errors="replace")
        logs = cluster.logs() if cluster else ""
        pytest.fail(f"snakemake did not finish in {timeout} s:\n{out[-6000:]}\n{logs}")
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        logs = cluster.logs() if cluster else ""
        pytest.fail(f"snakemake failed ({proc.returncode}):\n{out[-8000:]}\n{logs}")
    return out


def outputs(workdir) -> dict[str, bytes]:
    files = sorted((workdir / "results/mc").rglob("*.csv")) + [workdir / "results/tables/accuracy.csv"]
    return {str(f.relative_to(workdir)): f.read_bytes() for f in files}


def test_workflow_through_slurm_matches_local_run(cluster, tmp_path):
    slurm_dir, local_dir = tmp_path / "slurm", tmp_path / "local"
    slurm_dir.mkdir()
    local_dir.mkdir()

    # the profile as shipped; only the first status check comes sooner (MinJobAge 600 s >= 3 x 10 s keeps squeue).
    # The plugin then checks 10, 30, 60, ... s after a submission: most jobs here take 10 to 25 s.
    log = run(
        slurm_dir,
        "--workflow-profile",
        PROFILE,
        "--slurm-init-seconds-before-status-checks",
        "10",
        timeout=240,
        cluster=cluster,
    )
    run(local_dir, "--cores", "2", timeout=240)

    # every non-local job was submitted with sbatch: numeric Snakemake job ids for single jobs, a group id
    # (a UUID) for the group of Monte-Carlo sweeps
    submitted = dict(re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+)", log))
    groups = {job: sid for job, sid in submitted.items() if not job.isdigit()}
    assert len(submitted) == SINGLE_SUBMISSIONS + 1, log
    assert len(groups) == 1, log
    assert log.count("rule evaluate_mc:") == MC_JOBS and "localrule evaluate_mc" not in log
    assert "localrule train" not in log

    # ... and SLURM ran each of them to completion under this run's job name
    run_id = re.search(r"SLURM run ID: (\S+)", log)[1]
    seen = cluster.jobs()
    for job, slurm_id in submitted.items():
        assert seen.get(slurm_id) == ("COMPLETED", run_id), (job, slurm_id, seen)

    # the same bytes as the local run: every MC CSV (one row per chip) and the accuracy table
    ours, reference = outputs(slurm_dir), outputs(local_dir)
    assert len(ours) == MC_JOBS + 1
    assert ours.keys() == reference.keys()
    for name in ours:
        assert ours[name] == reference[name], name
    assert (slurm_dir / "results/figures/accuracy.png").stat().st_size > 0
