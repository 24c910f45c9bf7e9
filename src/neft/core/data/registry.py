"""Dataset specifications: the built-in registry (``datasets.yaml``) merged with the ``datasets:`` config key."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

#: Parsers by format name; a new format is a new parser in ``neft.core.data.formats``.
FORMATS = ("idx", "cifar_python", "tiny_imagenet")

_FILE_ROLES = {
    "idx": ("train_images", "train_labels", "test_images", "test_labels"),
    "cifar_python": ("archive",),
    "tiny_imagenet": ("archive",),
}


class DatasetError(RuntimeError):
    """A dataset is unknown, misconfigured, missing, or fails its checksum."""


@dataclass(frozen=True)
class FileSpec:
    name: str
    md5: str


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    format: str
    num_classes: int
    channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    files: dict[str, FileSpec]
    crop_padding: int = 0
    hflip: bool = False
    val_size: int = 5000
    mirrors: tuple[str, ...] = ()
    packaged: dict | None = None
    path: str | None = None
    layout: dict = field(default_factory=dict)
    #: sizes of the original splits, when declared: the config check compares subsets with them at parse time and
    #: preparing the files verifies them
    train_size: int | None = None
    test_size: int | None = None

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> DatasetSpec:
        def need(key: str):
            if key not in d:
                raise DatasetError(f"dataset {name!r}: missing key datasets.{name}.{key}")
            return d[key]

        fmt = need("format")
        if fmt not in FORMATS:
            raise DatasetError(f"dataset {name!r}: datasets.{name}.format is {fmt!r}; allowed: {', '.join(FORMATS)}")
        files = need("files")
        roles = _FILE_ROLES[fmt]
        missing = [r for r in roles if r not in files]
        if missing:
            raise DatasetError(f"dataset {name!r}: datasets.{name}.files lacks {', '.join(missing)} (format {fmt})")
        channels = int(need("channels"))
        mean, std = tuple(map(float, need("mean"))), tuple(map(float, need("std")))
        if len(mean) != channels or len(std) != channels:
            raise DatasetError(f"dataset {name!r}: mean and std need {channels} values (one per channel)")
        augment = d.get("augment") or {}
        return cls(
            name=name,
            format=fmt,
            num_classes=int(need("num_classes")),
            channels=channels,
            image_size=int(need("image_size")),
            mean=mean,
            std=std,
            files={r: FileSpec(str(files[r]["name"]), str(files[r]["md5"]).lower()) for r in roles},
            crop_padding=int(augment.get("crop_padding", 0)),
            hflip=bool(augment.get("hflip", False)),
            val_size=int(d.get("val_size", 5000)),
            mirrors=tuple(d.get("mirrors") or ()),
            packaged=d.get("packaged"),
            path=d.get("path"),
            layout=dict(d.get("layout") or {}),
            train_size=None if d.get("train_size") is None else int(d["train_size"]),
            test_size=None if d.get("test_size") is None else int(d["test_size"]),
        )


def builtin_registry() -> dict[str, dict]:
    text = resources.files("neft.core.data").joinpath("datasets.yaml").read_text()
    return yaml.safe_load(text)


def merged_registry(overrides: dict | None = None) -> dict[str, dict]:
    """Built-in entries with config overrides merged key by key (nested mappings merged, others replaced)."""
    reg = copy.deepcopy(builtin_registry())
    for name, entry in (overrides or {}).items():
        reg[name] = _merge(reg.get(name, {}), entry or {})
    return reg


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def get_spec(name: str, overrides: dict | None = None) -> DatasetSpec:
    reg = merged_registry(overrides)
    if name not in reg:
        raise DatasetError(f"unknown dataset {name!r}; allowed: {', '.join(sorted(reg))}")
    return DatasetSpec.from_dict(name, reg[name])
