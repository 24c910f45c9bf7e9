"""The training loop shared by every method: Adam, cosine schedule, seeded data order, augmentation and noise,
per-epoch log, model selection, atomic checkpoints and resume from the last finished epoch."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from neft.core import checkpoints
from neft.core.data import DatasetSpec, Preprocess, Split, preprocess_all
from neft.core.devices import DeviceCard
from neft.core.mc import ChipEvaluator, McSettings
from neft.core.methods import Method, Step
from neft.core.methods.neft_loss import resolve_beta
from neft.core.models import build_model
from neft.core.noise import NoisyForward
from neft.util import progress
from neft.util.io import CheckpointError, UnsafeCheckpointError, atomic_torch_save, atomic_write_text, load_tensors
from neft.util.seeding import derive_seed
from neft.util.sigma import format_sigma

SELECTION_SPLITS = ("val", "test")
SELECTION_METRICS = ("noisy", "clean", "last")


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 200
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    selection_split: str = "val"
    selection_metric: str = "noisy"
    selection_chips: int = 1
    eval_batch_size: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"training.schedule is {self.schedule!r}; allowed: cosine, constant")
        if self.selection_split not in SELECTION_SPLITS:
            raise ValueError(f"training.selection.split is {self.selection_split!r}; allowed: val, test")
        if self.selection_metric not in SELECTION_METRICS:
            raise ValueError(f"training.selection.metric is {self.selection_metric!r}; allowed: noisy, clean, last")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("training.epochs and training.batch_size must be >= 1")


def seeded_model(name: str, spec: DatasetSpec, width: float, seed: int) -> nn.Module:
    """The initial weights are a function of the seed only (the global RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "init"))
        return build_model(name, spec.num_classes, spec.channels, spec.image_size, width)


@torch.inference_mode()
def clean_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    was = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for i in range(0, len(y), batch_size):
        correct += (model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum()
    model.train(was)
    return 100.0 * int(correct) / len(y)


@dataclass(frozen=True)
class Training:
    """What is trained: the model's registry name (``neft.core.models``), the method, the device card whose noise it
    trains under, and the training sigma."""

    model_name: str
    method: Method
    card: DeviceCard
    sigma: float


@dataclass(frozen=True)
class TrainData:
    """The dataset's spec, its splits (``train``, ``val``, ``test``) and the device the training runs on."""

    spec: DatasetSpec
    splits: dict[str, Split]
    device: torch.device


@dataclass(frozen=True)
class TrainOutputs:
    """Where a training writes: the checkpoint (``model``), its log (CSV), and the resume state it keeps while it runs
    (``state``; None: no resume), which it resumes from only when written with the same ``fingerprint``. ``meta``:
    what the checkpoint records beyond :func:`checkpoint_meta` (the config's method name, the card file's digest;
    they override)."""

    model: str | Path
    log: str | Path
    state: str | Path | None = None
    fingerprint: str = ""
    meta: dict | None = None


class _Resumable(NamedTuple):
    """What a resume state restores, besides the log rows and the selected weights."""

    model: nn.Module
    aux: nn.Module | None
    opt: torch.optim.Optimizer
    sched: object
    order_gen: torch.Generator
    step_gen: torch.Generator


#: a resume state's fields and the type each must have
_STATE_FIELDS = {
    "fingerprint": str,
    "epoch": int,
    "model": dict,
    "aux": dict,
    "optimizer": dict,
    "scheduler": dict,
    "order_gen": torch.Tensor,
    "step_gen": torch.Tensor,
    "rows": list,
    "best_score": float,
    "best_state": (dict, type(None)),
}


def _state_problem(state, fingerprint: str, epochs: int) -> str | None:
    """Why ``state`` (a loaded resume state) cannot be resumed from, or None."""
    if not isinstance(state, dict):
        return f"not a resume state (it holds a {type(state).__name__}, not a mapping of fields)"
    if state.get("fingerprint") != fingerprint:
        return "written for another configuration"
    missing = [k for k in _STATE_FIELDS if k not in state]
    if missing:
        return f"a damaged resume state (no {', '.join(missing)})"
    wrong = [k for k, kind in _STATE_FIELDS.items() if not isinstance(state[k], kind) or isinstance(state[k], bool)]
    if wrong:
        return f"a damaged resume state ({wrong[0]} is a {type(state[wrong[0]]).__name__})"
    if not 0 <= state["epoch"] < epochs or len(state["rows"]) != state["epoch"] + 1:
        return f"a damaged resume state (epoch {state['epoch']} with {len(state['rows'])} log rows)"
    return None


def _resume(path: Path, fingerprint: str, parts: _Resumable, epochs: int):
    """Restore ``parts`` from the resume state at ``path``: ``(rows, best_score, best_state, start epoch)``, or why
    it cannot be used (a damaged or foreign file is a cache miss: the training starts over; one that would run code
    stops the job, naming it). A state that fails half-way leaves nothing restored."""
    try:
        state = load_tensors(path, map_location="cpu")  # generator states must stay on the CPU
    except UnsafeCheckpointError:  # a file that would run code is tampering, not damage: the job stops, naming it
        raise
    except CheckpointError as err:  # truncated or corrupt
        return f"unreadable ({err})"
    problem = _state_problem(state, fingerprint, epochs)
    if problem is not None:
        return problem
    before = [copy.deepcopy(p.state_dict()) for p in (parts.model, parts.aux, parts.opt, parts.sched) if p is not None]
    try:
        parts.model.load_state_dict(state["model"])
        if parts.aux is not None:
            parts.aux.load_state_dict(state["aux"])
        parts.opt.load_state_dict(state["optimizer"])
        parts.sched.load_state_dict(state["scheduler"])
        step_state = state["step_gen"].to(parts.step_gen.get_state().device)
        order_state = parts.order_gen.get_state()
        parts.order_gen.set_state(state["order_gen"])
        try:
            parts.step_gen.set_state(step_state)
        except (RuntimeError, TypeError, ValueError):
            parts.order_gen.set_state(order_state)
            raise
    except (RuntimeError, TypeError, ValueError, KeyError) as err:
        restorable = [p for p in (parts.model, parts.aux, parts.opt, parts.sched) if p is not None]
        for part, saved in zip(restorable, before):
            part.load_state_dict(saved)
        return f"a damaged resume state ({' '.join(str(err).split())[:200]})"
    return state["rows"], state["best_score"], state["best_state"], state["epoch"] + 1


def train(
    model: nn.Module,
    training: Training,
    data: TrainData,
    settings: TrainSettings,
    out: TrainOutputs,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Train ``model`` (``training``: with its method at its card's noise and sigma) on ``data``; write the selected
    epoch's state_dict as a checkpoint that says what it is (``neft.core.checkpoints``), and the log."""
    model_name, method, card, sigma = training.model_name, training.method, training.card, training.sigma
    spec, splits, device = data.spec, data.splits, data.device
    out_model, out_log, state_path, fingerprint, meta = out.model, out.log, out.state, out.fingerprint, out.meta
    # built before the first epoch: a value the checkpoint cannot hold fails now, not after the training
    about = checkpoints.plain(checkpoint_meta(model, model_name, method, card, sigma, spec, settings) | (meta or {}))
    model = model.to(device)
    if method.channels_last:
        model = model.to(memory_format=torch.channels_last)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(settings.seed, "aux init"))
        aux = method.build_aux(model, card, model_name, spec.num_classes, spec.image_size, sigma)
    if aux is not None:
        aux = aux.to(device)
    # once each: an aux module may share the model's own parameters (neft.core.interop.analog_twin)
    params = list(dict.fromkeys([*model.parameters(), *(aux.parameters() if aux is not None else [])]))
    opt = method.optimizer(params, settings.lr, settings.weight_decay, aux)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.epochs)
        if settings.schedule == "cosine"
        else torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    )
    order_gen = torch.Generator().manual_seed(derive_seed(settings.seed, "data order"))
    step_gen = torch.Generator(device=device).manual_seed(derive_seed(settings.seed, "noise and augmentation"))
    pre = Preprocess(spec, device)
    # the uint8 images live on the training device (Tiny ImageNet: 1.2 GB): no host-to-device copy per batch
    train_split = splits["train"].to(device)
    sel = splits[settings.selection_split]
    sel_x, sel_y = preprocess_all(sel, pre, device), sel.y.to(device)
    noisy = NoisyForward(model, card)
    step = Step(model, noisy, sigma, step_gen, aux, model_name=model_name, dataset=spec.name)
    if note := method.describe(step):
        log(note)

    rows: list[dict] = []
    best_score, best_state, start = -1.0, None, 0
    if state_path is not None and Path(state_path).exists():
        parts = _Resumable(model, aux, opt, sched, order_gen, step_gen)
        resumed = _resume(Path(state_path), fingerprint, parts, settings.epochs)
        if isinstance(resumed, str):
            log(f"ignoring {state_path}: {resumed}; training from the first epoch")
        else:
            rows, best_score, best_state, start = resumed
            log(f"resuming from {state_path} after epoch {start}")

    n = len(train_split)
    report = progress.reporter("epoch", settings.epochs, done=start)  # neft.util.progress: the terminal view's ETA
    for epoch in range(start, settings.epochs):
        t0 = time.perf_counter()
        model.train()
        if aux is not None:
            aux.train()
        perm = torch.randperm(n, generator=order_gen)
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        batches = 0
        for i in range(0, n, settings.batch_size):
            idx = perm[i : i + settings.batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on a single example
                continue
            xb = pre(train_split.x[idx], train=True, generator=step_gen)
            yb = train_split.y[idx]
            loss = method.loss(step, xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            batches += 1
            report.update(epoch + min(i + settings.batch_size, n) / n)  # written at most once a second
        lr = opt.param_groups[0]["lr"]
        sched.step()
        clean = clean_accuracy(model, sel_x, sel_y, settings.eval_batch_size)
        noisy_acc = clean
        if sigma > 0 and settings.selection_chips > 0:
            chips = McSettings(
                batch_size=settings.eval_batch_size, seed=derive_seed(settings.seed, "selection chips"), ekl_bootstrap=0
            )
            ev = ChipEvaluator(model, card, sel_x, sel_y, chips)
            noisy_acc = sum(r["accuracy"] for r in ev.evaluate(sigma, settings.selection_chips).rows)
            noisy_acc /= settings.selection_chips
        row = {
            "epoch": epoch + 1,
            "lr": lr,
            "loss": float(loss_sum) / max(batches, 1),
            "split": settings.selection_split,
            "clean_acc": clean,
            "noisy_acc": noisy_acc,
            "seconds": round(time.perf_counter() - t0, 3),
        }
        score = {"noisy": noisy_acc, "clean": clean, "last": float(epoch)}[settings.selection_metric]
        row["selected"] = score > best_score
        if row["selected"]:
            best_score = score
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        rows.append(row)
        report.update(epoch + 1, force=True)
        log(
            f"epoch {epoch + 1}/{settings.epochs} loss {row['loss']:.4f} {row['split']} clean {clean:.2f} "
            f"noisy {noisy_acc:.2f} ({row['seconds']:.1f} s)"
        )
        if state_path is not None:
            atomic_torch_save(
                {
                    "fingerprint": fingerprint,
                    "epoch": epoch,
                    "model": model.state_dict(),
                    # a plain dict: an aihwkit-lightning layer puts its config object in the state_dict's metadata,
                    # which weights_only loading would refuse
                    "aux": dict(aux.state_dict()) if aux is not None else {},
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "order_gen": order_gen.get_state(),
                    "step_gen": step_gen.get_state().cpu(),
                    "rows": rows,
                    "best_score": best_score,
                    "best_state": best_state,
                },
                state_path,
            )
    selected = max((r["epoch"] for r in rows if r["selected"]), default=None)
    checkpoints.save_checkpoint(out_model, best_state, about | {"selected_epoch": selected})
    write_log(rows, out_log)
    if state_path is not None:
        Path(state_path).unlink(missing_ok=True)
    report.close()
    return rows


def checkpoint_meta(
    model: nn.Module, model_name: str, method: Method, card: DeviceCard, sigma: float, spec, settings: TrainSettings
) -> dict:
    """What a trained checkpoint is (``neft.core.checkpoints.META_KEYS`` but the selected epoch): enough to build its
    model and to name its run; plain values only, nothing that depends on the time or the place it was trained."""
    params = {f.name: getattr(method, f.name) for f in dataclasses.fields(method)}
    if "beta" in params:  # "paper" becomes the paper's number for this model, dataset and method kind
        try:
            params["beta"] = resolve_beta(params["beta"], model_name, spec.name, method.kind)
        except ValueError:
            pass  # no paper value here: the training says so at its first step
    return {
        "model": model_name,
        "width": getattr(model, "width", None),
        "num_classes": spec.num_classes,
        "in_channels": spec.channels,
        "image_size": spec.image_size,
        "dataset": spec.name,
        "method": method.kind,
        "method_kind": method.kind,
        "method_params": json.loads(json.dumps(params, sort_keys=True, default=str)),
        "sigma": format_sigma(sigma),
        "seed": settings.seed,
        "device": card.name,
        "epochs": settings.epochs,
        "selection": {
            "split": settings.selection_split,
            "metric": settings.selection_metric,
            "chips": settings.selection_chips,
        },
        "neft_version": checkpoints.package_version(),
        "torch_version": torch.__version__,
    }


def write_log(rows: list[dict], path: str | Path) -> None:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    atomic_write_text(path, buf.getvalue())
