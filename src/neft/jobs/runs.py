"""One function per workflow job (prepare, train, Monte-Carlo), taking plain values so that Snakemake scripts are
thin adapters and every job can also be run, tested and debugged from Python."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch

from neft.core.checkpoints import check_meta, load_checkpoint
from neft.core.data import get_spec, load_prepared, make_splits, prepare_dataset, preprocess_all
from neft.core.data.loader import Preprocess, Split
from neft.core.mc import ChipEvaluator, McSettings
from neft.core.methods import build_method
from neft.core.nonideal import CALIBRATION_IMAGES
from neft.core.probe import probe
from neft.core.train import TrainSettings, seeded_model, train
from neft.experiment import rungs
from neft.experiment.handoff import MC_COLUMNS as HANDOFF_MC_COLUMNS
from neft.experiment.handoff import check_card, check_prepared
from neft.jobs import keep
from neft.util import progress
from neft.util.io import atomic_write_text, load_state_dict_strict
from neft.util.perf import tune_process
from neft.util.sigma import format_sigma, sigma_float


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"compute.device is {name!r} but no CUDA device is available; use 'auto' or 'cpu'")
    return torch.device(name)


def prepare_job(dataset: str, registry: dict, out: str, download_dir: str, allow_download: bool, log=print) -> None:
    spec = get_spec(dataset, registry)
    t0 = time.perf_counter()
    files = prepare_dataset(spec, out, download_dir, allow_download)
    log(f"prepared {dataset} from {files} in {time.perf_counter() - t0:.1f} s")


def load_splits(dataset: str, registry: dict, data_path: str, data_cfg: dict):
    spec = get_spec(dataset, registry)
    prepared = load_prepared(data_path, spec)
    check_prepared(prepared, data_path, spec)  # what prepare_dataset promised its readers (neft.experiment.handoff)
    splits = make_splits(
        prepared,
        val_size=int(data_cfg.get("val_size") or spec.val_size),
        seed=int(data_cfg.get("split_seed", 0)),
        train_subset=data_cfg.get("train_subset"),
        val_subset=data_cfg.get("val_subset"),
        test_subset=data_cfg.get("test_subset"),
    )
    return spec, splits


def train_settings(training: dict, lr: float) -> dict:
    """The ``TrainSettings`` fields of the config's ``training`` section (and the model's learning rate)."""
    selection = training["selection"]
    return {
        "epochs": training["epochs"],
        "batch_size": training["batch_size"],
        "lr": lr,
        "weight_decay": training["weight_decay"],
        "schedule": training["schedule"],
        "eval_batch_size": training["eval_batch_size"],
        "selection_split": selection["split"],
        "selection_metric": selection["metric"],
        "selection_chips": selection["chips"],
    }


def train_job(
    *,
    model: str,
    width: float,
    dataset: str,
    registry: dict,
    data_path: str,
    data_cfg: dict,
    method_kind: str,
    method_params: dict,
    card_path: str,
    sigma,
    seed: int,
    settings: dict,
    compute: dict,
    out_model: str,
    out_log: str,
    state_path: str | None = None,
    log: Callable[[str], None] = print,
    meta: dict | None = None,
) -> list[dict]:
    """Train one run and write its checkpoint (``neft.core.checkpoints``), or restore the kept identical one. ``meta``:
    what the run's path names beyond these arguments (the config's method name, a ladder rung's paper sigma),
    recorded in the checkpoint with the card file's sha256."""
    tune_process(compute.get("threads", 1), bool(compute.get("deterministic", False)))
    device = resolve_device(compute.get("device", "auto"))
    # what the training depends on; a finished one with byte-identical inputs is restored, not repeated
    # (neft.jobs.keep), and an interrupted one resumes only from a state written for the same job and card
    # (neft.core.train)
    job = [model, width, dataset, data_cfg, method_kind, method_params, format_sigma(sigma), seed, settings]
    if meta:  # recorded in the checkpoint, so part of what a kept training must match
        job.append(meta)
    software = [torch.__version__, platform.python_version(), platform.machine()]
    if method_kind == "aihwkit_hwa":  # another library's layers train it: a new version of it is a new training
        from importlib.metadata import PackageNotFoundError, version

        try:
            software.append(f"aihwkit-lightning {version('aihwkit-lightning')}")
        except PackageNotFoundError:
            software.append("aihwkit-lightning missing")
    settings_key = json.dumps([job, registry, dict(compute, device=str(device)), software], sort_keys=True, default=str)
    key = keep.training_key(settings_key, data_path, card_path)
    if keep.restore(out_model, out_log, key, log):
        if state_path is not None:
            Path(state_path).unlink(missing_ok=True)
        with open(out_log, newline="") as fh:
            return list(csv.DictReader(fh))
    spec, splits = load_splits(dataset, registry, data_path, data_cfg)
    card = check_card(card_path)  # the card of the device its path names (neft.experiment.handoff)
    method = build_method(method_kind, method_params)
    ts = TrainSettings(seed=seed, **settings)
    fingerprint = json.dumps([job, card.to_dict()], sort_keys=True, default=str)
    net = seeded_model(model, spec, width, seed)
    log(
        f"training {model} (width {width}) on {dataset} ({len(splits['train'])} train, {len(splits['val'])} val) "
        f"with {method_kind} {method_params} at sigma {format_sigma(sigma)} on {card.name}, device {device}"
    )
    rows = train(
        net,
        method,
        card,
        sigma_float(sigma),
        splits,
        spec,
        ts,
        model_name=model,
        device=device,
        out_model=out_model,
        out_log=out_log,
        state_path=state_path,
        fingerprint=fingerprint,
        log=log,
        meta={"method": method_kind, **(meta or {}), "card_sha256": keep.file_digest(card_path)},
    )
    if key is not None:
        try:
            keep.store(out_model, out_log, key)
        except OSError as err:  # the training itself is complete; only the safety copy is missing
            log(f"could not keep a copy of this training in {keep.kept_dir(out_model)}: {err}")
    return rows


def load_model(model: str, width: float, spec, checkpoint: str) -> torch.nn.Module:
    """The configured model with ``checkpoint``'s weights (``neft.core.checkpoints.load_checkpoint``): its metadata must
    name this model, width and dataset, and its tensors must load strictly."""
    state, meta = load_checkpoint(checkpoint)
    check_meta(meta, checkpoint, model=model, width=width, dataset=spec.name, num_classes=spec.num_classes)
    net = seeded_model(model, spec, width, 0)
    load_state_dict_strict(net, state, checkpoint)
    return net


MC_COLUMNS = (
    HANDOFF_MC_COLUMNS  # the chip columns of an MC CSV: neft.experiment.handoff says what a sweep's files promise
)


def mc_job(
    *,
    model: str,
    width: float,
    dataset: str,
    registry: dict,
    data_path: str,
    data_cfg: dict,
    checkpoint: str,
    card_path: str,
    sigma_test,
    mc: dict | McSettings,
    compute: dict,
    keys: dict,
    out_csv: str,
    out_stats: str,
    log: Callable[[str], None] = print,
    card_name: str | None = None,
    card_changes: dict | None = None,
    seed_device: str | None = None,
    seed_sigma=None,
) -> dict:
    """Evaluate one checkpoint on ``mc['chips']`` chips at ``sigma_test``; one CSV row per chip.

    A non-ideality sweep (``neft.core.nonideal``) names the card it evaluates under (``card_name``, default the run's
    device), the fields it turns on (``card_changes``), and the device and sigma whose chips it re-uses
    (``seed_device``, ``seed_sigma``), so its rows are paired with the main sweep's chip by chip."""
    mc = McSettings.from_params(mc)
    device, spec, splits, net, test, x = _evaluation_inputs(
        model, width, dataset, registry, data_path, data_cfg, checkpoint, compute
    )
    card = check_card(card_path, card_name or keys.get("device"))  # its name seeds every chip (or seed_device)
    if card_changes:
        card = dataclasses.replace(card, **card_changes)
    calibration = None
    if card.dac_bits is not None or card.adc_bits is not None:  # converter ranges: abs-max on training images
        train = splits["train"]
        first = Split(train.x[:CALIBRATION_IMAGES], train.y[:CALIBRATION_IMAGES])
        calibration = preprocess_all(first, Preprocess(spec, device), device)
    ev = _evaluator(
        net,
        card,
        x,
        test.y,
        mc,
        device,
        precision=mc.precision,
        compile=mc.compile,
        chips_per_pass=mc.chips_per_pass,
        seed_name=seed_device,
        calibration=calibration,
        ekl_bootstrap=mc.ekl_bootstrap,
    )
    t0 = time.perf_counter()
    adaptive = mc.adaptive
    chips = mc.chip_budget
    report = progress.reporter("chip", chips)  # neft.util.progress: the terminal view's chip count
    if mc.adaptive_enabled:
        stats = ev.evaluate(sigma_test, chips, adaptive=adaptive, on_chip=report.update, seed_sigma=seed_sigma)
    else:
        stats = ev.evaluate(sigma_test, chips, on_chip=report.update, seed_sigma=seed_sigma)
    seconds = time.perf_counter() - t0
    sigma = format_sigma(sigma_test)
    csv_sha256 = write_chip_csv(stats.rows, keys | {"sigma_test": sigma}, out_csv)
    # the JSON says what its CSV holds (chips = its rows, its keys, its sha256), so aggregate_mc can check it
    summary = keys | {"sigma_test": sigma, **stats.uncertainty(), "n_test": len(test)}
    summary |= {"mc_seed": mc.seed, "csv_sha256": csv_sha256}
    atomic_write_text(out_stats, json.dumps(summary, indent=1, sort_keys=True) + "\n")
    report.close()
    log(f"{len(stats.rows)} chips at sigma {sigma} in {seconds:.1f} s ({len(stats.rows) / seconds:.2f} chips/s)")
    return summary


def _evaluator(net, card, x, y, mc: McSettings, device, **options) -> ChipEvaluator:
    """The chip evaluator of every evaluation job: the mc settings' batch size, BN folding and chip seed."""
    return ChipEvaluator(
        net,
        card,
        x,
        y,
        batch_size=mc.batch_size,
        fold_bn=mc.fold_bn,
        base_seed=mc.seed,
        device=device,
        **options,
    )


def _evaluation_inputs(model, width, dataset, registry, data_path, data_cfg, checkpoint, compute):
    """What every evaluation job loads first: the tuned process's device, the splits, the trained model and the test
    set preprocessed on the device."""
    tune_process(compute.get("threads", 1), bool(compute.get("deterministic", False)))
    device = resolve_device(compute.get("device", "auto"))
    spec, splits = load_splits(dataset, registry, data_path, data_cfg)
    net = load_model(model, width, spec, checkpoint)
    test = splits["test"]
    return device, spec, splits, net, test, preprocess_all(test, Preprocess(spec, device), device)


def write_chip_csv(rows: list[dict], keys: dict, path: str | Path) -> str:
    """Tidy rows with fixed formatting, so the same chips give byte-identical files; returns their sha256."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*keys, *MC_COLUMNS])
    for r in rows:
        w.writerow(
            [
                *keys.values(),
                r["chip"],
                r["correct"],
                r["n"],
                f"{r['accuracy']:.4f}",
                f"{r['confidence']:.6f}",
                f"{r['confidence_correct']:.6f}",
            ]
        )
    atomic_write_text(path, buf.getvalue())
    return hashlib.sha256(buf.getvalue().encode()).hexdigest()


def job_log(path: str | Path) -> Callable[[str], None]:
    """Send this process's stderr (tracebacks included) to the rule's log and return a line logger for it."""
    import sys

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job process
    sys.stderr = fh
    progress.bind(path)  # this process is the job with this log: its progress file is named after it

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=fh, flush=True)

    return log


def probe_job(
    *,
    model: str,
    width: float,
    dataset: str,
    registry: dict,
    data_path: str,
    data_cfg: dict,
    checkpoint: str,
    card_path: str,
    sampled_csv: str,
    sigma_test,
    mc: dict | McSettings,
    compute: dict,
    probe_cfg: dict,
    keys: dict,
    out_json: str,
    log: Callable[[str], None] = print,
) -> dict:
    """The worst-case probe (``neft.core.probe``) on one checkpoint, starting from the worst chip of its main sweep."""
    import pandas as pd

    mc = McSettings.from_params(mc)
    device, _, _, net, test, x = _evaluation_inputs(
        model, width, dataset, registry, data_path, data_cfg, checkpoint, compute
    )
    card = check_card(card_path, keys.get("device"))
    ev = _evaluator(net, card, x, test.y, mc, device, fuse=False)  # the oneDNN conv+ReLU call has no gradient
    sampled = pd.read_csv(sampled_csv).sort_values("chip")
    acc = sampled["accuracy"].tolist()
    start = int(sampled["chip"].iloc[int(sampled["accuracy"].to_numpy().argmin())])
    t0 = time.perf_counter()
    found = probe(
        ev,
        sigma_test,
        acc,
        start,
        int(probe_cfg["steps"]),
        float(probe_cfg["step"]),
        float(probe_cfg["radius_quantile"]),
    )
    out = keys | {"sigma_test": format_sigma(sigma_test), "mc_seed": mc.seed} | found
    atomic_write_text(out_json, json.dumps(out, indent=1, sort_keys=True) + "\n")
    log(
        f"probe: {found['found_accuracy']:.2f} % at step {found['found_step']} "
        f"(sampled p1 {found['sampled_p1']:.2f} %, "
        f"worst {found['sampled_worst']:.2f} %), norm quantile {found['found_norm_quantile']:.3f}, "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return out


def calibration_job(
    *,
    evaluation: dict,
    card_path: str,
    rule: dict,
    target: float,
    mc: dict | McSettings,
    out_json: str,
    out_sweep: str,
    log=print,
) -> dict:
    """The scale ladder's sigma rule (``neft.experiment.rungs.crossing_factor``) on one reference model: sweep it over
    ``factor x rule['reference_sigma']`` on ``rule['chips']`` seeded chips each, find where its mean accuracy falls
    to ``target`` (the paper's value there) and write the factor (JSON) and the sweep (CSV).

    ``evaluation``: what ``_evaluation_inputs`` loads (model, width, dataset, registry, data_path, data_cfg,
    checkpoint, compute)."""

    mc = McSettings.from_params(mc)
    device, _, _, net, test, x = _evaluation_inputs(**evaluation)
    ev = _evaluator(net, check_card(card_path), x, test.y, mc, device)
    factors, sigmas, means = [], [], []
    for factor in rungs.factor_grid(rule):
        sigma = rungs.swept_sigma(factor, rule["reference_sigma"])
        rows = ev.evaluate(sigma, int(rule["chips"])).rows
        factors.append(factor)
        sigmas.append(sigma)
        means.append(sum(r["accuracy"] for r in rows) / len(rows))
        log(f"factor {factor:g} (sigma {sigma}): {means[-1]:.2f} %")
        if means[-1] <= target and len(means) > 1:
            break  # the curve has crossed: the rest of the sweep cannot move the factor
    factor, exact = rungs.crossing_factor(factors, means, target, int(rule["decimals"]))
    sweep = "factor,sigma,accuracy\n" + "".join(f"{f:g},{s},{a:.4f}\n" for f, s, a in zip(factors, sigmas, means))
    atomic_write_text(out_sweep, sweep)
    out = {
        "factor": factor,
        "crossing": round(exact, 6),
        "target_accuracy": target,
        "reference_sigma": float(rule["reference_sigma"]),
        "chips": int(rule["chips"]),
        "mc_seed": mc.seed,
        "checkpoint": str(evaluation["checkpoint"]),
        "sweep_sha256": hashlib.sha256(sweep.encode()).hexdigest(),
    }
    atomic_write_text(out_json, json.dumps(out, indent=1, sort_keys=True) + "\n")
    log(f"sigma factor {factor:g} (crossing at {exact:.4f}, target {target:.2f} %)")
    return out


# -- adapters for the rule scripts: the snakemake object's common parts, so each script states only what is its own
def train_rule(smk, sigma, log: Callable[[str], None]) -> list[dict]:
    """``train_job`` for a training rule (train, train_rung) at training ``sigma``: wildcards model, dataset and
    seed; inputs data and card; params model, method, data, registry, training, compute, state."""
    wc, p = smk.wildcards, smk.params
    return train_job(
        model=wc.model,
        width=p.model["width"],
        dataset=wc.dataset,
        registry=p.registry,
        data_path=smk.input.data,
        data_cfg=p.data,
        method_kind=p.method["kind"],
        method_params=p.method["params"],
        card_path=smk.input.card,
        sigma=sigma,
        seed=int(wc.seed),
        settings=train_settings(p.training, p.model["lr"]),
        compute=p.compute,
        out_model=smk.output.model,
        out_log=smk.output.log_csv,
        state_path=p.state,
        log=log,
        meta=run_meta(wc),
    )


def run_meta(wc) -> dict:
    """What a training's path names beyond ``train_job``'s arguments, for its checkpoint: the config's method name
    (two methods may share a kind) and, on a ladder rung, the paper sigma its path carries."""
    named = dict(wc.items())
    return {"method": named["method"]} | ({"paper_sigma": named["psigma"]} if "psigma" in named else {})


def evaluation_args(smk) -> dict:
    """What every evaluation rule (evaluate_mc, evaluate_rung, evaluate_nonideal, probe_worst_case) loads: wildcards
    model and dataset; inputs model (the checkpoint), data and card; params model, registry and data."""
    wc, p = smk.wildcards, smk.params
    return {
        "model": wc.model,
        "width": p.model["width"],
        "dataset": wc.dataset,
        "registry": p.registry,
        "data_path": smk.input.data,
        "data_cfg": p.data,
        "checkpoint": smk.input.model,
        "card_path": smk.input.card,
    }


def mc_rule(smk, sigma_test, keys: dict, log: Callable[[str], None], **extra) -> dict:
    """``mc_job`` for a Monte-Carlo rule (evaluate_mc, evaluate_rung, evaluate_nonideal) at ``sigma_test``, its
    rows labelled with ``keys``: wildcards model and dataset; inputs model, data and card; params model, data,
    registry, mc, compute; outputs chips and stats. ``extra``: mc_job's non-ideality arguments."""
    p = smk.params
    return mc_job(
        **evaluation_args(smk),
        sigma_test=sigma_test,
        mc=p.mc,
        compute=p.compute,
        keys=keys,
        out_csv=smk.output.chips,
        out_stats=smk.output.stats,
        log=log,
        **extra,
    )


def run_keys(wc) -> dict:
    """The columns that name a main-grid run in its chip rows, from a rule's wildcards."""
    return {
        "model": wc.model,
        "dataset": wc.dataset,
        "method": wc.method,
        "device": wc.device,
        "sigma_train": wc.sigma,
        "seed": int(wc.seed),
    }
