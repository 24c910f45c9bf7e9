"""Small synthetic CIFAR-10, CIFAR-100 and Tiny ImageNet, written in the exact formats of the original files.

The real archives cannot be downloaded on every machine (offline clusters, CI). The ``paper-smoke`` preset runs the
paper's whole grid on these stand-ins instead, and because they are byte-for-byte the same *formats* (the python
pickles inside ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``, the JPEG tree inside
``tiny-imagenet-200.zip``), they travel the workflow's normal data path: checksum in ``neft.core.data.sources``, parsers
in ``neft.core.data.formats``, ``neft.core.data.prepare``. Nothing in that path knows they are synthetic.

Each class has its own deterministic pattern (a colour, plus a grating whose orientation, frequency and channel
mix depend on the class); each image adds seeded integer noise, a shift, a stripe contrast and a colour jitter, so a
model has something to learn and images of a class differ. The archives are byte-deterministic for the same
arguments and library versions (zlib, libjpeg): fixed tar/zip metadata, a gzip header without time or name, a seeded
``numpy`` Generator, and integer pixel arithmetic (a sine table from ``math.sin``, no vectorised transcendental
functions whose last bit may depend on the CPU). Pickles name ``numpy.core.multiarray`` as the originals do, so the
bytes do not depend on the numpy major version either.
"""

from __future__ import annotations

import colorsys
import gzip
import io
import math
import pickle
import struct
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from neft.core.data.sources import md5sum
from neft.util.io import atomic_path

DATASETS = ("cifar10", "cifar100", "tiny_imagenet")
FILE_NAMES = {
    "cifar10": "cifar-10-python.tar.gz",
    "cifar100": "cifar-100-python.tar.gz",
    "tiny_imagenet": "tiny-imagenet-200.zip",
}
#: Defaults of the paper-smoke preset (images per class).
DEFAULT_SIZES = {
    "cifar10": {"train_per_class": 50, "test_per_class": 20},
    "cifar100": {"train_per_class": 5, "test_per_class": 2},
    "tiny_imagenet": {"train_per_class": 3, "val_per_class": 1, "test_images": 10},
}

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR100_FINE_NAMES = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can "
    "castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin "
    "elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster "
    "man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck "
    "pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk "
    "skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger "
    "tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm"
).split()
CIFAR100_COARSE_NAMES = (
    "aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices "
    "household_furniture insects large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes "
    "large_omnivores_and_herbivores medium_mammals non-insect_invertebrates people reptiles small_mammals trees "
    "vehicles_1 vehicles_2"
).split()
#: Superclass of each fine class, as in the real archive (five fine classes per superclass).
CIFAR100_FINE_TO_COARSE = [
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
    0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19, 5, 5, 8, 19,
    18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
]  # fmt: skip

_TAR_MTIME = 1_230_768_000  # 2009-01-01 00:00 UTC, about when the CIFAR archives were made
_ZIP_DATE = (2009, 1, 1, 0, 0, 0)
_JPEG_QUALITY = 90
#: the page inside each archive; it names the module as it was called when the archives were first written
#: (neft.data.synthetic, now neft.core.data.synthetic), so the archives, and the MD5s the paper-smoke preset records
#: for them, stay byte-identical
_README = (
    "<html><body><p>Synthetic stand-in for {title}, written by neft.data.synthetic in the format of the original "
    "archive (https://www.cs.toronto.edu/~kriz/cifar.html). The images are generated patterns, not photographs.</p>"
    "</body></html>\n"
)

# -- images -------------------------------------------------------------------------------------------------------
_SINE = np.array([round(127 * math.sin(2 * math.pi * i / 256)) for i in range(256)], dtype=np.int32)
_CYCLES = (1.5, 2.5, 3.5, 5.0, 7.0)  # grating periods across the image
_ORIENTATIONS = 8
_MASKS = ((1, 1, 1), (1, -1, 0), (0, 1, -1), (-1, 0, 1), (1, 1, -1))  # which channels the stripes brighten/darken
_GOLDEN = 0.6180339887498949


def _class_styles(num_classes: int) -> dict[str, np.ndarray]:
    """Per-class pattern parameters; classes differ in colour (a golden-ratio hue walk) and in the combination of
    grating orientation, frequency and channel mix (8 x 5 x 5 = 200 combinations)."""
    colour, direction, cycles, mask, phase = [], [], [], [], []
    for c in range(num_classes):
        hue = (c * _GOLDEN) % 1.0
        sat = (0.45, 0.75)[(c // 3) % 2]
        val = (0.55, 0.85)[(c // 2) % 2]
        colour.append([round(40 + 175 * v) for v in colorsys.hsv_to_rgb(hue, sat, val)])
        theta = math.pi * (c % _ORIENTATIONS) / _ORIENTATIONS
        direction.append([math.cos(theta), math.sin(theta)])
        cycles.append(_CYCLES[(c // _ORIENTATIONS) % len(_CYCLES)])
        mask.append(_MASKS[(c // (_ORIENTATIONS * len(_CYCLES))) % len(_MASKS)])
        phase.append((c * 37) % 256)
    return {
        "colour": np.array(colour, np.int32),
        "direction": np.array(direction, np.float64),
        "cycles": np.array(cycles, np.float64),
        "mask": np.array(mask, np.int32),
        "phase": np.array(phase, np.int64),
    }


def render(labels: np.ndarray, num_classes: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Images (N, size, size, 3) uint8 in HWC order: the class pattern plus per-image shift, contrast, colour jitter
    and pixel noise drawn from ``rng``."""
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    st = _class_styles(num_classes)
    scale = max(1, size // 32)
    shift = rng.integers(-2 * scale, 2 * scale + 1, size=(2, n))
    amp = rng.integers(45, 71, size=n)
    jitter = rng.integers(-16, 17, size=(n, 3))
    noise = rng.integers(-12, 13, size=(n, size, size, 3))
    grid = np.arange(size, dtype=np.float64)
    xx = grid[None, None, :] + shift[0][:, None, None]
    yy = grid[None, :, None] + shift[1][:, None, None]
    d = st["direction"][labels]
    u = xx * d[:, 0, None, None] + yy * d[:, 1, None, None]  # position along the grating's direction, in pixels
    idx = (np.floor(u * (st["cycles"][labels] * 256 / size)[:, None, None]).astype(np.int64)
           + st["phase"][labels][:, None, None]) & 255  # fmt: skip
    wave = _SINE[idx] * amp[:, None, None] // 127  # (N, H, W), integer stripes of amplitude amp
    img = (
        (st["colour"][labels] + jitter)[:, None, None, :]
        + st["mask"][labels][:, None, None, :] * wave[..., None]
        + noise
    )
    return np.clip(img, 0, 255).astype(np.uint8)


def balanced_labels(num_classes: int, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` labels of every class, in a seeded random order (the real archives are shuffled)."""
    if per_class < 1:
        raise ValueError(f"need at least one image per class, got {per_class}")
    return rng.permutation(np.repeat(np.arange(num_classes), per_class))


def cifar_rows(images_hwc: np.ndarray) -> np.ndarray:
    """CIFAR rows (N, 3072): 1024 red, 1024 green, then 1024 blue values, each plane row-major."""
    return np.ascontiguousarray(images_hwc.transpose(0, 3, 1, 2).reshape(len(images_hwc), -1))


# -- containers ---------------------------------------------------------------------------------------------------
class _Py2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2's cPickle wrote the originals: bytes as py2 ``str`` opcodes (``BINSTRING``), not
    Python 3's ``_codecs.encode`` of a latin-1 text, which would also double the size of every byte above 127."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def cifar_pickle(obj) -> bytes:
    """A CIFAR pickle; numpy 2 names its module ``numpy._core``, the originals (and numpy 1) ``numpy.core``, which
    both numpy versions load."""
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def _tar_gz(path: Path, folder: str, members: dict[str, bytes]) -> None:
    """A gzip-compressed tar with one folder and its files, with fixed metadata."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:

        def info(name: str, mode: int, kind: bytes = tarfile.REGTYPE, size: int = 0) -> tarfile.TarInfo:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.size, ti.mtime = kind, mode, size, _TAR_MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            return ti

        tar.addfile(info(folder, 0o755, tarfile.DIRTYPE))
        for name, data in members.items():
            tar.addfile(info(f"{folder}/{name}", 0o644, size=len(data)), io.BytesIO(data))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz:
            gz.write(buf.getvalue())


def _zip(path: Path, members: dict[str, bytes]) -> None:
    """A zip with the members and every parent folder, sorted, with fixed dates and modes; JPEGs stored as is."""
    dirs = {p.rsplit("/", k)[0] + "/" for p in members for k in range(1, p.count("/") + 1)}
    entries = {**{d: b"" for d in dirs}, **members}
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(entries):
            zi = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            zi.create_system = 3
            if name.endswith("/"):
                zi.external_attr = (0o40755 << 16) | 0x10
                zi.compress_type = zipfile.ZIP_STORED
            else:
                zi.external_attr = 0o644 << 16
                zi.compress_type = zipfile.ZIP_STORED if name.endswith(".JPEG") else zipfile.ZIP_DEFLATED
            zf.writestr(zi, entries[name])


def _jpeg(image_hwc: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image_hwc, mode="RGB").save(buf, format="JPEG", quality=_JPEG_QUALITY)
    return buf.getvalue()


# -- writers ------------------------------------------------------------------------------------------------------
def _rng(seed: int, dataset: str) -> np.random.Generator:
    return np.random.default_rng([seed, DATASETS.index(dataset)])


def write_cifar10(folder: str | Path, train_per_class: int = 50, test_per_class: int = 20, seed: int = 0) -> Path:
    """``cifar-10-python.tar.gz`` in ``folder``: ``data_batch_1..5`` (the training images spread over five
    batches), ``test_batch``, ``batches.meta`` and ``readme.html`` under ``cifar-10-batches-py/``."""
    rng = _rng(seed, "cifar10")
    path = Path(folder) / FILE_NAMES["cifar10"]
    splits = {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = balanced_labels(10, per_class, rng)
        splits[split] = (labels, cifar_rows(render(labels, 10, 32, rng)))
    members: dict[str, bytes] = {}
    counter = 0

    def batch(labels: np.ndarray, rows: np.ndarray, title: str) -> bytes:
        nonlocal counter
        names = []
        for y in labels.tolist():
            counter += 1
            names.append(f"{CIFAR10_NAMES[y]}_s_{counter:06d}.png".encode())
        d = {b"batch_label": title.encode(), b"labels": labels.tolist(), b"data": rows, b"filenames": names}
        return cifar_pickle(d)

    labels, rows = splits["train"]
    parts = np.array_split(np.arange(len(labels)), 5)
    for k, part in enumerate(parts, start=1):
        members[f"data_batch_{k}"] = batch(labels[part], rows[part], f"training batch {k} of 5")
    meta = {
        b"num_cases_per_batch": len(parts[0]),
        b"label_names": [n.encode() for n in CIFAR10_NAMES],
        b"num_vis": 3072,
    }
    members["batches.meta"] = cifar_pickle(meta)
    members["test_batch"] = batch(*splits["test"], "testing batch 1 of 1")
    members["readme.html"] = _README.format(title="CIFAR-10").encode()
    _tar_gz(path, "cifar-10-batches-py", members)
    return path


def write_cifar100(folder: str | Path, train_per_class: int = 5, test_per_class: int = 2, seed: int = 0) -> Path:
    """``cifar-100-python.tar.gz`` in ``folder``: ``train``, ``test`` and ``meta`` under ``cifar-100-python/``, with
    the real fine and coarse class names and the real fine-to-coarse mapping."""
    rng = _rng(seed, "cifar100")
    path = Path(folder) / FILE_NAMES["cifar100"]
    members: dict[str, bytes] = {}
    counter = 0
    for split, per_class, title in (("train", train_per_class, "training"), ("test", test_per_class, "testing")):
        labels = balanced_labels(100, per_class, rng)
        rows = cifar_rows(render(labels, 100, 32, rng))
        names = []
        for y in labels.tolist():
            counter += 1
            names.append(f"{CIFAR100_FINE_NAMES[y]}_s_{counter:06d}.png".encode())
        members[split] = cifar_pickle(
            {
                b"filenames": names,
                b"batch_label": f"{title} batch 1 of 1".encode(),
                b"fine_labels": labels.tolist(),
                b"coarse_labels": [CIFAR100_FINE_TO_COARSE[y] for y in labels.tolist()],
                b"data": rows,
            }
        )
    members["meta"] = cifar_pickle(
        {
            b"fine_label_names": [n.encode() for n in CIFAR100_FINE_NAMES],
            b"coarse_label_names": [n.encode() for n in CIFAR100_COARSE_NAMES],
        }
    )
    _tar_gz(path, "cifar-100-python", members)
    return path


def tiny_imagenet_wnids(num_classes: int = 200) -> list[str]:
    """Synthetic WordNet ids in the real ``n%08d`` shape (not real synsets)."""
    return [f"n{i:08d}" for i in range(num_classes)]


def write_tiny_imagenet(
    folder: str | Path, train_per_class: int = 3, val_per_class: int = 1, test_images: int = 10, seed: int = 0
) -> Path:
    """``tiny-imagenet-200.zip`` in ``folder``: ``wnids.txt``, ``words.txt``, ``train/<wnid>/images/*.JPEG`` with
    ``<wnid>_boxes.txt``, ``val/images`` with ``val_annotations.txt``, and unlabelled ``test/images``."""
    rng = _rng(seed, "tiny_imagenet")
    path = Path(folder) / FILE_NAMES["tiny_imagenet"]
    root = "tiny-imagenet-200"
    wnids = tiny_imagenet_wnids()
    box = "0\t0\t63\t63"  # the whole image
    members: dict[str, bytes] = {
        f"{root}/wnids.txt": "".join(f"{w}\n" for w in wnids).encode(),
        f"{root}/words.txt": "".join(f"{w}\tsynthetic class {i:03d}\n" for i, w in enumerate(wnids)).encode(),
    }
    if train_per_class < 1:
        raise ValueError(f"need at least one image per class, got {train_per_class}")
    labels = np.repeat(np.arange(200), train_per_class)
    images = render(labels, 200, 64, rng)
    for c, w in enumerate(wnids):
        boxes = []
        for i in range(train_per_class):
            name = f"{w}_{i}.JPEG"
            members[f"{root}/train/{w}/images/{name}"] = _jpeg(images[c * train_per_class + i])
            boxes.append(f"{name}\t{box}\n")
        members[f"{root}/train/{w}/{w}_boxes.txt"] = "".join(boxes).encode()
    labels = balanced_labels(200, val_per_class, rng)
    annotations = []
    for i, (y, im) in enumerate(zip(labels.tolist(), render(labels, 200, 64, rng))):
        members[f"{root}/val/images/val_{i}.JPEG"] = _jpeg(im)
        annotations.append(f"val_{i}.JPEG\t{wnids[y]}\t{box}\n")
    members[f"{root}/val/val_annotations.txt"] = "".join(annotations).encode()
    hidden = rng.integers(0, 200, size=test_images)
    for i, im in enumerate(render(hidden, 200, 64, rng)):
        members[f"{root}/test/images/test_{i}.JPEG"] = _jpeg(im)
    _zip(path, members)
    return path


WRITERS = {"cifar10": write_cifar10, "cifar100": write_cifar100, "tiny_imagenet": write_tiny_imagenet}


def write_all(
    folder: str | Path,
    seed: int = 0,
    sizes: dict[str, dict] | None = None,
    datasets: Iterable[str] = DATASETS,
) -> dict[str, dict]:
    """Write the archives into ``folder``; ``sizes`` overrides :data:`DEFAULT_SIZES` per dataset. Returns, per
    dataset, ``{'path': folder, 'file': name, 'md5': md5, 'num_train': n, 'num_test': n}``."""
    folder = Path(folder)
    out = {}
    for name in datasets:
        if name not in WRITERS:
            raise ValueError(f"unknown synthetic dataset {name!r}; allowed: {', '.join(DATASETS)}")
        kw = {**DEFAULT_SIZES[name], **(sizes or {}).get(name, {})}
        path = WRITERS[name](folder, seed=seed, **kw)
        per_class_test = kw.get("test_per_class", kw.get("val_per_class"))
        n_classes = {"cifar10": 10, "cifar100": 100, "tiny_imagenet": 200}[name]
        out[name] = {
            "path": folder,
            "file": path.name,
            "md5": md5sum(path),
            "num_train": n_classes * kw["train_per_class"],
            "num_test": n_classes * per_class_test,
        }
    return out


def config_fragment(result: dict[str, dict], val_fraction: float | None = 0.1) -> dict:
    """The ``datasets:`` config entries that point the workflow at the written archives (merged over the built-in
    registry). With ``val_fraction`` (and a known ``num_train``) each entry also sets ``val_size`` to that share of
    the training images: the registry's 5000/10000 exceed these small training sets."""
    datasets = {}
    for name, r in result.items():
        entry: dict = {"path": str(r["path"]), "files": {"archive": {"name": r["file"], "md5": r["md5"]}}}
        for split in ("train", "test"):
            if r.get(f"num_{split}"):
                entry[f"{split}_size"] = r[f"num_{split}"]
        if val_fraction is not None and r.get("num_train"):
            entry["val_size"] = max(1, int(r["num_train"] * val_fraction)) if r["num_train"] > 1 else 0
        datasets[name] = entry
    return {"datasets": datasets}
