"""Benchmark suite: Monte-Carlo throughput against the authors' evaluation loop, the machine's measured limits,
training step cost per method, and the workflow's own overhead, all measured side by side in one run.

    python -m neft.tools.bench            # the full suite on this machine (CPU: about 10 minutes) python -m
    neft.tools.bench --quick    # small sizes (about a minute); what CI runs as a smoke test python -m neft.tools.bench
    --json out.json python -m neft.tools.bench --chips-per-pass-only    # only chips/s for mc.chips_per_pass K = 1, 8,
    32 (GPU acceptance)
    python -m neft.tools.bench --aihwkit-only           # only our training steps against aihwkit-lightning's

Ratios are what to read: absolute numbers move with the machine's load; ratios are measured in the same process,
allocator and minute. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neft.core import devices, interop
from neft.core.checkpoints import load_checkpoint, load_model, save_checkpoint
from neft.core.data import Preprocess, preprocess_all
from neft.core.mc import ChipEvaluator, McSettings, _conv_relu, adaptive_done, can_fuse_conv_relu
from neft.core.methods import build_method
from neft.core.methods.base import Step
from neft.core.models import build_model, noisy_weight_names
from neft.core.noise import NoisyForward
from neft.jobs.runs import load_splits, prepare_job
from neft.util.perf import GLIBC_DEFAULT_MMAP_THRESHOLD, TUNED_MMAP_THRESHOLD, set_mmap_threshold, tune_process
from neft.util.stats import ci_half_width
from neft.workflow.warmstart import ENV_SOCKET, WarmServer

REPO = Path(__file__).resolve().parents[3]


def _mc(**fields) -> McSettings:
    """The Monte-Carlo settings each case measures: the workflow's, but without the expected-KL bootstrap, as every
    recorded benchmark was measured (``mc.ekl_bootstrap`` adds per-chip sums, not a forward pass)."""
    return McSettings(ekl_bootstrap=0, **fields)


# -- timing helpers -------------------------------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeat: int = 3, warmup: int = 1) -> float:
    """Best wall time of ``repeat`` calls after ``warmup`` (best-of: the least disturbed by other load)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


# -- machine limits -------------------------------------------------------------------------------------------------
def gemm_flops(device: torch.device, dtype: torch.dtype, n: int) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    t = timed(lambda: a @ b, device, repeat=5)
    return 2 * n**3 / t


def conv_flops(device: torch.device, dtype: torch.dtype, batch: int, channels: int, size: int) -> float:
    """A large 3x3 convolution in channels_last: on CPUs it measures the attainable conv rate better than GEMM."""
    conv = (
        nn.Conv2d(channels, channels, 3, padding=1, bias=False).to(device, dtype).to(memory_format=torch.channels_last)
    )
    x = torch.randn(batch, channels, size, size, device=device, dtype=dtype).contiguous(
        memory_format=torch.channels_last
    )
    with torch.inference_mode():
        t = timed(lambda: conv(x), device, repeat=5)
    return 2 * batch * size * size * channels * channels * 9 / t


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            nn.Conv2d(2, 2, 3)(torch.randn(1, 2, 8, 8))
        return True
    except RuntimeError:
        return False


# -- FLOP count -----------------------------------------------------------------------------------------------------
def macs_per_image(model: nn.Module, shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of every Conv2d and Linear for one image (what the noise model touches)."""
    total = 0

    def conv_hook(m: nn.Conv2d, _i, out):
        nonlocal total
        total += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m: nn.Linear, _i, out):
        nonlocal total
        total += m.in_features * m.out_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    model.train(was)
    for h in hooks:
        h.remove()
    return total


# -- the authors' evaluation loop, re-implemented for comparison (benchmark only) ------------------------------------
def reference_loop(name, classes, shape, width, checkpoint, card, sigma, x, y, chips, device) -> list[float]:
    """Per chip: rebuild the model, reload the checkpoint from disk, draw each layer's noise on the CPU with
    torch.normal, then evaluate the test set from a Python list of batches of 128 (as the authors' code does)."""
    xs = list(x.cpu().split(128))
    ys = list(y.cpu().split(128))
    accuracies = []
    for _ in range(chips):
        model = build_model(name, classes, shape[0], shape[1], width)
        model.load_state_dict(load_checkpoint(checkpoint, map_location=None)[0])
        model.to(device).eval()
        with torch.no_grad():
            for layer in noisy_weight_names(model):
                w = model.get_parameter(layer)
                wmax = w.abs().max().item()
                std = card.c * card.effective_sigma(sigma) * wmax
                ratio = w.abs().cpu() / wmax
                lo, hi = card.middle_band
                k = torch.where((ratio > lo) & (ratio < hi), card.middle_multiplier, 1.0)
                w.add_((torch.normal(0.0, std, size=w.shape) * k).to(device))
            correct = 0
            for xb, yb in zip(xs, ys):
                correct += (model(xb.to(device)).argmax(1) == yb.to(device)).sum().item()
        accuracies.append(100.0 * correct / len(y))
    return accuracies


# -- MC variants ----------------------------------------------------------------------------------------------------
def round_robin(cases: list[tuple], device, rounds: int) -> list[float]:
    """Best time of each (fn, mmap threshold) over ``rounds`` rounds that visit every case once, after one warm-up
    round: a slow minute on a shared machine then hits every variant alike instead of one. A case whose allocator
    setting differs from the previous case's gets an untimed run first: the first passes after a switch pay the
    page faults of re-growing the heap, which would otherwise be charged to whichever variant comes next."""
    best = [float("inf")] * len(cases)
    current = None
    for r in range(rounds + 1):
        for i, (fn, threshold) in enumerate(cases):
            set_mmap_threshold(threshold)
            if r and threshold != current:
                fn()
            current = threshold
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            if r:
                best[i] = min(best[i], time.perf_counter() - t0)
    set_mmap_threshold(TUNED_MMAP_THRESHOLD)
    return best


def _case_inputs(name: str, width: float, shape, classes: int, n_images: int):
    """A seeded model with plausible BN statistics (so that folding does real work), RRAM1, random test data."""
    torch.manual_seed(0)
    model = build_model(name, classes, shape[0], shape[1], width).eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 1.5)
            m.running_mean.normal_(0, 0.1)
    return model, devices.get("RRAM1"), torch.randn(n_images, *shape), torch.randint(0, classes, (n_images,))


def mc_case(
    name: str, width: float, shape, classes: int, n_images: int, chips: int, device, limit: float, bf16_ok, rounds=3
):
    """Chips per second of the reference loop and of our fast path (variants), with achieved FLOP/s."""
    model, card, x, y = _case_inputs(name, width, shape, classes, n_images)
    flop_per_chip = 2 * macs_per_image(model, shape) * n_images
    sigma = 0.1
    out = {
        "model": f"{name} width {width:g}",
        "images": n_images,
        "chips": chips,
        "gflop_per_chip": flop_per_chip / 1e9,
    }
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "model.pt"
        save_checkpoint(ckpt, model.state_dict(), {"model": name, "width": width, "num_classes": classes})
        rows = []

        def run_reference():
            reference_loop(name, classes, shape, width, ckpt, card, sigma, x, y, chips, device)

        def ours(batch, fuse=None, **settings):  # settings: McSettings fields (fold_bn, precision)
            ev = ChipEvaluator(model, card, x.to(device), y, _mc(batch_size=batch, **settings), fuse=fuse)
            return lambda: ev.evaluate(sigma, chips)

        batch = min(n_images, 1000)
        variants = [
            ("reference (authors' loop), glibc default mmap", run_reference, GLIBC_DEFAULT_MMAP_THRESHOLD),
            ("reference (authors' loop), allocator fix", run_reference, TUNED_MMAP_THRESHOLD),
            ("ours fp32, glibc default mmap", ours(batch), GLIBC_DEFAULT_MMAP_THRESHOLD),
            ("ours fp32 (workflow default)", ours(batch), TUNED_MMAP_THRESHOLD),
            ("ours fp32, batch 128", ours(128), TUNED_MMAP_THRESHOLD),
            ("ours fp32, no BN folding", ours(batch, fold_bn=False), TUNED_MMAP_THRESHOLD),
        ]
        if can_fuse_conv_relu(device):
            variants.append(("ours fp32, no conv+ReLU fusion", ours(batch, fuse=False), TUNED_MMAP_THRESHOLD))
        if bf16_ok:
            variants.append(("ours bf16 autocast", ours(batch, precision="bf16"), TUNED_MMAP_THRESHOLD))
        best = round_robin([(fn, threshold) for _, fn, threshold in variants], device, rounds)
        for (label, _, _), seconds in zip(variants, best):
            rows.append(
                {"variant": label, "chips_per_s": chips / seconds, "gflops": chips * flop_per_chip / seconds / 1e9}
            )
        set_mmap_threshold(TUNED_MMAP_THRESHOLD)
        ref = rows[0]["chips_per_s"]
        for r in rows:
            r["x_reference"] = r["chips_per_s"] / ref
            r["fraction_of_conv_limit"] = r["gflops"] * 1e9 / limit
    out["variants"] = rows
    return out


def chips_per_pass_case(
    name: str,
    width: float,
    shape,
    classes: int,
    n_images: int,
    chips: int,
    device,
    batch: int | None = None,
    ks: tuple[int, ...] = (1, 8, 32),
    rounds: int = 2,
) -> dict:
    """Chips per second with K = ``ks`` chips per batched forward (mc.chips_per_pass), side by side on the same
    model and chips, round-robin timed. K = 1 is the workflow's default path (on a CPU with oneDNN: conv+ReLU fused);
    there K = 1 unfused is timed too, the arithmetic every K > 1 runs (vmap cannot fuse). Also reports how far each
    variant's rows are from the default's (float rounding only: same chips, other kernels)."""
    device = torch.device(device)
    model, card, x, y = _case_inputs(name, width, shape, classes, n_images)
    batch = batch or min(n_images, 1000)
    sigma = 0.1
    fusion = can_fuse_conv_relu(device)
    specs = [(1, None, "K=1, conv+ReLU fused (workflow default)" if fusion else "K=1 (workflow default)")]
    if fusion:
        specs.append((1, False, "K=1, unfused"))
    specs += [(k, None, f"K={k}, vmap over stacked weights (unfused)") for k in ks if k > 1]
    results: dict[str, list[dict]] = {}
    cases = []
    for k, fuse, label in specs:
        ev = ChipEvaluator(model, card, x.to(device), y, _mc(batch_size=batch, chips_per_pass=k), fuse=fuse)

        def one(ev=ev, label=label):
            results[label] = ev.evaluate(sigma, chips).rows

        cases.append((one, TUNED_MMAP_THRESHOLD))
    best = round_robin(cases, device, rounds)
    del cases
    ref_rows = results[specs[0][2]]
    rows = []
    for (k, fuse, label), seconds in zip(specs, best):
        got = results[label]
        rows.append(
            {
                "variant": label,
                "chips_per_pass": k,
                "fused": bool(fusion and fuse is None and k == 1),
                "chips_per_s": chips / seconds,
                "max_abs_accuracy_diff": max(abs(a["accuracy"] - b["accuracy"]) for a, b in zip(got, ref_rows)),
                "max_abs_confidence_diff": max(abs(a["confidence"] - b["confidence"]) for a, b in zip(got, ref_rows)),
            }
        )
    for r in rows:
        r["x_k1"] = r["chips_per_s"] / rows[0]["chips_per_s"]
    fastest = max(rows, key=lambda r: r["chips_per_s"])
    return {
        "model": f"{name} width {width:g}",
        "device": str(device),
        "images": n_images,
        "chips": chips,
        "batch_size": batch,
        "variants": rows,
        "fastest_chips_per_pass": fastest["chips_per_pass"],
        "fastest_variant": fastest["variant"],
    }


def chips_per_pass_section(quick: bool, device, ks: tuple[int, ...] = (1, 8, 32)) -> list[dict]:
    """VGG-8 at a narrow width (the mini scale's kind of model) and, unless ``quick``, at full width. Sizes keep a
    CPU run to a few minutes; on CUDA the sizes are closer to a real sweep. The full-width batch is kept small
    because K > 1 holds K copies of one batch's activations (mc.batch_size bounds them)."""
    cuda = torch.device(device).type == "cuda"
    chips = max(ks) if quick else 2 * max(ks)
    narrow = 128 if quick else (2000 if cuda else 512)
    out = [chips_per_pass_case("vgg8", 0.0625, (1, 32, 32), 10, narrow, chips, device, ks=ks, rounds=1 if quick else 3)]
    if not quick:
        full, batch = (1000, 250) if cuda else (32, 32)
        rounds = 2 if cuda else 1
        out.append(chips_per_pass_case("vgg8", 1.0, (3, 32, 32), 10, full, max(ks), device, batch, ks, rounds))
    return out


def fastest_chips_per_pass(device: str = "cuda", quick: bool = False, ks: tuple[int, ...] = (1, 8, 32)) -> dict:
    """For the GPU acceptance script: chips/s per K on this machine and the fastest K per model, e.g.
    ``python -c "from neft.tools.bench import fastest_chips_per_pass as f; print(f('cuda'))"``, or
    ``python -m neft.tools.bench --chips-per-pass-only --json out.json`` for the same with the report printed."""
    cases = chips_per_pass_section(quick, device, ks)
    return {
        "fastest": {c["model"]: c["fastest_chips_per_pass"] for c in cases},
        "chips_per_s": {c["model"]: {v["variant"]: v["chips_per_s"] for v in c["variants"]} for c in cases},
        "cases": cases,
    }


class _TimedInterpreter(torch.fx.Interpreter):
    """Runs a GraphModule node by node and keeps, per node, the best time and the MACs of its conv or linear."""

    def __init__(self, gm, device) -> None:
        super().__init__(gm)
        self.device = device
        self.seconds: dict[str, float] = {}
        self.macs: dict[str, int] = {}
        self.kind: dict[str, str] = {}

    def run_node(self, n):
        _sync(self.device)
        t = time.perf_counter()
        out = super().run_node(n)
        _sync(self.device)
        dt = time.perf_counter() - t
        if n.op in ("call_module", "call_function"):
            self.seconds[n.name] = min(self.seconds.get(n.name, float("inf")), dt)
            self.kind[n.name], self.macs[n.name] = self._describe(n, out)
        return out

    def _describe(self, n, out) -> tuple[str, int]:
        target = self.module.get_submodule(n.target) if n.op == "call_module" else n.target
        if target is _conv_relu or isinstance(target, nn.Conv2d):
            fused = target is _conv_relu
            w = self.fetch_attr(n.args[1].target) if fused else target.weight
            label = "conv+ReLU" if fused else "conv"
            return f"{label} {w.shape[1]}->{w.shape[0]} @{out.shape[-1]}", out.numel() * w[0].numel()
        if isinstance(target, nn.Linear):
            return f"linear {target.in_features}->{target.out_features}", out.numel() * target.in_features
        name = type(target).__name__ if n.op == "call_module" else getattr(target, "__name__", str(target))
        return f"{name} {tuple(out.shape[1:])}" if isinstance(out, torch.Tensor) else name, 0


def layer_profile(name, width, shape, classes, n_images, device, limit, repeat: int = 5) -> dict:
    """Where the MC forward spends its time, layer by layer, in the graph the workflow runs (BN folded, conv+ReLU
    fused): which layers reach the conv limit and which cannot (a 1-channel first conv, memory-bound pooling)."""
    torch.manual_seed(0)
    model = build_model(name, classes, shape[0], shape[1], width).eval()
    x = torch.randn(n_images, *shape)
    ev = ChipEvaluator(model, devices.get("RRAM1"), x.to(device), torch.zeros(n_images, dtype=torch.long), _mc())
    interp = _TimedInterpreter(ev.model, torch.device(device))
    with torch.inference_mode():
        for _ in range(repeat):
            interp.run(ev.x)
    total = sum(interp.seconds.values())
    rows = [
        {
            "node": node,
            "layer": interp.kind[node],
            "ms": 1e3 * sec,
            "share": sec / total,
            "fraction_of_conv_limit": 2 * interp.macs[node] / sec / limit if interp.macs[node] else None,
        }
        for node, sec in interp.seconds.items()
        if sec / total >= 0.005
    ]
    return {"model": f"{name} width {width:g}", "images": n_images, "total_ms": 1e3 * total, "layers": rows}


def compile_case(name, width, shape, classes, n_images, chips, device) -> dict:
    """torch.compile pays a one-off compile; report it and the steady-state speed-up separately."""
    torch.manual_seed(0)
    model = build_model(name, classes, shape[0], shape[1], width).eval()
    x, y = torch.randn(n_images, *shape), torch.randint(0, classes, (n_images,))
    card = devices.get("RRAM1")
    eager = ChipEvaluator(model, card, x.to(device), y, _mc(batch_size=n_images))
    t0 = time.perf_counter()
    compiled = ChipEvaluator(model, card, x.to(device), y, _mc(batch_size=n_images, compile=True))
    compiled.evaluate(0.1, 1)
    cold = time.perf_counter() - t0
    te = timed(lambda: eager.evaluate(0.1, chips), device, repeat=2)
    tc = timed(lambda: compiled.evaluate(0.1, chips), device, repeat=2)
    return {
        "model": f"{name} width {width:g}",
        "cold_compile_s": cold,
        "eager_chips_per_s": chips / te,
        "compiled_chips_per_s": chips / tc,
        "speedup": te / tc,
    }


def bf16_accuracy_check(device, chips: int) -> dict | None:
    """Does bf16 move the MC mean by more than its CI? Needs a trained model: the mini run's W/O Noise checkpoint."""
    ckpt = REPO / "results/models/vgg8/mnist/plain/RRAM1/sigma~0/seed~0/model.pt"
    data = REPO / "results/data/mnist/prepared.pt"
    if not (ckpt.exists() and data.exists()):
        return None

    spec, splits = load_splits("mnist", {}, str(data), {"test_subset": 2000})
    net, _ = load_model(ckpt)  # its architecture and width from its metadata
    x = preprocess_all(splits["test"], Preprocess(spec, device), device)
    result = {}
    for precision in ("fp32", "bf16"):
        ev = ChipEvaluator(net, devices.get("RRAM1"), x.to(device), splits["test"].y, _mc(precision=precision))
        result[precision] = [r["accuracy"] for r in ev.evaluate(0.07, chips).rows]
    diff = float(np.mean(result["bf16"]) - np.mean(result["fp32"]))
    half = ci_half_width(result["fp32"])
    return {
        "chips": chips,
        "sigma": 0.07,
        "mean_fp32": float(np.mean(result["fp32"])),
        "mean_bf16": float(np.mean(result["bf16"])),
        "diff": diff,
        "ci95_half_width_fp32": half,
        "verdict": "accepted (within CI)" if abs(diff) <= half else "refused (moves the mean beyond the CI)",
    }


# -- training -------------------------------------------------------------------------------------------------------
def training_case(width: float, batch: int, steps: int, device, rounds: int = 3) -> dict:
    x = torch.randn(batch, 1, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    card = devices.get("RRAM1")
    kinds = ("noise_injection", "correctnet", "ovf", "irs")
    cases = []
    for kind in kinds:
        torch.manual_seed(0)
        model = build_model("vgg8", 10, 1, 32, width).to(device).to(memory_format=torch.channels_last)
        method = build_method(kind, {"beta": 1e-3} if kind in ("ovf", "irs") else {})
        aux = method.build_aux(model, card, "vgg8", 10, 32)
        params = list(model.parameters()) + (list(aux.to(device).parameters()) if aux is not None else [])
        opt = torch.optim.Adam(params, 1e-3)
        step = Step(
            model, NoisyForward(model, card), 0.1, torch.Generator(device=device).manual_seed(0), aux, "vgg8", "mnist"
        )

        def one(method=method, step=step, opt=opt):
            for _ in range(steps):
                loss = method.loss(step, x, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

        cases.append((one, TUNED_MMAP_THRESHOLD))
    seconds = dict(zip(kinds, (t / steps for t in round_robin(cases, device, rounds))))
    base = seconds["noise_injection"]
    return {
        "model": f"vgg8 width {width:g}",
        "batch": batch,
        "steps": {k: {"ms": 1000 * v, "x_noise_injection": v / base} for k, v in seconds.items()},
    }


def aihwkit_case(width: float, batch: int, steps: int, device, rounds: int = 3) -> dict | None:
    """Our training steps against IBM's aihwkit-lightning on the same VGG-8, batch and noise (RRAM1 at 0.1), timed
    round-robin in one process: W/ Noise (ours: ``noise_injection``; theirs: ``aihwkit_hwa``'s twin and
    ``AnalogOptimizer``), and our OVF step (four noisy forwards, one backward) against four of its noisy forwards
    with one backward. ``x_ours`` > 1 means ours is faster. None when aihwkit-lightning is not installed."""

    if not interop.available():
        return None
    x = torch.randn(batch, 1, 32, 32, device=device)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    card, sigma = devices.get("RRAM1"), 0.1

    def ours(kind: str):
        torch.manual_seed(0)
        model = build_model("vgg8", 10, 1, 32, width).to(device).to(memory_format=torch.channels_last)
        method = build_method(kind, {"beta": 1e-3} if kind == "ovf" else {})
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        step = Step(model, NoisyForward(model, card), sigma, torch.Generator(device=device).manual_seed(0))

        def one():
            for _ in range(steps):
                loss = method.loss(step, x_cl, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

        return one

    def theirs(forwards: int):
        torch.manual_seed(0)
        model = build_model("vgg8", 10, 1, 32, width).to(device)
        twin = interop.analog_twin(model, interop.rpu_config(card, sigma)).train()
        opt = interop.optimizer(twin, list(twin.parameters()), 1e-3, 0.0)

        def one():
            for _ in range(steps):
                loss = sum(nn.functional.cross_entropy(twin(x), y) for _ in range(forwards))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

        return one

    names = ("noise_injection", "aihwkit_hwa", "ovf", "aihwkit_hwa x4 forwards")
    fns = (ours("noise_injection"), theirs(1), ours("ovf"), theirs(4))
    seconds = dict(
        zip(names, (t / steps for t in round_robin([(f, TUNED_MMAP_THRESHOLD) for f in fns], device, rounds)))
    )
    return {
        "model": f"vgg8 width {width:g}",
        "batch": batch,
        "steps": {k: 1000 * v for k, v in seconds.items()},
        "x_ours_noise_injection": seconds["aihwkit_hwa"] / seconds["noise_injection"],
        "x_ours_ovf": seconds["aihwkit_hwa x4 forwards"] / seconds["ovf"],
    }


# -- workflow overhead ----------------------------------------------------------------------------------------------
def workflow_overhead() -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(REPO / "Snakefile"),
                "reproduce_all",
                "-n",
                "--quiet",
                "rules",
                "--configfile",
                str(REPO / "config/presets/paper.yaml"),
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        out["dag_build_paper_preset_s"] = time.perf_counter() - t0
        out["dag_build_ok"] = proc.returncode == 0
        jobs = re.findall(r"^total\s+(\d+)\s*$", proc.stdout + proc.stderr, flags=re.M)
        out["paper_preset_jobs"] = int(jobs[0]) if jobs else None

        data = Path(tmp) / "mnist.pt"
        prepare_job("mnist", {}, str(data), str(Path(tmp) / "dl"), False, log=lambda m: None)
        code = (
            "import time; t0 = time.perf_counter(); import neft.jobs.runs as r; t1 = time.perf_counter(); "
            f"r.load_splits('mnist', {{}}, {str(data)!r}, {{'test_subset': 2000}}); t2 = time.perf_counter(); "
            "print(t1 - t0, t2 - t1)"
        )
        starts = []
        for _ in range(3):
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            total = time.perf_counter() - t0
            imp, load = map(float, res.stdout.split())
            starts.append((total, imp, load))
        best = min(starts)
        out |= {"job_startup_s": best[0], "import_s": best[1], "data_load_s": best[2]}
        out |= warm_start_overhead(Path(tmp))
    return out


def warm_start_overhead(tmp: Path, repeat: int = 3) -> dict:
    """A job script that imports what a training job imports and the first optimiser step pulls in (torch._dynamo),
    started cold (a new interpreter, as Snakemake starts it) and warm (handed to neft.workflow.warmstart's server), side
    by side; the server's own start is paid once per workflow run."""

    script = tmp / "job.py"
    script.write_text(
        "__real_file__ = __file__\nfrom neft.workflow.warmstart import delegate\ndelegate(globals())\n"
        "import torch._dynamo, neft.jobs.runs\n"
    )
    t0 = time.perf_counter()
    server = WarmServer(log=tmp / "warm.log")
    started = time.perf_counter() - t0
    try:
        if not server.ready:
            return {"warm_start": "server not ready"}
        times: dict[str, list[float]] = {"cold": [], "warm": []}
        for _ in range(repeat):
            for mode in ("cold", "warm"):
                env = {k: v for k, v in os.environ.items() if k != ENV_SOCKET}
                if mode == "warm":
                    env[ENV_SOCKET] = server.socket
                t0 = time.perf_counter()
                subprocess.run([sys.executable, str(script)], env=env, check=True)
                times[mode].append(time.perf_counter() - t0)
    finally:
        server.stop()
    return {
        "cold_job_start_s": min(times["cold"]),
        "warm_job_start_s": min(times["warm"]),
        "warm_server_start_s": started,
    }


# -- adaptive chips on the mini run ---------------------------------------------------------------------------------
def adaptive_savings(chips_csv: Path, targets=(1.0, 2.0, 3.0), min_chips: int = 10) -> list[dict] | None:
    """Chips the adaptive rule uses on a finished run, against the fixed count that reaches the same CI target at
    every point (the count the worst point needs). Where a point reaches the target within the run's chips the
    count is exact (an adaptive run is a prefix of the fixed-count sequence); beyond them it is estimated from the
    run's std, n = (1.96 s / target)^2 (the t quantile's large-n limit), and flagged."""
    import math

    import pandas as pd

    if not chips_csv.exists():
        return None
    chips = pd.read_csv(chips_csv, dtype={"sigma_train": str, "sigma_test": str}).sort_values("chip")
    keys = ["model", "dataset", "method", "device", "sigma_train", "seed", "sigma_test"]
    series = [g["accuracy"].tolist() for _, g in chips.groupby(keys)]
    out = []
    for target in targets:
        needed, estimated = [], 0
        for a in series:
            rule = {"min_chips": min_chips, "ci_half_width": target}
            n = next((k for k in range(min_chips, len(a) + 1) if adaptive_done(a[:k], rule)), None)
            if n is None:
                estimated += 1
                n = max(min_chips, math.ceil((1.96 * float(np.std(a, ddof=1)) / target) ** 2))
            needed.append(n)
        fixed = max(needed)
        out.append(
            {
                "target_ci95_half_width": target,
                "min_chips": min_chips,
                "points": len(series),
                "chips_in_run": max(len(a) for a in series),
                "points_estimated": estimated,
                "fixed_chips_needed": fixed,
                "fixed_chips_total": fixed * len(series),
                "adaptive_chips_total": sum(needed),
                "saving_factor": fixed * len(series) / sum(needed),
            }
        )
    return out


# -- driver ---------------------------------------------------------------------------------------------------------
def run(quick: bool, device_name: str) -> dict:
    device = torch.device(device_name)
    threads = torch.get_num_threads()
    report: dict = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__,
            "threads": threads,
            "cpu_count": os.cpu_count(),
        },
    }
    set_mmap_threshold(TUNED_MMAP_THRESHOLD)
    bf16_ok = bf16_supported(device)
    n = 512 if quick else 2048
    report["limits"] = {
        "gemm_fp32_gflops": gemm_flops(device, torch.float32, n) / 1e9,
        "conv3x3_fp32_gflops": conv_flops(device, torch.float32, 16 if quick else 64, 128, 32) / 1e9,
    }
    if bf16_ok:
        report["limits"]["gemm_bf16_gflops"] = gemm_flops(device, torch.bfloat16, n) / 1e9
    limit = report["limits"]["conv3x3_fp32_gflops"] * 1e9
    cases = [("vgg8", 0.0625, (1, 32, 32), 10), ("vgg8", 0.125, (1, 32, 32), 10)]
    if not quick:
        cases += [("vgg8", 1.0, (3, 32, 32), 10), ("resnet18", 1.0, (3, 32, 32), 10)]
    report["mc"] = []
    for name, width, shape, classes in cases:
        full = width == 1.0
        images = (256 if quick else 512) if full else (512 if quick else 2000)
        chips = 2 if quick or full else 8
        rounds = 1 if quick else (2 if full else 3)
        report["mc"].append(mc_case(name, width, shape, classes, images, chips, device, limit, bf16_ok, rounds))
    report["chips_per_pass"] = chips_per_pass_section(quick, device)
    report["layer_profile"] = layer_profile("vgg8", 0.125, (1, 32, 32), 10, 512 if quick else 1000, device, limit)
    if not quick:
        report["compile"] = compile_case("vgg8", 0.125, (1, 32, 32), 10, 2000, 8, device)
        report["bf16_accuracy"] = bf16_accuracy_check(device, 16) if bf16_ok else None
    report["training"] = training_case(0.0625, 128, 3 if quick else 10, device)
    widths = (0.0625,) if quick else (0.0625, 0.125, 0.25)
    report["aihwkit"] = [aihwkit_case(w, 128, 2 if quick else 5, device, 1 if quick else 3) for w in widths]
    if report["aihwkit"][0] is None:
        report["aihwkit"] = None
    report["workflow"] = workflow_overhead()
    report["adaptive_mini"] = adaptive_savings(REPO / "results/tables/mc_chips.csv")
    return report


def print_chips_per_pass(cases: list[dict]) -> None:
    for case in cases:
        print(
            f"\nchips per forward (mc.chips_per_pass), {case['model']} on {case['device']}: {case['images']} images "
            f"x {case['chips']} chips, batch {case['batch_size']}"
        )
        print(f"  {'variant':50s} {'chips/s':>9s} {'x K=1':>7s} {'max |d acc|':>12s} {'max |d conf|':>13s}")
        for v in case["variants"]:
            print(
                f"  {v['variant']:50s} {v['chips_per_s']:9.2f} {v['x_k1']:7.2f} "
                f"{v['max_abs_accuracy_diff']:12.4f} {v['max_abs_confidence_diff']:13.2e}"
            )
        print(f"  fastest: {case['fastest_variant']}")


def print_aihwkit(cases: list[dict]) -> None:
    for a in cases:
        print(f"\ntraining step against aihwkit-lightning, {a['model']}, batch {a['batch']}:")
        for k, ms in a["steps"].items():
            print(f"  {k:26s} {ms:8.1f} ms")
        print(
            f"  aihwkit-lightning / ours: W/ Noise x{a['x_ours_noise_injection']:.2f}, "
            f"OVF against four forwards x{a['x_ours_ovf']:.2f} (> 1: ours faster)"
        )


def print_report(r: dict) -> None:
    m = r["machine"]
    print(f"machine: {m['device']} ({m['processor']}), torch {m['torch']}, {m['threads']} threads")
    lim = r["limits"]
    print("limits: " + ", ".join(f"{k} {v:.1f}" for k, v in lim.items()))
    for case in r["mc"]:
        print(
            f"\nMC {case['model']}: {case['images']} images x {case['chips']} chips, "
            f"{case['gflop_per_chip']:.2f} GFLOP per chip"
        )
        print(f"  {'variant':50s} {'chips/s':>9s} {'x ref':>7s} {'GFLOP/s':>9s} {'of conv limit':>14s}")
        for v in case["variants"]:
            print(
                f"  {v['variant']:50s} {v['chips_per_s']:9.2f} {v['x_reference']:7.2f} {v['gflops']:9.1f} "
                f"{100 * v['fraction_of_conv_limit']:13.0f}%"
            )
    print_chips_per_pass(r.get("chips_per_pass") or [])
    lp = r.get("layer_profile")
    if lp:
        print(f"\nMC forward of {lp['model']}, {lp['images']} images, layer by layer ({lp['total_ms']:.1f} ms):")
        for row in lp["layers"]:
            frac = row["fraction_of_conv_limit"]
            limit_text = f"{100 * frac:5.0f}% of conv limit" if frac is not None else ""
            print(f"  {row['layer']:28s} {row['ms']:8.2f} ms {100 * row['share']:5.1f}%  {limit_text}")
    if r.get("compile"):
        c = r["compile"]
        print(
            f"\ntorch.compile on {c['model']}: cold {c['cold_compile_s']:.1f} s, steady x{c['speedup']:.2f} "
            f"({c['eager_chips_per_s']:.2f} -> {c['compiled_chips_per_s']:.2f} chips/s)"
        )
    if r.get("bf16_accuracy"):
        b = r["bf16_accuracy"]
        print(
            f"bf16 on the mini W/O Noise model at sigma {b['sigma']}: mean {b['mean_fp32']:.2f} -> "
            f"{b['mean_bf16']:.2f} ({b['diff']:+.2f} pp, CI +-{b['ci95_half_width_fp32']:.2f}): {b['verdict']}"
        )
    t = r["training"]
    print(f"\ntraining step, {t['model']}, batch {t['batch']}:")
    for k, v in t["steps"].items():
        print(f"  {k:16s} {v['ms']:8.1f} ms  x{v['x_noise_injection']:.2f} of noise_injection")
    print_aihwkit(r.get("aihwkit") or [])
    w = r["workflow"]
    print(
        f"\nworkflow: paper preset DAG ({w['paper_preset_jobs']} jobs) built in "
        f"{w['dag_build_paper_preset_s']:.1f} s; per-job start-up {w['job_startup_s']:.2f} s "
        f"(imports {w['import_s']:.2f} s, data load {w['data_load_s']:.2f} s)"
    )
    if "warm_job_start_s" in w:
        print(
            f"job start with the imports a training job needs: cold {w['cold_job_start_s']:.2f} s, warm "
            f"{w['warm_job_start_s']:.2f} s (x{w['cold_job_start_s'] / w['warm_job_start_s']:.1f}); the warm server "
            f"starts once per run in {w['warm_server_start_s']:.1f} s"
        )
    for a in r.get("adaptive_mini") or []:
        print(
            f"adaptive chips on the last run, CI95 target +-{a['target_ci95_half_width']:g} pp "
            f"(floor {a['min_chips']}): "
            f"{a['adaptive_chips_total']} chips instead of {a['fixed_chips_total']} ({a['fixed_chips_needed']} per "
            f"point fixed): x{a['saving_factor']:.2f} fewer ({a['points_estimated']}/{a['points']} points estimated "
            f"beyond the run's {a['chips_in_run']} chips)"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neft.tools.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test, about a minute)")
    ap.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    ap.add_argument(
        "--chips-per-pass-only", action="store_true", help="only the chips/s per mc.chips_per_pass K = 1, 8, 32"
    )
    ap.add_argument("--aihwkit-only", action="store_true", help="only our training steps against aihwkit-lightning's")
    args = ap.parse_args(argv)
    tune_process(args.threads or torch.get_num_threads())  # as every workflow job does: fp32 means fp32 on GPUs too
    if args.aihwkit_only:
        set_mmap_threshold(TUNED_MMAP_THRESHOLD)
        device = torch.device(args.device)
        widths = (0.0625,) if args.quick else (0.0625, 0.125, 0.25)
        cases = [aihwkit_case(w, 128, 2 if args.quick else 5, device, 1 if args.quick else 3) for w in widths]
        report = {"aihwkit": None if cases[0] is None else cases}
        if report["aihwkit"] is None:
            print("aihwkit-lightning is not installed: nothing to compare with")
        print_aihwkit(report["aihwkit"] or [])
    elif args.chips_per_pass_only:
        set_mmap_threshold(TUNED_MMAP_THRESHOLD)
        report = fastest_chips_per_pass(args.device, args.quick)
        print_chips_per_pass(report["cases"])
    else:
        report = run(args.quick, args.device)
        print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
