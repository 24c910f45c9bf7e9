"""Splits, subsets and on-device batch preprocessing (augmentation and normalisation) without DataLoaders.

All images of the mini and paper datasets fit in memory as uint8, so batches are slices of one tensor: no worker
processes, no per-item Python, and a seeded generator decides every crop and flip.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from neft.core.data.registry import DatasetError, DatasetSpec
from neft.util.seeding import derive_seed


@dataclass
class Split:
    x: torch.Tensor  # uint8 (N, C, H, W)
    y: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device) -> Split:
        return Split(self.x.to(device), self.y.to(device))


@dataclass(frozen=True)
class DataSpec:
    """How the splits are made: the config's ``data`` section, the part a job reads (``download_dir`` and
    ``allow_download`` are the prepare rule's). ``val_size`` None: the dataset registry's. Each default is stated here
    once and equals the schema's (tests/test_specs.py)."""

    split_seed: int = 0
    val_size: int | None = None
    train_subset: int | None = None
    val_subset: int | None = None
    test_subset: int | None = None

    @classmethod
    def from_params(cls, data) -> DataSpec:
        """From a rule's ``params.data`` (:meth:`params`) or the config's ``data`` section: a missing key takes its
        default; keys a job does not read are ignored."""
        if isinstance(data, cls):
            return data
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(data).items() if k in names})

    def params(self) -> dict:
        """The rule params Snakemake tracks: every field, in this order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def splits(self, prepared: dict, spec: DatasetSpec) -> dict[str, Split]:
        """:func:`make_splits` of ``prepared`` (dataset ``spec``) with these settings."""
        return make_splits(
            prepared,
            val_size=int(self.val_size or spec.val_size),
            seed=int(self.split_seed),
            train_subset=self.train_subset,
            val_subset=self.val_subset,
            test_subset=self.test_subset,
        )


def make_splits(
    prepared: dict,
    val_size: int,
    seed: int,
    train_subset: int | None = None,
    val_subset: int | None = None,
    test_subset: int | None = None,
) -> dict[str, Split]:
    """``train``/``val`` carved from the original training set by a seeded permutation; ``test`` is the original
    test set. Subsets (for the small scales) are seeded too and keep the test order."""
    name = prepared["dataset"]
    n = len(prepared["train_y"])
    if not 0 <= val_size < n:
        raise DatasetError(f"val_size {val_size} must lie in [0, {n - 1}] for dataset {name!r}")
    g = torch.Generator().manual_seed(derive_seed(seed, name, "validation split"))
    perm = torch.randperm(n, generator=g)
    val_idx, train_idx = perm[:val_size], perm[val_size:]
    if train_subset:
        train_idx = train_idx[:train_subset]
    if val_subset:
        val_idx = val_idx[:val_subset]
    val_idx, train_idx = val_idx.sort().values, train_idx.sort().values
    test_idx = torch.arange(len(prepared["test_y"]))
    if test_subset and test_subset < len(test_idx):
        g = torch.Generator().manual_seed(derive_seed(seed, name, "test subset"))
        test_idx = torch.randperm(len(test_idx), generator=g)[:test_subset].sort().values
    x, y = prepared["train_x"], prepared["train_y"]
    return {
        "train": Split(x[train_idx], y[train_idx]),
        "val": Split(x[val_idx], y[val_idx]),
        "test": Split(prepared["test_x"][test_idx], prepared["test_y"][test_idx]),
    }


class Preprocess:
    """uint8 batch -> normalised float batch; in training, random crop (zero padding) and horizontal flip."""

    def __init__(self, spec: DatasetSpec, device: torch.device, channels_last: bool = True) -> None:
        shape = (1, spec.channels, 1, 1)
        self.mean = torch.tensor(spec.mean, device=device).view(shape)
        self.std = torch.tensor(spec.std, device=device).view(shape)
        self.padding, self.hflip = spec.crop_padding, spec.hflip
        self.channels_last = channels_last

    def __call__(self, x: torch.Tensor, train: bool = False, generator: torch.Generator | None = None):
        x = x.float() / 255  # never in place: a float input must stay untouched
        if train and self.padding:
            x = random_crop(x, self.padding, generator)
        if train and self.hflip:
            flip = torch.rand(len(x), generator=generator, device=x.device) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-image random crop of the original size from the zero-padded image (torchvision's RandomCrop)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=x.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def preprocess_all(split: Split, pre: Preprocess, device: torch.device, chunk: int = 4096) -> torch.Tensor:
    """The whole split normalised on ``device`` (for evaluation: data stays resident across chips)."""
    return torch.cat([pre(split.x[i : i + chunk].to(device)) for i in range(0, len(split), chunk)])
