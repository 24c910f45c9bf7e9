"""The benchmark suite runs end to end at its smallest size (a smoke test: no timing is asserted)."""

import json

import pytest


@pytest.mark.slow
def test_bench_quick_runs_and_writes_json(rehearsal):
    """``python -m neft.tools.bench --quick`` as the GPU acceptance script's CPU rehearsal runs it (one run serves
    both)."""
    work, proc = rehearsal
    out = work / "checks/bench.json"
    assert out.exists(), proc.stdout[-5000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["limits"]["conv3x3_fp32_gflops"] > 0
    for case in report["mc"]:
        labels = [v["variant"] for v in case["variants"]]
        assert labels[0].startswith("reference") and any(label.startswith("ours fp32") for label in labels)
        assert all(v["chips_per_s"] > 0 for v in case["variants"])
    assert set(report["training"]["steps"]) == {"noise_injection", "correctnet", "ovf", "irs"}
    (ak,) = report["aihwkit"]  # quick: the narrow VGG-8 only; the lock installs aihwkit-lightning
    assert set(ak["steps"]) == {"noise_injection", "aihwkit_hwa", "ovf", "aihwkit_hwa x4 forwards"}
    assert all(ms > 0 for ms in ak["steps"].values()) and ak["x_ours_noise_injection"] > 0
    assert "training step against aihwkit-lightning" in proc.stdout
    assert report["workflow"]["dag_build_ok"] and report["workflow"]["paper_preset_jobs"] > 600
    assert report["workflow"]["cold_job_start_s"] > 0 and report["workflow"]["warm_job_start_s"] > 0
    layers = [row["layer"] for row in report["layer_profile"]["layers"]]
    assert any(layer.startswith("conv+ReLU") for layer in layers) and any("MaxPool2d" in layer for layer in layers)
    assert "MC vgg8 width 0.0625" in proc.stdout and "layer by layer" in proc.stdout
    (cpp,) = report["chips_per_pass"]  # quick: the narrow VGG-8 only
    assert [v["chips_per_pass"] for v in cpp["variants"]][-2:] == [8, 32] and cpp["variants"][0]["chips_per_pass"] == 1
    assert all(v["chips_per_s"] > 0 and v["max_abs_confidence_diff"] < 1e-4 for v in cpp["variants"])
    assert cpp["fastest_chips_per_pass"] in (1, 8, 32) and "chips per forward (mc.chips_per_pass)" in proc.stdout
