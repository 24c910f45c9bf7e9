"""Parse a dataset's original files once into a compact tensor file that every job loads in milliseconds."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from neft.core.data.formats import PARSERS
from neft.core.data.registry import DatasetError, DatasetSpec
from neft.core.data.sources import locate
from neft.util.io import CheckpointError, atomic_torch_save, load_tensors

PREPARED_KEYS = ("train_x", "train_y", "test_x", "test_y", "classes", "dataset")


def resize_uint8(x: torch.Tensor, size: int, chunk: int = 10000) -> torch.Tensor:
    """Bilinear resize of uint8 images (as the paper's MNIST 28 -> 32), rounded back to uint8."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    out = []
    for i in range(0, len(x), chunk):
        y = F.interpolate(x[i : i + chunk].float(), size=(size, size), mode="bilinear", align_corners=False)
        out.append(y.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


def prepare_dataset(
    spec: DatasetSpec, out: str | Path, download_dir: str | Path | None = None, allow_download: bool = True
) -> dict:
    files = {role: locate(spec, role, download_dir, allow_download) for role in spec.files}
    raw = PARSERS[spec.format](files, spec.layout)
    for split in ("train", "test"):
        x, y = getattr(raw, f"{split}_x"), getattr(raw, f"{split}_y")
        if x.ndim != 4 or x.shape[1] != spec.channels:
            raise DatasetError(
                f"dataset {spec.name!r}: {split} images have shape {tuple(x.shape)}, expected {spec.channels} channels"
            )
        declared = getattr(spec, f"{split}_size")
        if declared is not None and len(y) != declared:
            raise DatasetError(
                f"dataset {spec.name!r}: the {split} set in {', '.join(str(f) for f in files.values())} has {len(y)} "
                f"images, but datasets.{spec.name}.{split}_size says {declared}; correct {split}_size (the config "
                "checks subsets against it)"
            )
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= spec.num_classes):
            raise DatasetError(
                f"dataset {spec.name!r}: {split} labels span {int(y.min())}..{int(y.max())}, "
                f"but num_classes is {spec.num_classes}"
            )
    prepared = {
        "train_x": resize_uint8(raw.train_x, spec.image_size).contiguous(),
        "train_y": raw.train_y.contiguous(),
        "test_x": resize_uint8(raw.test_x, spec.image_size).contiguous(),
        "test_y": raw.test_y.contiguous(),
        "classes": list(raw.classes),
        "dataset": spec.name,
    }
    atomic_torch_save(prepared, out)
    return {role: str(p) for role, p in files.items()}


def load_prepared(path: str | Path, spec: DatasetSpec | None = None) -> dict:
    try:
        data = load_tensors(path)
    except CheckpointError as err:
        raise CheckpointError(f"{err}; delete it so the workflow prepares it again") from err
    if not isinstance(data, dict) or any(k not in data for k in PREPARED_KEYS):
        raise DatasetError(f"{path}: not a prepared dataset file (expected keys {', '.join(PREPARED_KEYS)})")
    if spec is not None:
        shape = tuple(data["train_x"].shape[1:])
        want = (spec.channels, spec.image_size, spec.image_size)
        if data["dataset"] != spec.name or shape != want:
            raise DatasetError(
                f"{path}: holds {data['dataset']!r} images of shape {shape}, expected {spec.name!r} {want}; "
                "delete it so the workflow prepares it again"
            )
    return data
