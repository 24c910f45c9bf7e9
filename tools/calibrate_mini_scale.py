"""Calibration of the mini scale (documented in docs/calibration.md): how does a narrow VGG-8 on MNIST degrade
with sigma, and where does noise-injection training still converge?

Usage: python tools/calibrate_mini_scale.py --width 0.125 --epochs 3 --method plain --sigma 0 --out DIR
Trains one model with the workflow's own code and evaluates it on a sigma list with seeded chips.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neft.core.devices import get
from neft.experiment.job_specs import EvalJob, EvalPaths, TrainJob, TrainPaths
from neft.jobs.runs import mc_job, prepare_job, train_job


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--method", default="plain")
    ap.add_argument("--sigma", default="0")
    ap.add_argument("--eval-sigmas", default="0,0.025,0.05,0.075,0.1,0.125,0.15,0.175,0.2")
    ap.add_argument("--chips", type=int, default=20)
    ap.add_argument("--test-subset", type=int, default=2000)
    ap.add_argument("--train-subset", type=int, default=None)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="calibration")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "mnist.pt"
    if not data.exists():
        prepare_job("mnist", {}, str(data), str(out / "downloads"), False)
    card = out / "RRAM1.yaml"
    get("RRAM1").save(card)
    tag = f"w{a.width}_e{a.epochs}_{a.method}_s{a.sigma}" + (f"_n{a.train_subset}" if a.train_subset else "")
    data_cfg = {"split_seed": 0, "test_subset": a.test_subset, "train_subset": a.train_subset}
    compute = {"device": "cpu", "threads": a.threads}
    common = dict(model="vgg8", width=a.width, dataset="mnist", data=data_cfg, compute=compute)
    settings = {"epochs": a.epochs, "lr": a.lr, "selection_chips": 2}
    job = TrainJob(**common, method={"kind": a.method}, sigma=a.sigma, seed=0, settings=settings)
    rows = train_job(job, TrainPaths(str(data), str(card), str(out / f"{tag}.pt"), str(out / f"{tag}.log.csv")))
    result = {"tag": tag, "train_seconds": sum(r["seconds"] for r in rows), "accuracy": {}}
    for s in a.eval_sigmas.split(","):
        job = EvalJob(**common, sigma_test=s, mc={"chips": a.chips, "seed": 1})
        csv, stats = str(out / f"{tag}.mc_{s}.csv"), str(out / f"{tag}.mc_{s}.json")
        summary = mc_job(job, EvalPaths(str(data), str(out / f"{tag}.pt"), str(card), chips=csv, stats=stats))
        import pandas as pd

        acc = pd.read_csv(out / f"{tag}.mc_{s}.csv")["accuracy"]
        result["accuracy"][s] = [round(acc.mean(), 2), round(acc.std(), 2), round(summary["ekl"], 5)]
    print(json.dumps(result))
    with open(out / "results.jsonl", "a") as fh:
        fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
