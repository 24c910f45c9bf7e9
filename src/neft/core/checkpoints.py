"""Trained checkpoints that say what they are, and the one loader every reader of a ``model.pt`` uses.

A checkpoint written by ``neft.core.train`` is ``{"format": "neft-checkpoint/1", "meta": {...}, "state_dict": {...}}``,
saved through ``neft.util.io.atomic_torch_save`` and read back through ``neft.util.io.load_tensors``
(``weights_only=True``): the meta holds only strings, numbers, booleans, None, lists and string-keyed mappings. It names
the model, width, classes, input channels and image size (enough to build the model), the dataset, the method (its
config name, kind and resolved parameters), the training sigma (in the workflow's spelling,
``neft.util.sigma.format_sigma``), seed and device card (with the sha256 of the card file when the workflow trained it),
the epochs, the selected epoch and the package and torch versions. Nothing in it depends on when or where it was written
(no time, no absolute path), so two identical trainings still write byte-identical files.

Checkpoints written before this format (a bare state_dict) still load: what they are is then read from their path
(``results/models/<model>/<dataset>/<method>/<device>/sigma~<s>/seed~<n>/model.pt`` or a ladder rung's path), their
width, classes and input channels from their tensors, and a ``LegacyCheckpointWarning`` says so once per process.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch

from neft.core.data import get_spec
from neft.core.models import MODELS, build_model
from neft.util.io import CheckpointError, atomic_torch_save, load_state_dict_strict, load_tensors

FORMAT = "neft-checkpoint/1"
#: every key a checkpoint written by neft.core.train carries (``card_sha256``, ``paper_sigma``: only some)
META_KEYS = (
    "model",
    "width",
    "num_classes",
    "in_channels",
    "image_size",
    "dataset",
    "method",
    "method_kind",
    "method_params",
    "sigma",
    "seed",
    "device",
    "epochs",
    "selected_epoch",
    "selection",
    "neft_version",
    "torch_version",
)
#: what an old checkpoint's path names (neft.experiment.grid.Run.path; a ladder rung's path, neft.analysis.ladder)
_RUN_PATH = re.compile(
    r"(?:^|/)models/(?P<model>[^/]+)/(?P<dataset>[^/]+)/(?P<method>[^/]+)/(?P<device>[^/]+)/sigma~(?P<sigma>[^/]+)/"
    r"seed~(?P<seed>\d+)/[^/]+$"
)
_RUNG_PATH = re.compile(
    r"(?:^|/)scale/width~(?P<width>[^/]+)/epochs~(?P<epochs>\d+)/(?P<model>[^/]+)/(?P<dataset>[^/]+)/"
    r"(?P<method>[^/]+)/(?P<device>[^/]+)/paper_sigma~(?P<paper_sigma>[^/]+)/seed~(?P<seed>\d+)/[^/]+$"
)


class LegacyCheckpointWarning(UserWarning):
    """A checkpoint without metadata (a bare state_dict): what it is was read from its path and tensors."""


_warned_legacy = False


def package_version() -> str:
    """The installed neft distribution's version (``neft-repro``), ``unknown`` when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neft-repro")
    except PackageNotFoundError:
        return "unknown"


def plain(value, where: str = "meta"):
    """``value`` as exactly the plain types ``weights_only`` loading reads back (str, int, float, bool, None, lists,
    string-keyed dicts): tuples become lists, subclasses (``torch.__version__``, numpy scalars) their base type;
    anything else is a ``TypeError`` naming where it is."""
    if value is None or type(value) in (str, bool, int, float):
        return value
    if isinstance(value, bool):
        return bool(value)
    for kind in (str, int, float):  # bool is an int: handled above
        if isinstance(value, kind):
            return kind(value)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # a numpy or torch scalar
        return plain(value.item(), where)
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"checkpoint {where}: key {k!r} is not a string")
            out[str(k)] = plain(v, f"{where}.{k}")
        return out
    raise TypeError(f"checkpoint {where}: {type(value).__name__} is not a plain value (str, number, list, dict)")


def save_checkpoint(path: str | Path, state_dict: dict, meta: dict) -> None:
    """Write ``state_dict`` with ``meta`` (made :func:`plain`) as a neft checkpoint (atomic; byte-identical for equal
    inputs)."""
    atomic_torch_save({"format": FORMAT, "meta": plain(dict(meta)), "state_dict": dict(state_dict)}, path)


def load_checkpoint(path: str | Path, map_location="cpu") -> tuple[dict, dict]:
    """``(state_dict, meta)`` of a trained checkpoint, loaded safely (``neft.util.io.load_tensors``).

    A bare state_dict (written before ``neft-checkpoint/1``) loads too: its meta is read from its path and tensors
    (:func:`meta_from_path`, with ``"legacy": True``), and a ``LegacyCheckpointWarning`` says so once per process."""
    obj = load_tensors(path, map_location=map_location)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a state_dict (mapping of tensors), got {type(obj).__name__}")
    fmt = obj.get("format")
    if isinstance(fmt, str):
        if fmt != FORMAT:
            raise CheckpointError(f"{path}: checkpoint format {fmt!r} is not {FORMAT!r}, the one this code reads")
        state, meta = obj.get("state_dict"), obj.get("meta")
        if not isinstance(state, dict) or not isinstance(meta, dict):
            raise CheckpointError(f"{path}: a {FORMAT} checkpoint needs a 'state_dict' and a 'meta' mapping")
        return state, meta
    if not all(isinstance(v, torch.Tensor) for v in obj.values()):
        kinds = sorted({type(v).__name__ for v in obj.values() if not isinstance(v, torch.Tensor)})
        raise CheckpointError(
            f"{path}: neither a {FORMAT} checkpoint nor a state_dict (it holds {', '.join(kinds)} besides tensors)"
        )
    meta = meta_from_path(path, obj)
    _warn_legacy(path, meta)
    return obj, meta


def _warn_legacy(path, meta: dict) -> None:
    global _warned_legacy
    if _warned_legacy:
        return
    _warned_legacy = True
    named = ", ".join(k for k in ("model", "dataset", "method", "device", "sigma", "seed") if k in meta)
    from_path = f"its {named} from its path" if named else "nothing from its path (not a workflow run's path)"
    warnings.warn(
        f"{path} is a checkpoint without metadata (a bare state_dict, written before {FORMAT}): what it is was read "
        f"instead, {from_path}, its classes, input channels and width from its tensors; retraining it records its "
        "metadata (said once per process, for the first such checkpoint)",
        LegacyCheckpointWarning,
        stacklevel=3,
    )


def meta_from_path(path: str | Path, state: dict) -> dict:
    """What an old checkpoint (a bare state_dict) is: the run its path names (a workflow path) and, from its tensors,
    its input channels (first convolution), classes (last linear layer) and width (first convolution's channels over
    the model's; exact for the widths the workflow uses, 1/2^k)."""
    meta: dict = {"legacy": True}
    posix = Path(path).resolve().as_posix()
    found = _RUN_PATH.search(posix) or _RUNG_PATH.search(posix)
    if found:
        meta |= {k: v for k, v in found.groupdict().items() if v is not None}
        meta["seed"] = int(meta["seed"])
        if "epochs" in meta:
            meta["epochs"] = int(meta["epochs"])
        if "width" in meta:
            meta["width"] = float(meta["width"])
    convs = [v for k, v in state.items() if k.endswith("weight") and getattr(v, "ndim", 0) == 4]
    linears = [v for k, v in state.items() if k.endswith("weight") and getattr(v, "ndim", 0) == 2]
    if convs:
        meta["in_channels"] = int(convs[0].shape[1])
    if linears:
        meta["num_classes"] = int(linears[-1].shape[0])
    if "width" not in meta and (width := guess_width(meta.get("model"), state)) is not None:
        meta["width"] = width
    return meta


def guess_width(model: str | None, state: dict) -> float | None:
    """An old checkpoint's width: its first convolution's channels over the model's at width 1 (exact for the widths
    the workflow uses, 1/2^k; a width whose channel counts were rounded is not recovered)."""

    first = next((v for k, v in state.items() if k.endswith("weight") and getattr(v, "ndim", 0) == 4), None)
    if first is None or model not in MODELS:
        return None
    return first.shape[0] / MODELS[model].base_channels[0]


def check_meta(meta: dict, source, **expected) -> None:
    """Refuse a checkpoint whose meta names another model, width, dataset, ... than ``expected`` (keys the meta lacks,
    or an expectation of None, are not compared): the message names the file and each difference."""
    wrong = []
    for key, want in expected.items():
        if want is None or key not in meta:
            continue
        have = meta[key]
        same = float(have) == float(want) if key == "width" else have == want
        if not same:
            wrong.append(f"{key} is {have!r}, expected {want!r}")
    if wrong:
        raise CheckpointError(
            f"checkpoint {source} is not the model asked for: {'; '.join(wrong)} (its metadata, written when it was "
            "trained); delete it so the workflow retrains it, or load the checkpoint the config names"
        )


def build_from_meta(meta: dict, registry: dict | None = None, source="checkpoint") -> torch.nn.Module:
    """An untrained model of the checkpoint's architecture. A legacy checkpoint's image size (and any classes or
    channels its tensors did not give) come from its dataset's spec."""

    missing = [k for k in ("model", "width") if meta.get(k) is None]
    if missing:
        raise CheckpointError(f"{source}: its metadata does not name its {' and '.join(missing)}")
    if meta["model"] not in MODELS:
        raise CheckpointError(f"{source}: unknown model {meta['model']!r}; allowed: {', '.join(sorted(MODELS))}")
    shape = {k: meta.get(k) for k in ("num_classes", "in_channels", "image_size")}
    if any(v is None for v in shape.values()):
        if not meta.get("dataset"):
            raise CheckpointError(f"{source}: its metadata does not name its dataset (needed for the image size)")

        spec = get_spec(meta["dataset"], registry)
        defaults = {"num_classes": spec.num_classes, "in_channels": spec.channels, "image_size": spec.image_size}
        shape = {k: v if v is not None else defaults[k] for k, v in shape.items()}
    with torch.random.fork_rng(devices=[]):  # the weights are overwritten: leave the global generator alone
        return build_model(
            meta["model"], shape["num_classes"], shape["in_channels"], shape["image_size"], meta["width"]
        )


def load_model(path: str | Path, registry: dict | None = None, **overrides) -> tuple[torch.nn.Module, dict]:
    """The trained model of checkpoint ``path`` in eval mode, and its meta; built from the meta, loaded strictly.

    ``overrides`` (``model``, ``dataset``, ``width``, ...) fill what a legacy checkpoint's path cannot tell; for a
    checkpoint with metadata they must agree with it."""

    state, meta = load_checkpoint(path)
    given = {k: v for k, v in overrides.items() if v is not None}
    if meta.get("legacy"):
        meta = meta | given
        if "width" not in meta and (width := guess_width(meta.get("model"), state)) is not None:
            meta["width"] = width
    else:
        check_meta(meta, path, **given)
    net = build_from_meta(meta, registry, path)
    load_state_dict_strict(net, state, path)
    return net.eval(), meta
