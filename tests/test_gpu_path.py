"""The places where the device matters, checked where a CPU can check them (the rest: tools/gpu_acceptance.sh).

Reviewed for CUDA: generators are created on the training/MC device and noise is drawn on the weight's device
(``DeviceCard.perturb``); checkpoints and resume states load with ``map_location="cpu"`` (generator states must
stay CPU tensors); training images are moved to the device once; the oneDNN conv+ReLU fusion is CPU-only; TF32 is
off unless ``mc.precision: tf32``; ``compute.deterministic`` switches GPU training to deterministic kernels; the GPU
request follows ``compute.device``.
"""

from __future__ import annotations

import subprocess
import sys

import torch

from neft.core.devices import get
from neft.core.mc import ChipEvaluator, McSettings, _conv_relu, can_fuse_conv_relu
from neft.core.models import build_model

from .conftest import REPO, snakemake


def test_deterministic_switch_sets_every_flag_before_cuda_starts():
    code = (
        "import os, torch; from neft.util.perf import tune_process; tune_process(1, deterministic=True); "
        "print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(), "
        "torch.backends.cudnn.deterministic, "
        "torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32, os.environ['CUBLAS_WORKSPACE_CONFIG'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "True", "False", "False", ":4096:8"]
    off = subprocess.run(
        [
            sys.executable,
            "-c",
            code.replace("deterministic=True", "deterministic=False").split("; print")[0]
            + "; print(torch.are_deterministic_algorithms_enabled())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert off == ["False"]


def _fused(ev: ChipEvaluator) -> bool:
    return any(n.op == "call_function" and n.target is _conv_relu for n in ev.model.graph.nodes)


def test_conv_relu_fusion_is_for_cpus_only():
    assert not can_fuse_conv_relu(torch.device("cuda"))
    model = build_model("vgg8", 10, 1, 32, 0.0625).eval()
    x, y = torch.randn(4, 1, 32, 32), torch.zeros(4, dtype=torch.long)
    assert _fused(ChipEvaluator(model, get("RRAM1"), x, y)) == can_fuse_conv_relu(torch.device("cpu"))
    assert not _fused(
        ChipEvaluator(model, get("RRAM1"), x, y, McSettings(precision="bf16"))
    )  # autocast would be bypassed


def test_training_images_move_to_the_device_once(monkeypatch, tmp_path):
    """One host-to-device copy of the whole uint8 training split, none per batch."""
    from neft.core.data.loader import Split
    from neft.core.data.registry import get_spec
    from neft.core.methods import build_method
    from neft.core.train import TrainData, Training, TrainOutputs, TrainSettings, seeded_model, train

    moved = []
    original = Split.to

    def spy(self, device):
        moved.append((len(self), torch.device(device)))
        return original(self, device)

    monkeypatch.setattr(Split, "to", spy)
    spec = get_spec("mnist")
    g = torch.Generator().manual_seed(0)
    split = Split(torch.randint(0, 255, (16, 1, 32, 32), dtype=torch.uint8, generator=g), torch.arange(16) % 10)
    net = seeded_model("vgg8", spec, 0.0625, 0)
    settings = TrainSettings(epochs=2, batch_size=4, lr=1e-3, selection_split="val", selection_chips=0)
    train(
        net,
        Training("vgg8", build_method("noise_injection", {}), get("RRAM1"), 0.1),
        TrainData(spec, {"train": split, "val": split}, torch.device("cpu")),
        settings,
        TrainOutputs(tmp_path / "m.pt", tmp_path / "l.csv"),
    )
    assert moved == [(16, torch.device("cpu"))]  # the train split, once for two epochs of four batches


def test_gpu_requests_follow_compute_device(tmp_path):
    test = str(REPO / "config/presets/test.yaml")
    for device, gpu in (("cuda", "gpu=1"), ("cpu", "gpu=0")):
        (tmp_path / "device.yaml").write_text(f"compute: {{device: {device}}}\n")
        out = snakemake(
            "table_accuracy", "-n", "--configfile", test, str(tmp_path / "device.yaml"), cwd=tmp_path
        ).stdout
        for rule in ("train", "evaluate_mc"):
            block = out.split(f"rule {rule}:")[1].split("\n\n")[0]
            assert f"{gpu}," in block, (device, rule, block)
