"""Parsers for the original dataset files. Each returns uint8 images (N, C, H, W) and int64 labels.

Written here because torchvision cannot be installed beside the CPU torch wheel this project pins.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neft.core.data.registry import DatasetError


@dataclass
class RawDataset:
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]


# -- idx (MNIST family) -------------------------------------------------------------------------------------------
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one idx file (optionally gzip-compressed) as defined on Yann LeCun's MNIST page."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as err:
        raise DatasetError(f"{path}: cannot read idx file ({err})") from err
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path}: not an idx file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DatasetError(f"{path}: idx file truncated or padded ({len(data)} bytes, header says {expected})")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def parse_idx(files: dict[str, Path], layout: dict) -> RawDataset:
    def images(role: str) -> torch.Tensor:
        arr = read_idx(files[role])
        if arr.ndim == 3:
            arr = arr[:, None]
        return torch.from_numpy(arr.astype(np.uint8, copy=True))

    def labels(role: str) -> torch.Tensor:
        return torch.from_numpy(read_idx(files[role]).astype(np.int64))

    raw = RawDataset(images("train_images"), labels("train_labels"), images("test_images"), labels("test_labels"), [])
    for split in ("train", "test"):
        x, y = getattr(raw, f"{split}_x"), getattr(raw, f"{split}_y")
        if len(x) != len(y):
            raise DatasetError(f"{split}: {len(x)} images but {len(y)} labels")
    raw.classes = [str(i) for i in range(int(raw.train_y.max()) + 1)]
    return raw


# -- CIFAR python pickles -----------------------------------------------------------------------------------------
class _SafeUnpickler(pickle.Unpickler):
    """Allows only what CIFAR batches contain (dicts, lists, bytes, numpy arrays): a tampered archive whose
    checksum was also replaced still cannot run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset pickle")


def _load_pickle(data: bytes, member: str) -> dict:
    try:
        obj = _SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as err:  # noqa: BLE001
        raise DatasetError(f"{member}: not a CIFAR batch ({type(err).__name__}: {err})") from err
    if not isinstance(obj, dict):
        raise DatasetError(f"{member}: not a CIFAR batch (a pickled {type(obj).__name__}, expected a dict)")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


#: What reading a damaged archive member raises (a truncated stream, a bad CRC, a broken deflate/gzip block).
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError)


def _text_member(data: bytes, archive, member: str) -> str:
    """A text member of an archive (Tiny ImageNet's wnids.txt, val_annotations.txt) as UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DatasetError(
            f"{archive}: member {member} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "expected one entry a line"
        ) from None


def parse_cifar(files: dict[str, Path], layout: dict) -> RawDataset:
    archive = files["archive"]
    folder = layout.get("folder", "")
    label_key = layout.get("label_key", "labels")
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as err:
        raise DatasetError(f"{archive}: not a readable tar archive ({err})") from err
    with tar:

        def member(name: str) -> dict:
            path = f"{folder}/{name}" if folder else name
            try:
                fh = tar.extractfile(path)
            except KeyError:
                fh = None
            except _ARCHIVE_ERRORS as err:
                raise DatasetError(f"{archive}: cannot read the archive (truncated or corrupt: {err})") from err
            if fh is None:
                raise DatasetError(f"{archive}: member {path} missing")
            try:
                data = fh.read()
            except _ARCHIVE_ERRORS as err:
                raise DatasetError(f"{archive}: member {path} cannot be read (truncated or corrupt: {err})") from err
            return _load_pickle(data, f"{archive}: {path}")

        def split(names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
            xs, ys = [], []
            for n in names:
                batch = member(n)
                if "data" not in batch or label_key not in batch:
                    raise DatasetError(f"{archive}: {n} lacks 'data' or {label_key!r}")
                data = np.asarray(batch["data"], dtype=np.uint8)
                labels = np.asarray(batch[label_key], dtype=np.int64).reshape(-1)
                if data.size % 3072 or data.size // 3072 != len(labels):
                    raise DatasetError(
                        f"{archive}: {n} holds {data.size} bytes of image data (need 3072 per image) "
                        f"for {len(labels)} labels"
                    )
                xs.append(data.reshape(-1, 3, 32, 32))
                ys.append(labels)
            return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))

        train_x, train_y = split(layout.get("train", []))
        test_x, test_y = split(layout.get("test", []))
        classes: list[str] = []
        if layout.get("names_file"):
            meta_member = f"{folder}/{layout['names_file']}" if folder else layout["names_file"]
            meta = member(layout["names_file"])
            names_key = layout.get("names_key", "label_names")
            names = meta.get(names_key, [])
            if not isinstance(names, (list, tuple)):
                raise DatasetError(
                    f"{archive}: {meta_member}: {names_key} must be a list of class names, got {type(names).__name__}"
                )
            try:
                classes = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
            except UnicodeDecodeError as err:
                raise DatasetError(
                    f"{archive}: {meta_member}: a class name in {names_key} is not UTF-8 text ({err.reason})"
                ) from None
    return RawDataset(train_x, train_y, test_x, test_y, classes)


# -- Tiny ImageNet zip --------------------------------------------------------------------------------------------
def _decode(data: bytes, name: str) -> np.ndarray:
    """One image file as uint8 (C, H, W); ``name`` (archive and member) goes into the error."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)
    except Exception as err:  # noqa: BLE001
        raise DatasetError(f"{name}: cannot decode image ({err})") from err


def parse_tiny_imagenet(files: dict[str, Path], layout: dict) -> RawDataset:
    """Train images from ``train/<wnid>/images``; the labelled ``val`` split (our test split) is re-arranged by
    class from ``val/val_annotations.txt``, the same re-arrangement users usually do by moving files."""
    archive = files["archive"]
    root = layout.get("folder", "tiny-imagenet-200")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise DatasetError(f"{archive}: not a readable zip archive ({err})") from err
    with zf:
        names = set(zf.namelist())

        def read(path: str) -> bytes:
            if path not in names:
                raise DatasetError(f"{archive}: member {path} missing")
            try:
                return zf.read(path)
            except _ARCHIVE_ERRORS as err:
                raise DatasetError(f"{archive}: member {path} cannot be read (truncated or corrupt: {err})") from err

        wnids_member = f"{root}/wnids.txt"
        wnids = _text_member(read(wnids_member), archive, wnids_member).split()
        if not wnids:
            raise DatasetError(f"{archive}: {wnids_member} is empty; expected one class id (wnid) a line")
        repeated = sorted({w for w in wnids if wnids.count(w) > 1}) if len(set(wnids)) != len(wnids) else []
        if repeated:
            raise DatasetError(f"{archive}: {wnids_member} lists class id(s) {', '.join(repeated[:5])} more than once")
        index = {w: i for i, w in enumerate(wnids)}
        train_x, train_y = [], []
        prefix = f"{root}/train/"
        for path in sorted(n for n in names if n.startswith(prefix) and n.lower().endswith(".jpeg")):
            wnid = path[len(prefix) :].split("/")[0]
            if wnid not in index:
                raise DatasetError(f"{archive}: {path} belongs to class {wnid} not listed in wnids.txt")
            train_x.append(_decode(read(path), f"{archive}: {path}"))
            train_y.append(index[wnid])
        test_x, test_y = [], []
        annotations_member = f"{root}/val/val_annotations.txt"
        annotations = _text_member(read(annotations_member), archive, annotations_member).splitlines()
        for line in sorted(a for a in annotations if a.strip()):
            fields = line.split("\t")
            if len(fields) < 2:
                raise DatasetError(f"{archive}: malformed line in val_annotations.txt: {line!r}")
            fname, wnid = fields[:2]
            if wnid not in index:
                raise DatasetError(f"{archive}: val image {fname} has unknown class {wnid}")
            test_x.append(_decode(read(f"{root}/val/images/{fname}"), f"{archive}: {root}/val/images/{fname}"))
            test_y.append(index[wnid])
    if not train_x or not test_x:
        raise DatasetError(f"{archive}: no train or val images found under {root}/")
    return RawDataset(
        torch.from_numpy(np.stack(train_x)),
        torch.tensor(train_y, dtype=torch.int64),
        torch.from_numpy(np.stack(test_x)),
        torch.tensor(test_y, dtype=torch.int64),
        wnids,
    )


PARSERS = {"idx": parse_idx, "cifar_python": parse_cifar, "tiny_imagenet": parse_tiny_imagenet}
