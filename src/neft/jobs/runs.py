"""One function per workflow job (prepare, train, Monte-Carlo, probe, sigma calibration). Each takes its job spec and
its paths whole (``neft.experiment.job_specs``: ``TrainJob``/``TrainPaths``, ``EvalJob``/``EvalPaths``), so the
Snakemake scripts are thin adapters (``train_rule``, ``eval_rule``) and every job can also be run, tested and
debugged from Python."""

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
from neft.core.data import get_spec, load_prepared, prepare_dataset, preprocess_all
from neft.core.data.loader import DataSpec, Preprocess, Split
from neft.core.mc import ChipEvaluator, McSettings
from neft.core.models import ModelSpec
from neft.core.nonideal import CALIBRATION_IMAGES
from neft.core.probe import probe
from neft.core.train import TrainData, Training, TrainOutputs, TrainSettings, seeded_model, train
from neft.experiment import rungs
from neft.experiment.contracts import MC_COLUMNS as HANDOFF_MC_COLUMNS
from neft.experiment.inputs import check_card, check_prepared
from neft.experiment.job_specs import EvalJob, EvalPaths, TrainJob, TrainPaths
from neft.jobs import keep
from neft.util import progress
from neft.util.io import atomic_write_text, load_state_dict_strict, sha256_file


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
    check_prepared(prepared, data_path, spec)  # what prepare_dataset promised its readers (neft.experiment.inputs)
    return spec, DataSpec.from_params(data_cfg).splits(prepared, spec)


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


def train_job(job: TrainJob, paths: TrainPaths, log: Callable[[str], None] = print) -> list[dict]:
    """Train one run and write its checkpoint (``neft.core.checkpoints``), or restore the kept identical one. The
    checkpoint records ``job.meta`` and the card file's sha256 beside what the run is."""
    compute = job.compute
    compute.apply()
    device = resolve_device(compute.device)
    # what the training depends on; a finished one with byte-identical inputs is restored, not repeated
    # (neft.jobs.keep), and an interrupted one resumes only from a state written for the same job and card
    # (neft.core.train)
    what = [
        job.model,
        job.width,
        job.dataset,
        job.data.params(),
        job.method.kind,
        job.method.parameters,
        str(job.sigma),
    ]
    what += [job.seed, job.settings]
    if job.meta:  # recorded in the checkpoint, so part of what a kept training must match
        what.append(job.meta)
    software = [torch.__version__, platform.python_version(), platform.machine()]
    if job.method.kind == "aihwkit_hwa":  # another library's layers train it: a new version of it is a new training
        from importlib.metadata import PackageNotFoundError, version

        try:
            software.append(f"aihwkit-lightning {version('aihwkit-lightning')}")
        except PackageNotFoundError:
            software.append("aihwkit-lightning missing")
    settings_key = json.dumps(
        [what, job.registry, compute.params() | {"device": str(device)}, software], sort_keys=True, default=str
    )
    key = keep.training_key(settings_key, paths.data, paths.card)
    if keep.restore(paths.model, paths.log, key, log):
        if paths.state is not None:
            Path(paths.state).unlink(missing_ok=True)
        with open(paths.log, newline="") as fh:
            return list(csv.DictReader(fh))
    spec, splits = load_splits(job.dataset, job.registry, paths.data, job.data)
    card = check_card(paths.card)  # the card of the device its path names (neft.experiment.inputs)
    method = job.method.build()
    ts = TrainSettings(seed=job.seed, **job.settings)
    net = seeded_model(job.model, spec, job.width, job.seed)
    log(
        f"training {job.model} (width {job.width}) on {job.dataset} ({len(splits['train'])} train, "
        f"{len(splits['val'])} val) with {job.method.kind} {job.method.parameters} at sigma {job.sigma} on "
        f"{card.name}, device {device}"
    )
    out = TrainOutputs(
        model=paths.model,
        log=paths.log,
        state=paths.state,
        fingerprint=json.dumps([what, card.to_dict()], sort_keys=True, default=str),
        meta={"method": job.method.kind, **(job.meta or {}), "card_sha256": sha256_file(paths.card)},
    )
    rows = train(
        net, Training(job.model, method, card, float(job.sigma)), TrainData(spec, splits, device), ts, out, log
    )
    if key is not None:
        try:
            keep.store(paths.model, paths.log, key)
        except OSError as err:  # the training itself is complete; only the safety copy is missing
            log(f"could not keep a copy of this training in {keep.kept_dir(paths.model)}: {err}")
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
    HANDOFF_MC_COLUMNS  # the chip columns of an MC CSV: neft.experiment.contracts says what a sweep's files promise
)


def mc_job(job: EvalJob, paths: EvalPaths, log: Callable[[str], None] = print) -> dict:
    """Evaluate one checkpoint on ``mc.chips`` chips at ``job.sigma_test``; one CSV row per chip (``paths.chips``)
    and a JSON that says what the CSV holds (``paths.stats``)."""
    paths.need("chips", "stats")
    mc = job.mc
    device, spec, splits, net, test, x = _evaluation_inputs(job, paths)
    card = check_card(paths.card, job.card_name or job.keys.get("device"))  # its name seeds every chip
    if job.card_changes:
        card = dataclasses.replace(card, **job.card_changes)
    calibration = None
    if card.dac_bits is not None or card.adc_bits is not None:  # converter ranges: abs-max on training images
        train_split = splits["train"]
        first = Split(train_split.x[:CALIBRATION_IMAGES], train_split.y[:CALIBRATION_IMAGES])
        calibration = preprocess_all(first, Preprocess(spec, device), device)
    ev = _evaluator(net, card, x, test.y, mc, seed_name=job.seed_device, calibration=calibration)
    t0 = time.perf_counter()
    chips = mc.chip_budget
    report = progress.reporter("chip", chips)  # neft.util.progress: the terminal view's chip count
    if mc.adaptive_enabled:
        stats = ev.evaluate(
            job.sigma_test, chips, adaptive=mc.adaptive, on_chip=report.update, seed_sigma=job.seed_sigma
        )
    else:
        stats = ev.evaluate(job.sigma_test, chips, on_chip=report.update, seed_sigma=job.seed_sigma)
    seconds = time.perf_counter() - t0
    sigma = str(job.sigma_test)
    csv_sha256 = write_chip_csv(stats.rows, job.keys | {"sigma_test": sigma}, paths.chips)
    # the JSON says what its CSV holds (chips = its rows, its keys, its sha256), so aggregate_mc can check it
    summary = job.keys | {"sigma_test": sigma, **stats.uncertainty(), "n_test": len(test)}
    summary |= {"mc_seed": mc.seed, "csv_sha256": csv_sha256}
    atomic_write_text(paths.stats, json.dumps(summary, indent=1, sort_keys=True) + "\n")
    report.close()
    log(f"{len(stats.rows)} chips at sigma {sigma} in {seconds:.1f} s ({len(stats.rows) / seconds:.2f} chips/s)")
    return summary


def _evaluator(net, card, x, y, mc: McSettings, **options) -> ChipEvaluator:
    """The chip evaluator of every evaluation job: the mc settings (batch size, BN folding, chip seed, precision,
    compilation, chips per pass, bootstrap) on the job's device (where ``x`` is)."""
    return ChipEvaluator(net, card, x, y, mc, **options)


def _plain(mc: McSettings) -> McSettings:
    """The probe and the sigma calibration evaluate in fp32, uncompiled, one chip per pass and without the
    expected-KL bootstrap, whatever ``mc`` says for the sweeps: the probe follows gradients, and both read only
    accuracies. Batch size, BN folding and the chip seed stay ``mc``'s."""
    return dataclasses.replace(mc, precision="fp32", compile=False, chips_per_pass=1, ekl_bootstrap=0)


def _evaluation_inputs(job: EvalJob, paths: EvalPaths):
    """What every evaluation job loads first: the tuned process's device, the splits, the trained model and the test
    set preprocessed on the device."""
    compute = job.compute
    compute.apply()
    device = resolve_device(compute.device)
    spec, splits = load_splits(job.dataset, job.registry, paths.data, job.data)
    net = load_model(job.model, job.width, spec, paths.checkpoint)
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


def probe_job(job: EvalJob, paths: EvalPaths, probe_cfg: dict, log: Callable[[str], None] = print) -> dict:
    """The worst-case probe (``neft.core.probe``) on one checkpoint, starting from the worst chip of its main sweep
    (``paths.sampled``); ``probe_cfg``: the config's ``worst_case`` probe settings (steps, step, radius_quantile)."""
    import pandas as pd

    paths.need("sampled", "out")
    mc = _plain(job.mc)
    _, _, _, net, test, x = _evaluation_inputs(job, paths)
    card = check_card(paths.card, job.keys.get("device"))
    ev = _evaluator(net, card, x, test.y, mc, fuse=False)  # the oneDNN conv+ReLU call has no gradient
    sampled = pd.read_csv(paths.sampled).sort_values("chip")
    acc = sampled["accuracy"].tolist()
    start = int(sampled["chip"].iloc[int(sampled["accuracy"].to_numpy().argmin())])
    t0 = time.perf_counter()
    found = probe(
        ev,
        job.sigma_test,
        acc,
        start,
        int(probe_cfg["steps"]),
        float(probe_cfg["step"]),
        float(probe_cfg["radius_quantile"]),
    )
    out = job.keys | {"sigma_test": str(job.sigma_test), "mc_seed": mc.seed} | found
    atomic_write_text(paths.out, json.dumps(out, indent=1, sort_keys=True) + "\n")
    log(
        f"probe: {found['found_accuracy']:.2f} % at step {found['found_step']} "
        f"(sampled p1 {found['sampled_p1']:.2f} %, "
        f"worst {found['sampled_worst']:.2f} %), norm quantile {found['found_norm_quantile']:.3f}, "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return out


def calibration_job(job: EvalJob, paths: EvalPaths, rule: dict, target: float, log=print) -> dict:
    """The scale ladder's sigma rule (``neft.experiment.rungs.crossing_factor``) on one reference model: sweep it over
    ``factor x rule['reference_sigma']`` on ``rule['chips']`` seeded chips each, find where its mean accuracy falls
    to ``target`` (the paper's value there) and write the factor (``paths.out``, JSON) and the sweep
    (``paths.sweep``, CSV). ``job.sigma_test`` is not used: the rule sweeps its own sigmas."""
    paths.need("out", "sweep")
    mc = _plain(job.mc)
    _, _, _, net, test, x = _evaluation_inputs(job, paths)
    ev = _evaluator(net, check_card(paths.card), x, test.y, mc)
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
    atomic_write_text(paths.sweep, sweep)
    out = {
        "factor": factor,
        "crossing": round(exact, 6),
        "target_accuracy": target,
        "reference_sigma": float(rule["reference_sigma"]),
        "chips": int(rule["chips"]),
        "mc_seed": mc.seed,
        "checkpoint": str(paths.checkpoint),
        "sweep_sha256": hashlib.sha256(sweep.encode()).hexdigest(),
    }
    atomic_write_text(paths.out, json.dumps(out, indent=1, sort_keys=True) + "\n")
    log(f"sigma factor {factor:g} (crossing at {exact:.4f}, target {target:.2f} %)")
    return out


# -- adapters for the rule scripts: the snakemake object's common parts, so each script states only what is its own
def train_rule(smk, sigma, log: Callable[[str], None]) -> list[dict]:
    """``train_job`` for a training rule (train, train_rung) at training ``sigma``: wildcards model, dataset and
    seed; inputs data and card; params model, method, data, registry, training, compute, state."""
    wc, p = smk.wildcards, smk.params
    model = ModelSpec.from_params(wc.model, p.model)
    job = TrainJob(
        model=wc.model,
        width=model.width,
        dataset=wc.dataset,
        method=p.method,
        sigma=sigma,
        seed=int(wc.seed),
        settings=train_settings(p.training, model.lr),
        registry=p.registry,
        data=p.data,
        compute=p.compute,
        meta=run_meta(wc),
    )
    paths = TrainPaths(smk.input.data, smk.input.card, smk.output.model, smk.output.log_csv, p.state)
    return train_job(job, paths, log)


def run_meta(wc) -> dict:
    """What a training's path names beyond its ``TrainJob``'s other fields, for its checkpoint: the config's method
    name (two methods may share a kind) and, on a ladder rung, the paper sigma its path carries."""
    named = dict(wc.items())
    return {"method": named["method"]} | ({"paper_sigma": named["psigma"]} if "psigma" in named else {})


def eval_rule(smk, sigma_test, keys: dict, **variant) -> tuple[EvalJob, EvalPaths]:
    """The ``EvalJob`` and ``EvalPaths`` of an evaluation rule (evaluate_mc, evaluate_rung, evaluate_nonideal,
    probe_worst_case) at ``sigma_test``, its rows labelled with ``keys``: wildcards model and dataset; inputs model
    (the checkpoint), data and card; params model, registry, data, mc, compute; outputs chips and stats, or probe.
    ``variant``: a non-ideality sweep's ``EvalJob`` fields (card_name, card_changes, seed_device, seed_sigma)."""
    wc, p, i, o = smk.wildcards, smk.params, smk.input, smk.output
    job = EvalJob(
        model=wc.model,
        width=ModelSpec.from_params(wc.model, p.model).width,
        dataset=wc.dataset,
        sigma_test=sigma_test,
        mc=p.mc,
        keys=keys,
        registry=p.registry,
        data=p.data,
        compute=p.compute,
        **variant,
    )
    outputs = dict(o.items())
    paths = EvalPaths(
        i.data,
        i.model,
        i.card,
        chips=outputs.get("chips"),
        stats=outputs.get("stats"),
        sampled=dict(i.items()).get("sampled"),
        out=outputs.get("probe"),
    )
    return job, paths


def mc_rule(smk, sigma_test, keys: dict, log: Callable[[str], None], **variant) -> dict:
    """``mc_job`` for a Monte-Carlo rule (evaluate_mc, evaluate_rung, evaluate_nonideal): :func:`eval_rule`'s job
    and paths."""
    job, paths = eval_rule(smk, sigma_test, keys, **variant)
    return mc_job(job, paths, log)


def run_keys(wc, sigma_train=None) -> dict:
    """The columns that name a run in its chip rows, from a rule's wildcards; ``sigma_train``: the training sigma where
    the wildcards do not spell it (a ladder rung's, computed from its factor), else ``wc.sigma``."""
    return {
        "model": wc.model,
        "dataset": wc.dataset,
        "method": wc.method,
        "device": wc.device,
        "sigma_train": wc.sigma if sigma_train is None else sigma_train,
        "seed": int(wc.seed),
    }
