"""Checks of what a job reads besides the hand-off tables: a prepared dataset, a device card (the one its path
names), a device fit beside its card, and the report's figures and tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neft.experiment.tablecheck import check_digest, digest_path, error, ints_text, read_table, require


def check_prepared(data: dict, path: str | Path, spec) -> None:
    """A prepared.pt (already loaded by ``neft.core.data.load_prepared``, which checks its keys, dataset name and image
    shape): uint8 images, as many integer labels as images, labels within the dataset's classes."""
    import torch

    problems = []
    for split in ("train", "test"):
        x, y = data[f"{split}_x"], data[f"{split}_y"]
        if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.ndim != 4:
            what = f"{x.dtype} of {x.ndim} dimensions" if isinstance(x, torch.Tensor) else type(x).__name__
            problems.append(f"{split}_x is {what}, expected uint8 images (N, C, H, W)")
            continue
        if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.dtype.is_floating_point or y.dtype == torch.bool:
            problems.append(f"{split}_y is not a 1-D integer tensor of labels")
            continue
        if len(x) == 0:
            problems.append(f"{split}_x holds no images")
        elif len(y) != len(x):
            problems.append(f"{split}_y holds {len(y)} labels, but {split}_x {len(x)} images")
        elif int(y.min()) < 0 or int(y.max()) >= spec.num_classes:
            problems.append(
                f"{split}_y spans {int(y.min())}..{int(y.max())}, but {spec.name} has {spec.num_classes} classes"
            )
    if problems:
        raise error(path, problems, "delete it so the workflow prepares it again")


def card_device_from_path(path: str | Path) -> str | None:
    """The device a card's path files it under (``results/devices/<device>/card.yaml``), or None elsewhere."""
    p = Path(path)
    return p.parent.name if p.name == "card.yaml" and p.parent.parent.name == "devices" else None


def check_card(path: str | Path, device: str | None = None):
    """A device card a job reads (``DeviceCard.load`` checks its fields): it must be the card of ``device`` (by
    default the device its path names, ``results/devices/<device>/card.yaml``), the name the job's results are
    filed under; chip seeds are derived from the card's name. Returns the card."""

    # here, not at the top: neft.core.devices imports torch, and the table jobs that import this module read no card
    from neft.core.devices import DeviceCard

    card = DeviceCard.load(path)
    device = device if device is not None else card_device_from_path(path)
    if device is not None and card.name != device:
        raise error(path, f"the card's name is {card.name!r}, expected {device!r} (the device of this job)")
    return card


def check_device_fit(table: pd.DataFrame, fit_path: str | Path, card, card_path: str | Path) -> None:
    """A fit.csv and the card.yaml fit_device wrote with it: the card's device, levels 0..L-1 once each with L the
    card's level count, finite numbers, the measured relative std the card recorded. The card must be a fitted one
    (``DeviceCard.load`` has checked that a fitted card is complete)."""
    if not getattr(card, "fitted", False):
        raise error(
            card_path,
            "not a fitted card: it has none of the fields fit_device writes (measured_sigma, level_multipliers, fit, "
            "provenance.source_device), so there is no fit to draw",
            "delete it and the fit.csv beside it so that the workflow fits the device again (rule fit_device)",
        )
    problems: list[str] = []
    names = sorted(set(table["device"].astype(str)))
    if names != [card.name]:
        problems.append(f"device is {', '.join(names)}, but {card_path} is the card of {card.name!r}")
    levels = require(table, problems, "level", lo=0, integer=True)
    if not problems and [int(v) for v in levels] != list(range(len(levels))):
        problems.append(f"levels are {ints_text(int(v) for v in levels)}, expected 0..{len(levels) - 1}, each once")
    fit = (card.extra or {}).get("fit") or {}
    if "n_levels" in fit and len(table) != int(fit["n_levels"]):
        problems.append(f"{len(table)} levels, but {card_path} was fitted on {fit['n_levels']}")
    for c in ("x", "g_target_us", "measured_rel_std", "model_rel_std", "residual", "level_multiplier"):
        require(table, problems, c)
    measured = fit.get("measured_rel_std")
    if not problems and measured is not None and len(measured) == len(table):
        got = table["measured_rel_std"].astype(float).to_numpy()
        if not np.allclose(got, np.asarray(measured, dtype=float), rtol=1e-6, atol=1e-12):
            problems.append(f"measured_rel_std differs from the one {card_path} records")
    if problems:
        raise error(fit_path, problems, "delete it and its card.yaml so the workflow fits the device again")


def check_report_inputs(paths) -> None:
    """What render_report reads: every figure a complete PNG or PDF, every table non-empty and ending in a newline
    (a CSV with a header, and the file its job wrote where that job records a digest beside it), every card a YAML
    mapping."""
    import yaml

    for p in map(Path, paths):
        if not p.exists():
            raise error(p, "file not found")
        raw = p.read_bytes()
        if not raw:
            raise error(p, "empty file (0 bytes)")
        if p.suffix == ".png" and not (raw.startswith(b"\x89PNG\r\n\x1a\n") and raw.endswith(b"IEND\xaeB`\x82")):
            raise error(p, "not a complete PNG image (signature or IEND chunk missing)")
        if p.suffix == ".pdf" and not (raw.startswith(b"%PDF-") and b"%%EOF" in raw[-1024:]):
            raise error(p, "not a complete PDF (header or %%EOF missing)")
        if p.suffix in (".csv", ".md", ".tex") and not raw.endswith(b"\n"):
            raise error(p, "truncated: its last line has no newline (its writer ends every file with one)")
        if p.suffix == ".csv":
            read_table(p, [], allow_empty=True)
            if digest_path(p).exists():
                check_digest(p)
        if p.suffix == ".yaml":
            try:
                data = yaml.safe_load(raw)
            except yaml.YAMLError as err:
                raise error(p, f"not valid YAML ({type(err).__name__})") from err
            if not isinstance(data, dict):
                raise error(p, f"expected a YAML mapping, found {type(data).__name__}")
