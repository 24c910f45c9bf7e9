"""Every path of the paper preset, end to end: the paper-smoke scale through ``tools/gpu_acceptance.sh --cpu``.

The rehearsal runs the test scale and the paper-smoke scale through the workflow, the benchmark, the Monte-Carlo
and determinism checks; the tests below then read what the paper-smoke run left behind (6 panels, 5 methods, the
studies, the scorecard) and run the one variant the preset does not (OVF with the authors' ResNet-18 layers).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from neft.core.checkpoints import load_checkpoint
from neft.core.data.synthetic import write_all

from .conftest import REPO, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
SMOKE = str(REPO / "config/presets/paper-smoke.yaml")
PAIRS = {
    ("vgg8", "mnist"),
    ("vgg8", "cifar10"),
    ("resnet18", "mnist"),
    ("resnet18", "cifar10"),
    ("resnet18", "cifar100"),
    ("resnet18", "tiny_imagenet"),
}
METHODS = {"plain", "noise_injection", "correctnet", "ovf", "irs", "aihwkit_hwa"}
SIGMAS = {0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4}


@pytest.fixture(scope="module")
def smoke(rehearsal):
    work, proc = rehearsal
    assert (work / "paper-smoke/results/tables/accuracy.csv").exists(), proc.stdout[-5000:] + proc.stderr[-5000:]
    return work / "paper-smoke"


def test_the_cpu_rehearsal_passes_every_step_and_writes_its_numbers(rehearsal):
    work, proc = rehearsal
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    assert "| step | result | seconds | details |" in proc.stdout and "PASSED" in proc.stdout
    record = json.loads((work / "out/cpu-rehearsal.json").read_text())
    assert record["passed"] and record["bench"]["machine"]["device"] == "cpu"
    steps = {s["step"]: s for s in record["steps"]}
    assert set(steps) == {
        "environment",
        "workflow: test scale",
        "workflow: paper-smoke scale",
        "benchmark (neft.tools.bench)",
        "MC: CPU vs device",
        "MC: two device runs byte-identical",
        "training: deterministic algorithms",
        "MC: chips per pass",
        "estimate: paper preset device-hours",
        "estimate: GPU scale ladder device-hours",
    }
    assert all(s["ok"] for s in steps.values())
    assert steps["workflow: test scale"]["skipped"] == "--skip-test-scale"  # CI's e2e fixture runs that scale
    assert steps["workflow: paper-smoke scale"]["second_run_nothing_to_do"]  # a second run does nothing
    assert steps["MC: two device runs byte-identical"]["byte_identical"]
    assert steps["training: deterministic algorithms"]["bitwise_equal_checkpoints"]
    assert set(steps["MC: chips per pass"]["fastest"].values()) <= {1, 8, 32}
    assert steps["estimate: paper preset device-hours"]["total_h"] > 0
    ladder = steps["estimate: GPU scale ladder device-hours"]
    assert ladder["total_h"] > 0 and len(ladder["rungs"]) == 7  # config/presets/scale-gpu.yaml at the measured rate


def test_every_table_covers_the_six_panels_and_six_methods(smoke):
    tables = smoke / "results/tables"
    acc = pd.read_csv(tables / "accuracy.csv")
    main = acc[acc.device == "RRAM1"]
    assert set(zip(main.model, main.dataset)) == PAIRS
    for (_model, _dataset), panel in main.groupby(["model", "dataset"]):
        assert set(panel.method) == METHODS
        for _method, curve in panel.groupby("method"):
            assert set(curve.sigma.round(4)) == SIGMAS  # W/O Noise and W/ Noise's sigma 0 come from plain
    for name in ("uncertainty", "confidence"):
        t = pd.read_csv(tables / f"{name}.csv")
        assert set(zip(t.model, t.dataset)) == PAIRS and METHODS <= set(t.method), name
    devices = pd.read_csv(tables / "devices.csv")
    assert set(zip(devices.model, devices.dataset)) == PAIRS
    assert set(devices.device) == {"RRAM1", "FeFET2", "RRAM4", "FeFET6"}
    assert set(devices.method) == METHODS - {"aihwkit_hwa"}  # the device study keeps the paper's five methods
    conv = pd.read_csv(tables / "convergence.csv")
    assert set(zip(conv.model, conv.dataset)) == PAIRS and (conv.runs == 3).all()
    assert set(conv.method) == {"noise_injection", "correctnet", "ovf", "irs"}
    headline = pd.read_csv(tables / "headline.csv")
    assert set(zip(headline.model, headline.dataset)) == PAIRS


def test_every_figure_is_drawn_with_one_file_per_panel(smoke):
    figures = smoke / "results/figures"
    for name in ("accuracy", "uncertainty", "confidence", "convergence", "devices", "scorecard", "device_fit"):
        for ext in ("pdf", "png"):
            assert (figures / f"{name}.{ext}").stat().st_size > 5000, name
    panels = {(p.parent.name, p.stem) for p in (figures / "accuracy_panels").rglob("*.png")}
    assert panels == PAIRS
    assert "Scale: paper-smoke" in (smoke / "results/tables/scorecard.md").read_text()
    assert (smoke / "reports/neft_report.html").stat().st_size > 10_000


def test_the_scorecard_pairs_every_paper_point_with_a_reproduced_row(smoke):
    points = pd.read_csv(smoke / "results/tables/scorecard_points.csv")
    reference = pd.read_csv(REPO / "resources/reference/paper_accuracy.csv")
    assert len(points) == len(reference)
    assert set(zip(points.model, points.dataset)) == PAIRS
    assert (points.status == "compared").all(), points[points.status != "compared"].head()
    assert points.ours.notna().all()


def test_resnet18_trains_with_its_four_irs_heads_and_tiny_imagenet_has_200_classes(smoke):
    log = (smoke / "logs/train/resnet18/tiny_imagenet/irs/RRAM1/sigma~0.4/seed~0.log").read_text()
    assert "IRS: 4 heads on stem, layer1, layer2, layer3 -> 200 classes" in log
    state, meta = load_checkpoint(smoke / "results/models/resnet18/tiny_imagenet/irs/RRAM1/sigma~0.4/seed~0/model.pt")
    assert [meta[k] for k in ("model", "dataset", "method", "num_classes")] == ["resnet18", "tiny_imagenet", "irs", 200]
    assert state["fc.weight"].shape[0] == 200  # the checkpoint is the plain backbone (no head weights)
    assert not any(k.startswith("heads") for k in state)
    data = torch.load(smoke / "results/data/tiny_imagenet/prepared.pt", weights_only=True)
    assert tuple(data["train_x"].shape[1:]) == (3, 64, 64) and len(data["classes"]) == 200
    vgg = (smoke / "logs/train/vgg8/cifar10/irs/RRAM1/sigma~0.2/seed~0.log").read_text()
    assert "IRS: 3 heads on features.2, features.6, features.13 -> 10 classes" in vgg


def test_ovf_runs_with_the_authors_resnet18_layers_too(smoke, tmp_path):
    """The preset trains OVF with sigma raised in every layer; the authors' variant trains here, on the same data."""
    write_all(tmp_path / "resources/synthetic")
    (tmp_path / "authors.yaml").write_text("methods: {ovf: {params: {raise_in: authors}}}\n")
    target = "results/models/resnet18/cifar10/ovf/RRAM1/sigma~0.4/seed~0/model.pt"
    snakemake(target, "--cores", "2", "--configfile", SMOKE, str(tmp_path / "authors.yaml"), cwd=tmp_path)
    log = (tmp_path / "logs/train/resnet18/cifar10/ovf/RRAM1/sigma~0.4/seed~0.log").read_text()
    assert "OVF (raise_in authors): sigma raised in 2 of 21 layers" in log
    ours = (smoke / "logs/train/resnet18/cifar10/ovf/RRAM1/sigma~0.4/seed~0.log").read_text()
    assert "OVF (raise_in all): sigma raised in 21 of 21 layers" in ours
    (a, meta_a), (b, meta_b) = load_checkpoint(tmp_path / target), load_checkpoint(smoke / target)
    assert (meta_a["method_params"]["raise_in"], meta_b["method_params"]["raise_in"]) == ("authors", "all")
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)  # same start, other training
