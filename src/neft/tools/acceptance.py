"""GPU acceptance: on one GPU, in a few minutes, is this workflow correct and fast there? (``tools/gpu_acceptance.sh``)

Runs, in order, and prints a summary table at the end (non-zero exit status if any check fails):

1. the test scale and the paper-smoke scale through the workflow with ``compute.device`` set to the device (the
   paper-smoke datasets are written first; a second run of the smoke must have nothing to do);
2. ``python -m neft.tools.bench`` on the device, its numbers kept in ``<out>/<device-name>.json`` beside this run's;
3. the same checkpoint's Monte-Carlo on the CPU and on the device: each mean within the other's 95 % CI (the CUDA
   generator draws other chips than the CPU's for the same seeds, so single chips differ; the means must not);
4. two Monte-Carlo runs on the device: byte-identical CSVs;
5. one training epoch twice under ``compute.deterministic``: bitwise-equal checkpoints;
6. chips per batched forward (``mc.chips_per_pass``) K = 1, 8, 32 side by side, and which is fastest.

``--cpu`` runs the same steps on a CPU-only machine (CPU against CPU in step 3): CI runs this rehearsal, so the
script cannot rot between the rare sessions that have a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from neft.analysis.results import read_chips
from neft.core.data.registry import get_spec
from neft.core.data.synthetic import write_all
from neft.core.models import build_model
from neft.experiment import rungs as ladder
from neft.experiment.config import validate_config
from neft.experiment.grid import Run, evaluations, runs
from neft.experiment.job_specs import EvalJob, EvalPaths, TrainJob, TrainPaths
from neft.jobs.runs import mc_job, train_job
from neft.report.table_writers import markdown_lines
from neft.tools.bench import macs_per_image
from neft.util.stats import ci_half_width

REPO = Path(__file__).resolve().parents[3]
TEST_PRESET = REPO / "config/presets/test.yaml"
SMOKE_PRESET = REPO / "config/presets/paper-smoke.yaml"
#: the smoke checkpoint whose Monte-Carlo is compared across devices (real MNIST, a noise-trained VGG-8)
MC_RUN = ("vgg8", "mnist", "noise_injection", "RRAM1", "0.2", 0)


def device_label(device: str) -> str:
    """``nvidia-h200`` for the GPU's name, ``cpu-rehearsal`` for ``--cpu``: the JSON file's name."""
    if device == "cpu":
        return "cpu-rehearsal"
    import torch

    name = torch.cuda.get_device_name(torch.device(device))
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "cuda"


class Checks:
    """Runs steps, keeps one row per step (ok, seconds, what it found), prints them as a table."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def run(self, name: str, fn: Callable[[], dict]) -> dict:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            detail = fn() or {}
            ok = bool(detail.pop("ok", True))
        except Exception as err:  # noqa: BLE001 - a failed step is a row of the table, the others still run
            detail, ok = {"error": f"{type(err).__name__}: {err}"}, False
        row = {"step": name, "ok": ok, "seconds": round(time.perf_counter() - t0, 1), **detail}
        self.rows.append(row)
        print(f"   {'ok' if ok else 'FAILED'} in {row['seconds']} s: {_brief(detail)}", flush=True)
        return row

    def skip(self, name: str, reason: str) -> dict:
        """A step left out on purpose: a row of the table that says why, counted as passed."""
        print(f"== {name}\n   skipped: {reason}", flush=True)
        row = {"step": name, "ok": True, "seconds": 0.0, "skipped": reason}
        self.rows.append(row)
        return row

    @property
    def ok(self) -> bool:
        return all(r["ok"] for r in self.rows)

    def table(self) -> str:

        rows = []
        for r in self.rows:
            details = {k: v for k, v in r.items() if k not in ("step", "ok", "seconds")}
            rows.append([r["step"], "ok" if r["ok"] else "FAILED", r["seconds"], _brief(details)])
        return "\n".join(markdown_lines(["step", "result", "seconds", "details"], rows))


def _brief(detail: dict) -> str:
    parts = []
    for k, v in detail.items():
        if isinstance(v, (dict, list)):
            continue
        parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts)


def snakemake(work: Path, *args: str, cores: int, log: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", str(cores), *args]
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=work, stdout=fh, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = log.read_text().splitlines()[-30:]
        raise RuntimeError(f"snakemake failed (rc {proc.returncode}, log {log}):\n" + "\n".join(tail))
    return proc


def workflow_scale(work: Path, preset: Path, device: str, cores: int, gpu_jobs: int) -> dict:
    """One scale end to end into ``work``; the device config is one more --configfile."""
    work.mkdir(parents=True, exist_ok=True)
    extra = work / "device.yaml"
    extra.write_text(f"compute: {{device: {device}}}\n")
    if preset == SMOKE_PRESET:
        write_all(work / "resources/synthetic")  # where the preset's datasets.*.path points, relative to work
    t0 = time.perf_counter()
    # several small GPU jobs share the one GPU (the default profile allows one at a time: right for real jobs)
    snakemake(
        work,
        "reproduce_all",
        "--resources",
        f"gpu={gpu_jobs}",
        "--configfile",
        str(preset),
        str(extra),
        cores=cores,
        log=work / "snakemake.log",
    )
    seconds = time.perf_counter() - t0
    out = snakemake(work, "reproduce_all", "-n", "--configfile", str(preset), str(extra), cores=1, log=work / "n.log")
    again = (work / "n.log").read_text()
    jobs = sum(1 for _ in (work / "benchmarks").rglob("*.tsv"))
    return {
        "ok": out.returncode == 0 and "Nothing to be done" in again,
        "wall_s": round(seconds, 1),
        "jobs_benchmarked": jobs,
        "second_run_nothing_to_do": "Nothing to be done" in again,
        "job_seconds": job_seconds(work),
    }


def job_seconds(work: Path) -> dict:
    """Wall seconds per rule (sum over its jobs) from Snakemake's benchmark files."""
    import pandas as pd

    out: dict[str, float] = {}
    for tsv in (work / "benchmarks").rglob("*.tsv"):
        rule = tsv.relative_to(work / "benchmarks").parts[0]
        out[rule] = out.get(rule, 0.0) + float(pd.read_csv(tsv, sep="\t")["s"].iloc[-1])
    return {k: round(v, 2) for k, v in sorted(out.items())}


def bench(device: str, quick: bool, json_path: Path) -> dict:
    cmd = [sys.executable, "-m", "neft.tools.bench", "--device", device, "--json", str(json_path)]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(
            f"neft.tools.bench failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    print(proc.stdout)
    return {"json": str(json_path)}


def _mc(smoke: Path, device: str, chips: int, out_csv: Path) -> list[float]:
    """Monte-Carlo of the smoke run's ``MC_RUN`` checkpoint on ``device`` (the workflow's own job function)."""
    import yaml

    model, dataset, method, card, sigma, seed = MC_RUN
    cfg = yaml.safe_load(SMOKE_PRESET.read_text())
    run = Run(model, dataset, method, card, sigma, seed)
    job = EvalJob(
        model=model,
        width=cfg["models"][model]["width"],
        dataset=dataset,
        sigma_test=sigma,
        mc={"chips": chips, "seed": 2023, "batch_size": 1000},
        keys={"device_run": device},
        data={"split_seed": 0, "val_size": cfg["data"]["val_size"], "test_subset": 2000},
        compute={"device": device, "threads": 1},
    )
    paths = EvalPaths(
        str(smoke / f"results/data/{dataset}/prepared.pt"),
        str(smoke / f"results/models/{run.path}/model.pt"),
        str(smoke / f"results/devices/{card}/card.yaml"),
        chips=str(out_csv),
        stats=str(out_csv.with_suffix(".json")),
    )
    mc_job(job, paths, log=lambda m: print("  ", m))
    return read_chips(out_csv)["accuracy"].tolist()


def mc_cpu_vs_device(smoke: Path, device: str, chips: int, tmp: Path) -> dict:
    import numpy as np

    cpu = _mc(smoke, "cpu", chips, tmp / "mc_cpu.csv")
    dev = _mc(smoke, device, chips, tmp / "mc_device.csv")
    m_cpu, m_dev = float(np.mean(cpu)), float(np.mean(dev))
    h_cpu, h_dev = ci_half_width(cpu), ci_half_width(dev)
    return {
        "ok": abs(m_cpu - m_dev) <= min(h_cpu, h_dev),  # each mean inside the other's interval
        "chips": chips,
        "mean_cpu": m_cpu,
        "ci95_cpu": h_cpu,
        "mean_device": m_dev,
        "ci95_device": h_dev,
    }


def mc_repeatable(smoke: Path, device: str, chips: int, tmp: Path) -> dict:
    _mc(smoke, device, chips, tmp / "mc_a.csv")
    _mc(smoke, device, chips, tmp / "mc_b.csv")
    same = (tmp / "mc_a.csv").read_bytes() == (tmp / "mc_b.csv").read_bytes()
    return {"ok": same, "chips": chips, "byte_identical": same}


def deterministic_training(smoke: Path, device: str, tmp: Path) -> dict:
    """The smoke's VGG-8 on MNIST with OVF (four noisy passes, augmentation off), one epoch, twice, under
    ``compute.deterministic``. (ResNet-18 and IRS use adaptive average pooling, whose CUDA backward has no
    deterministic kernel: compute.deterministic makes it warn, and such trainings may differ in the last bits.)"""
    import yaml

    cfg = yaml.safe_load(SMOKE_PRESET.read_text())
    paths = []
    for i in (0, 1):
        out = tmp / f"det_{i}.pt"
        job = TrainJob(
            model="vgg8",
            width=cfg["models"]["vgg8"]["width"],
            dataset="mnist",
            method={"kind": "ovf", "params": {"beta": "paper"}},
            sigma="0.2",
            seed=0,
            data={"split_seed": 0, "val_size": cfg["data"]["val_size"], "train_subset": 256, "test_subset": 100},
            compute={"device": device, "threads": 1, "deterministic": True},
            settings={
                "epochs": 1,
                "batch_size": 64,
                "lr": 1e-3,
                "weight_decay": 0,
                "schedule": "cosine",
                "eval_batch_size": 256,
                "selection_split": "test",
                "selection_metric": "noisy",
                "selection_chips": 1,
            },
        )
        card = str(smoke / "results/devices/RRAM1/card.yaml")
        data = str(smoke / "results/data/mnist/prepared.pt")
        train_job(job, TrainPaths(data, card, str(out), str(tmp / f"det_{i}.csv")), log=lambda m: print("  ", m))
        paths.append(out)
    same = paths[0].read_bytes() == paths[1].read_bytes()
    return {"ok": same, "bitwise_equal_checkpoints": same}


def chips_per_pass(bench_json: Path) -> dict:
    """K = 1, 8, 32 chips per batched forward, as ``neft.tools.bench`` measured them side by side (its own section)."""
    cases = json.loads(bench_json.read_text())["chips_per_pass"]
    fastest = {c["model"]: c["fastest_chips_per_pass"] for c in cases}
    speeds = {c["model"]: {v["variant"]: round(v["chips_per_s"], 2) for v in c["variants"]} for c in cases}
    return {"fastest_k": ", ".join(f"{m}: {k}" for m, k in fastest.items()), "fastest": fastest, "chips_per_s": speeds}


#: images per dataset in the original files (train, test); the validation split comes out of train
DATASET_IMAGES = {
    "mnist": (60000, 10000),
    "cifar10": (50000, 10000),
    "cifar100": (50000, 10000),
    "tiny_imagenet": (100000, 10000),
}


def _merged(*files: Path) -> dict:
    import yaml

    def merge(a: dict, b: dict) -> dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        return out

    cfg: dict = {}
    for f in (REPO / "config/config.yaml", *files):
        cfg = merge(cfg, yaml.safe_load(f.read_text()))
    return validate_config(cfg, REPO / "workflow/schemas/config.schema.yaml", REPO)


def paper_cost(smoke: Path, bench_json: Path) -> dict:
    """Device-hours of the paper preset: its multiply-accumulates (MACs), at the device's measured conv rate.

    Work per training: epochs x (3 x forward MACs per image x the method's cost factor x training images, the
    factor of 3 for forward plus backward, + 2 forward passes over the test set for the per-epoch clean and noisy
    selection); per sweep: forward MACs x chips x test images. Each method's factor is its per-image training time
    relative to W/ Noise's in the paper-smoke run itself (same pair; OVF's four passes show up there). The rate is
    the 3x3-convolution throughput ``neft.tools.bench`` measured on this device: a full-width model reaches it on a CPU
    (103 % for VGG-8, docs/performance.md); on a GPU it is an assumption, not yet measured for whole models.
    """
    import pandas as pd

    paper, smoke_cfg = _merged(REPO / "config/presets/paper.yaml"), _merged(SMOKE_PRESET)
    rate = float(json.loads(bench_json.read_text())["limits"]["conv3x3_fp32_gflops"]) * 1e9 / 2  # MAC/s
    per_image: dict[tuple[str, str, str], list[float]] = {}
    for run in runs(smoke_cfg):
        log = smoke / f"results/models/{run.path}/train_log.csv"
        if log.exists():
            seconds = float(pd.read_csv(log)["seconds"].mean()) / smoke_cfg["data"]["train_subset"]
            per_image.setdefault((run.model, run.dataset, run.method), []).append(seconds)

    def factor(model: str, dataset: str, method: str) -> float:
        mine, base = per_image.get((model, dataset, method)), per_image.get((model, dataset, "noise_injection"))
        if not (mine and base):  # a training the smoke run did not finish: say which, never a NaN in the hours
            raise ValueError(f"no paper-smoke training log for {model}/{dataset}/{method} (or its W/ Noise) in {smoke}")
        return sum(mine) / len(mine) / (sum(base) / len(base))

    hours: dict[str, dict] = {}
    epochs, chips = paper["training"]["epochs"], paper["mc"]["chips"]
    for model, dataset in sorted({(r.model, r.dataset) for r in runs(paper)}):
        spec = get_spec(dataset)
        net = build_model(model, spec.num_classes, spec.channels, spec.image_size, paper["models"][model]["width"])
        macs = macs_per_image(net, (spec.channels, spec.image_size, spec.image_size))
        hours[f"{model}/{dataset}"] = {"gmacs_per_image": macs / 1e9, "train_h": 0.0, "mc_h": 0.0, "trainings": 0}
    for run in runs(paper):
        h = hours[f"{run.model}/{run.dataset}"]
        macs = h["gmacs_per_image"] * 1e9
        n_train = DATASET_IMAGES[run.dataset][0] - get_spec(run.dataset).val_size
        n_test = DATASET_IMAGES[run.dataset][1]
        h["train_h"] += epochs * (3 * factor(run.model, run.dataset, run.method) * n_train + 2 * n_test) * macs / rate
        h["trainings"] += 1
    for ev in evaluations(paper):
        h = hours[f"{ev.run.model}/{ev.run.dataset}"]
        h["mc_h"] += h["gmacs_per_image"] * 1e9 * chips * DATASET_IMAGES[ev.run.dataset][1] / rate
        h["sweeps"] = h.get("sweeps", 0) + 1
    for h in hours.values():
        h["train_h"], h["mc_h"] = h["train_h"] / 3600, h["mc_h"] / 3600
    total_train, total_mc = sum(h["train_h"] for h in hours.values()), sum(h["mc_h"] for h in hours.values())
    return {
        "mac_rate_g_per_s": rate / 1e9,
        "method_factors": {
            f"{m}/{d}/{k}": round(factor(m, d, k), 2) for (m, d, k) in sorted(per_image) if k != "noise_injection"
        },
        "per_pair": {
            k: {n: round(v, 3) if isinstance(v, float) else v for n, v in h.items()} for k, h in hours.items()
        },
        "total_train_h": round(total_train, 1),
        "total_mc_h": round(total_mc, 1),
        "total_h": round(total_train + total_mc, 1),
    }


#: Training cost of each method kind relative to W/ Noise, per image, as measured on this project's CPU
#: (docs/calibration.md, section 4: W/O Noise 10.7 s, W/ Noise 12.1 s, CorrectNet 12.7 s, OVF 44.0 s, IRS 14.3 s an
#: epoch); the ladder estimate uses them where no paper-smoke run measured the device's own.
CPU_METHOD_FACTORS = {"plain": 0.88, "noise_injection": 1.0, "correctnet": 1.05, "ovf": 3.64, "irs": 1.18}
SCALE_GPU_PRESET = REPO / "config/presets/scale-gpu.yaml"


def ladder_cost(presets: list[Path], mac_rate: float, method_factors: dict | None = None) -> dict:
    """Device-hours of a scale ladder (``scale_study``), by ``paper_cost``'s model: per training, epochs x (3 x
    forward MACs per image at the rung's width x the method's cost factor x training images + 2 passes over the
    test set); per sweep, forward MACs x chips x test images; per width, the sigma rule's sweep (every factor, at
    most). ``presets`` are merged over config/config.yaml in order; ``mac_rate`` in MAC/s."""

    cfg = _merged(*presets)
    study = cfg["scale_study"]
    factors = CPU_METHOD_FACTORS | (method_factors or {})
    pair = cfg["experiments"]["pairs"][0]
    spec = get_spec(pair["dataset"])
    full_train, full_test = DATASET_IMAGES[pair["dataset"]]
    n_train = cfg["data"]["train_subset"] or full_train - spec.val_size
    n_test = cfg["data"]["test_subset"] or full_test
    chips = cfg["mc"]["chips"]
    rows = []
    for rung in ladder.rungs(study):
        net = build_model(pair["model"], spec.num_classes, spec.channels, spec.image_size, rung.width)
        macs = macs_per_image(net, (spec.channels, spec.image_size, spec.image_size))
        trainings = train_s = 0.0
        for method in study["methods"]:
            kind = cfg["methods"][method]["kind"]
            count = len(study["seeds"]) * (1 if kind == "plain" else len(study["paper_sigmas"]))
            per = rung.epochs * (3 * factors.get(kind, 1.0) * n_train + 2 * n_test) * macs / mac_rate
            trainings, train_s = trainings + count, train_s + count * per
        sweeps = len(study["methods"]) * len(study["paper_sigmas"]) * len(study["seeds"])
        mc_s = sweeps * macs * chips * n_test / mac_rate
        if rung == ladder.width_reference(study, rung.width):
            mc_s += (
                len(ladder.factor_grid(study["sigma_rule"])) * study["sigma_rule"]["chips"] * macs * n_test / mac_rate
            )
        rows.append(
            {
                "rung": rung.label,
                "gmacs_per_image": round(macs / 1e9, 4),
                "trainings": int(trainings),
                "train_h": train_s / 3600,
                "mc_h": mc_s / 3600,
            }
        )
    total = sum(r["train_h"] + r["mc_h"] for r in rows)
    return {
        "mac_rate_g_per_s": mac_rate / 1e9,
        "method_factors": factors,
        "images": {"train": n_train, "test": n_test, "chips": chips},
        "rungs": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
        "total_h": round(total, 2),
    }


def _ladder_cost_main(presets: list[Path], rates: list[float]) -> int:
    """Print the ladder estimate at each rate (GMAC/s): ``--ladder-cost`` needs no GPU and runs nothing."""

    for rate in rates:
        est = ladder_cost(presets, rate * 1e9)
        print(f"at {rate:g} GMAC/s ({', '.join(str(p) for p in presets)}):")
        head = ["rung", "GMACs per image", "trainings", "training (h)", "Monte-Carlo (h)"]
        rows = [
            [r["rung"], r["gmacs_per_image"], r["trainings"], f"{r['train_h']:.2f}", f"{r['mc_h']:.2f}"]
            for r in est["rungs"]
        ]
        print("\n".join(markdown_lines(head, rows, "lrrrr")))
        print(f"total: {est['total_h']:.1f} h\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tools/gpu_acceptance.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpu", action="store_true", help="rehearse every step on the CPU (what CI runs)")
    ap.add_argument("--out", type=Path, default=REPO / "docs/bench", help="folder of <device-name>.json")
    ap.add_argument("--work", type=Path, default=None, help="folder for the workflow runs (default: a temporary one)")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--gpu-jobs", type=int, default=8, help="workflow jobs sharing the GPU at once")
    ap.add_argument("--chips", type=int, default=50, help="chips of the CPU/device Monte-Carlo comparison")
    ap.add_argument("--quick-bench", action="store_true", help="neft.tools.bench --quick (the default with --cpu)")
    ap.add_argument(
        "--skip-test-scale",
        action="store_true",
        help="leave out the test-scale workflow step (CI: tests/test_workflow.py runs that scale on the CPU already)",
    )
    ap.add_argument(
        "--ladder-cost",
        nargs="*",
        type=Path,
        metavar="PRESET",
        help="only print the scale ladder's estimated hours for these presets (merged over config/config.yaml; "
        "default: the paper preset and config/presets/scale-gpu.yaml) at each --mac-rate, and exit",
    )
    ap.add_argument(
        "--mac-rate",
        type=float,
        nargs="+",
        default=[108.0, 10000.0],
        help="GMAC/s for --ladder-cost (default: this project's 2-core CPU as measured, and an assumed GPU)",
    )
    args = ap.parse_args(argv)
    if args.ladder_cost is not None:
        presets = args.ladder_cost or [REPO / "config/presets/paper.yaml", SCALE_GPU_PRESET]
        return _ladder_cost_main(presets, args.mac_rate)

    import torch

    device = "cpu" if args.cpu else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device visible to torch; run with --cpu for the CPU rehearsal", file=sys.stderr)
        return 2
    quick = args.quick_bench or args.cpu
    label = device_label(device)
    work = args.work or Path(tempfile.mkdtemp(prefix="neft-acceptance-"))
    tmp = work / "checks"
    tmp.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    checks = Checks()
    checks.run(
        "environment",
        lambda: {
            "device": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cores": args.cores,
        },
    )
    if args.skip_test_scale:
        checks.skip("workflow: test scale", "--skip-test-scale")
    else:
        checks.run("workflow: test scale", lambda: workflow_scale(work / "test", TEST_PRESET, device, args.cores, 1))
    smoke = work / "paper-smoke"
    checks.run(
        "workflow: paper-smoke scale",
        lambda: workflow_scale(smoke, SMOKE_PRESET, device, args.cores, args.gpu_jobs),
    )
    bench_json = tmp / "bench.json"
    checks.run("benchmark (neft.tools.bench)", lambda: bench(device, quick, bench_json))
    checks.run("MC: CPU vs device", lambda: mc_cpu_vs_device(smoke, device, args.chips, tmp))
    checks.run("MC: two device runs byte-identical", lambda: mc_repeatable(smoke, device, args.chips, tmp))
    checks.run("training: deterministic algorithms", lambda: deterministic_training(smoke, device, tmp))
    checks.run("MC: chips per pass", lambda: chips_per_pass(bench_json))
    checks.run("estimate: paper preset device-hours", lambda: paper_cost(smoke, bench_json))
    checks.run(
        "estimate: GPU scale ladder device-hours",
        lambda: ladder_cost(
            [REPO / "config/presets/paper.yaml", SCALE_GPU_PRESET],
            float(json.loads(bench_json.read_text())["limits"]["conv3x3_fp32_gflops"]) * 1e9 / 2,
        ),
    )
    total = time.perf_counter() - t_start
    table = checks.table()
    print(f"\n{table}\n\n{'PASSED' if checks.ok else 'FAILED'} in {total:.0f} s on {label}")
    record = {
        "device": label,
        "passed": checks.ok,
        "total_s": round(total, 1),
        "steps": checks.rows,
        "bench": json.loads(bench_json.read_text()) if bench_json.exists() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    target = args.out / f"{label}.json"
    target.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(f"numbers written to {target}")
    if args.work is None and checks.ok:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if checks.ok else 1


if __name__ == "__main__":
    sys.exit(main())
