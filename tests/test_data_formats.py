"""Parsers of the original dataset files (neft.core.data.formats) on tiny archives built in the real layouts."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from neft.core.data.formats import PARSERS, parse_cifar, parse_idx, parse_tiny_imagenet, read_idx
from neft.core.data.registry import DatasetError, merged_registry
from neft.core.data.synthetic import cifar_pickle

# ---------------------------------------------------------------------------------------------------------------
# idx (MNIST)
# ---------------------------------------------------------------------------------------------------------------
IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension


def idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    """An idx file as on Yann LeCun's MNIST page: magic (0, 0, type, ndim), big-endian uint32 dims, big-endian data."""
    be = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[type_code]
    magic = (type_code << 8) | arr.ndim
    return struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(be).tobytes()


def write_idx(path: Path, arr: np.ndarray, type_code: int = 0x08) -> Path:
    data = idx_bytes(arr, type_code)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)
    return path


def test_idx_helper_writes_mnist_magic_numbers():
    imgs = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    labs = idx_bytes(np.zeros(2, np.uint8))
    assert struct.unpack(">IIII", imgs[:16]) == (IMAGES_MAGIC, 2, 28, 28)
    assert struct.unpack(">II", labs[:8]) == (LABELS_MAGIC, 2)
    assert len(imgs) == 16 + 2 * 28 * 28 and len(labs) == 8 + 2


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_images(tmp_path, suffix):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(3, 5, 7), dtype=np.uint8)  # non-square: rows and columns must not swap
    path = write_idx(tmp_path / f"imgs-idx3-ubyte{suffix}", arr)
    got = read_idx(path)
    assert got.shape == (3, 5, 7)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, arr)
    assert read_idx(str(path)).shape == (3, 5, 7)  # str paths accepted too


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_labels(tmp_path, suffix):
    arr = np.array([5, 0, 4, 1, 9, 2], np.uint8)
    got = read_idx(write_idx(tmp_path / f"labels-idx1-ubyte{suffix}", arr))
    assert got.shape == (6,) and got.dtype == np.uint8
    assert got.tolist() == [5, 0, 4, 1, 9, 2]


def test_read_idx_multibyte_types_are_big_endian(tmp_path):
    ints = np.array([[1, 256], [-2, 70000]], np.int32)
    got = read_idx(write_idx(tmp_path / "ints-idx2", ints, 0x0C))
    assert got.tolist() == [[1, 256], [-2, 70000]]
    floats = np.array([0.5, -3.25, 1e6], np.float32)
    got = read_idx(write_idx(tmp_path / "floats-idx1.gz", floats, 0x0D))
    assert got.tolist() == [0.5, -3.25, 1e6]


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_truncated_names_file(tmp_path, suffix):
    data = idx_bytes(np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4))[:-5]
    path = tmp_path / f"short-idx3-ubyte{suffix}"
    path.write_bytes(gzip.compress(data) if suffix else data)
    with pytest.raises(DatasetError, match="truncated") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_read_idx_truncated_gzip_stream_names_file(tmp_path):
    blob = gzip.compress(idx_bytes(np.arange(600, dtype=np.uint8).reshape(6, 10, 10)))
    path = tmp_path / "cut-idx3-ubyte.gz"
    path.write_bytes(blob[: len(blob) // 2])  # an interrupted download
    with pytest.raises(DatasetError) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_read_idx_truncated_header(tmp_path):
    path = tmp_path / "hdr-idx3-ubyte"
    path.write_bytes(struct.pack(">II", IMAGES_MAGIC, 10))  # dims 2 and 3 missing
    with pytest.raises(DatasetError, match="truncated") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_read_idx_padded_file(tmp_path):
    path = tmp_path / "long-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(4, dtype=np.uint8)) + b"\x00")
    with pytest.raises(DatasetError, match="padded"):
        read_idx(path)


@pytest.mark.parametrize(
    "header",
    [
        struct.pack(">I", 0x01000803),  # first magic byte not zero
        struct.pack(">I", 0x00010803),  # second magic byte not zero
        struct.pack(">I", 0x00000703),  # unknown data type code
        b"\x00\x00",  # shorter than a magic number
        b"",
    ],
)
def test_read_idx_bad_magic(tmp_path, header):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(header + (struct.pack(">III", 1, 2, 2) + bytes(4) if len(header) == 4 else b""))
    with pytest.raises(DatasetError, match="magic") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_read_idx_missing_file(tmp_path):
    path = tmp_path / "absent-idx1-ubyte.gz"
    with pytest.raises(DatasetError) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def _idx_files(tmp_path: Path, train_x, train_y, test_x, test_y) -> dict[str, Path]:
    return {
        "train_images": write_idx(tmp_path / "train-images-idx3-ubyte.gz", train_x),
        "train_labels": write_idx(tmp_path / "train-labels-idx1-ubyte.gz", train_y),
        "test_images": write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", test_x),
        "test_labels": write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", test_y),
    }


def test_parse_idx(tmp_path):
    rng = np.random.default_rng(1)
    train_x = rng.integers(0, 256, (6, 4, 5), dtype=np.uint8)
    test_x = rng.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    train_y = np.array([0, 3, 1, 2, 3, 0], np.uint8)
    test_y = np.array([2, 1, 0], np.uint8)
    raw = parse_idx(_idx_files(tmp_path, train_x, train_y, test_x, test_y), {})
    assert PARSERS["idx"] is parse_idx
    assert raw.train_x.shape == (6, 1, 4, 5) and raw.test_x.shape == (3, 1, 4, 5)
    assert raw.train_x.dtype == torch.uint8 and raw.train_y.dtype == torch.int64
    np.testing.assert_array_equal(raw.train_x[:, 0].numpy(), train_x)
    np.testing.assert_array_equal(raw.test_x[:, 0].numpy(), test_x)
    assert raw.train_y.tolist() == [0, 3, 1, 2, 3, 0]
    assert raw.test_y.tolist() == [2, 1, 0]
    assert raw.classes == ["0", "1", "2", "3"]
    raw.train_x[0, 0, 0, 0] = 7  # a writable tensor that owns its memory (not a read-only frombuffer view)


def test_parse_idx_image_label_count_mismatch(tmp_path):
    x = np.zeros((4, 2, 2), np.uint8)
    files = _idx_files(tmp_path, x, np.zeros(3, np.uint8), x, np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match="4 images but 3 labels"):
        parse_idx(files, {})


# ---------------------------------------------------------------------------------------------------------------
# CIFAR python pickles
# ---------------------------------------------------------------------------------------------------------------
#: the real archives' pickles: Python 2 ``str`` opcodes for bytes, numpy.core as the module (one writer for both)
py2_dumps = cifar_pickle


DUMPERS = {
    "protocol2": lambda obj: pickle.dumps(obj, protocol=2),
    "protocol4": lambda obj: pickle.dumps(obj, protocol=4),
    "python2": py2_dumps,
}


def cifar_row(img_hwc: np.ndarray) -> np.ndarray:
    """One CIFAR row: 1024 red, then 1024 green, then 1024 blue values, each plane row-major (the dataset page)."""
    return np.concatenate([img_hwc[:, :, 0].ravel(), img_hwc[:, :, 1].ravel(), img_hwc[:, :, 2].ravel()])


def make_images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)  # HWC, as photos


def build_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def cifar10_archive(tmp_path: Path, dumps=DUMPERS["protocol2"], skip=(), override=None):
    """A CIFAR-10 tarball in the real layout; returns (path, layout, expected images NCHW, labels, class names)."""
    layout = merged_registry()["cifar10"]["layout"]
    folder = layout["folder"]
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    members, exp = {}, {"train_x": [], "train_y": [], "test_x": [], "test_y": []}
    for k, batch in enumerate(layout["train"] + layout["test"]):
        split = "train" if batch in layout["train"] else "test"
        imgs = make_images(2 + k % 2, seed=k)
        labels = [(3 * k + j) % 10 for j in range(len(imgs))]
        d = {
            b"batch_label": f"batch {k}".encode(),
            b"labels": labels,
            b"data": np.stack([cifar_row(im) for im in imgs]),
            b"filenames": [f"img_{k}_{j}.png".encode() for j in range(len(imgs))],
        }
        members[f"{folder}/{batch}"] = dumps(d)
        exp[f"{split}_x"].append(imgs.transpose(0, 3, 1, 2))
        exp[f"{split}_y"] += labels
    meta = {b"num_cases_per_batch": 10000, b"label_names": names, b"num_vis": 3072}
    members[f"{folder}/{layout['names_file']}"] = dumps(meta)
    members.update(override or {})
    for name in skip:
        del members[f"{folder}/{name}"]
    path = build_tar(tmp_path / "cifar-10-python.tar.gz", members)
    exp["train_x"], exp["test_x"] = np.concatenate(exp["train_x"]), np.concatenate(exp["test_x"])
    return path, layout, exp, [n.decode() for n in names]


def test_builtin_cifar_layouts_are_the_real_ones():
    reg = merged_registry()
    c10, c100 = reg["cifar10"]["layout"], reg["cifar100"]["layout"]
    assert c10["folder"] == "cifar-10-batches-py"
    assert c10["train"] == [f"data_batch_{i}" for i in range(1, 6)] and c10["test"] == ["test_batch"]
    assert (c10["label_key"], c10["names_file"], c10["names_key"]) == ("labels", "batches.meta", "label_names")
    assert c100["folder"] == "cifar-100-python" and c100["train"] == ["train"] and c100["test"] == ["test"]
    assert (c100["label_key"], c100["names_file"], c100["names_key"]) == ("fine_labels", "meta", "fine_label_names")


@pytest.mark.parametrize("dumper", sorted(DUMPERS))
def test_parse_cifar10(tmp_path, dumper):
    path, layout, exp, names = cifar10_archive(tmp_path, DUMPERS[dumper])
    raw = parse_cifar({"archive": path}, layout)
    assert PARSERS["cifar_python"] is parse_cifar
    assert raw.train_x.shape == (len(exp["train_y"]), 3, 32, 32) and raw.train_x.dtype == torch.uint8
    assert raw.test_x.shape == (len(exp["test_y"]), 3, 32, 32)
    assert raw.train_y.dtype == torch.int64
    np.testing.assert_array_equal(raw.train_x.numpy(), exp["train_x"])  # batches in data_batch_1..5 order
    np.testing.assert_array_equal(raw.test_x.numpy(), exp["test_x"])
    assert raw.train_y.tolist() == exp["train_y"]
    assert raw.test_y.tolist() == exp["test_y"]
    assert raw.classes == names


def test_parse_cifar_channel_order(tmp_path):
    """A pure red, a pure green and a pure blue image: the R plane comes first, then G, then B."""
    layout = {"folder": "f", "train": ["b"], "test": ["b"], "label_key": "labels"}
    imgs = np.zeros((3, 32, 32, 3), np.uint8)
    for c in range(3):
        imgs[c, :, :, c] = 200
    imgs[0, 0, 1, 0] = 17  # top row, second column of the red image
    data = np.stack([cifar_row(im) for im in imgs])
    path = build_tar(tmp_path / "a.tar.gz", {"f/b": pickle.dumps({b"data": data, b"labels": [0, 1, 2]})})
    raw = parse_cifar({"archive": path}, layout)
    for c in range(3):
        assert raw.train_x[c, c].float().mean() > 199
        assert int(raw.train_x[c].sum()) == int(raw.train_x[c, c].sum())  # the other planes are empty
    assert int(raw.train_x[0, 0, 0, 1]) == 17 and int(raw.train_x[0, 0, 1, 0]) == 200
    assert raw.classes == []  # no names_file in this layout


@pytest.mark.parametrize("dumper", sorted(DUMPERS))
def test_parse_cifar100(tmp_path, dumper):
    dumps = DUMPERS[dumper]
    layout = merged_registry()["cifar100"]["layout"]
    tr, te = make_images(5, 10), make_images(3, 11)
    fine_tr, fine_te = [99, 0, 42, 7, 99], [3, 64, 0]
    members = {
        "cifar-100-python/train": dumps(
            {
                b"filenames": [b"a"] * 5,
                b"fine_labels": fine_tr,
                b"coarse_labels": [1, 2, 3, 4, 5],
                b"data": np.stack([cifar_row(i) for i in tr]),
            }
        ),
        "cifar-100-python/test": dumps(
            {b"fine_labels": fine_te, b"coarse_labels": [9, 9, 9], b"data": np.stack([cifar_row(i) for i in te])}
        ),
        "cifar-100-python/meta": dumps(
            {
                b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
                b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
            }
        ),
    }
    raw = parse_cifar({"archive": build_tar(tmp_path / "cifar-100-python.tar.gz", members)}, layout)
    np.testing.assert_array_equal(raw.train_x.numpy(), tr.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(raw.test_x.numpy(), te.transpose(0, 3, 1, 2))
    assert raw.train_y.tolist() == fine_tr and raw.test_y.tolist() == fine_te  # fine, not coarse labels
    assert raw.classes == [f"fine{i}" for i in range(100)]


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


class _EvalEvil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close() or {{}}",))


@pytest.mark.parametrize("evil_cls", [_Evil, _EvalEvil])
@pytest.mark.parametrize("where", ["data_batch_1", "batches.meta", "nested"])
def test_parse_cifar_refuses_malicious_pickle(tmp_path, evil_cls, where):
    marker = tmp_path / "pwned"
    # control: the payload really does run code when unpickled without restrictions
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(evil_cls(control), protocol=2))
    assert control.exists()

    payload = evil_cls(marker)
    name = "data_batch_1" if where == "nested" else where
    obj = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [payload]} if where == "nested" else payload
    folder = merged_registry()["cifar10"]["layout"]["folder"]
    path, layout, _, _ = cifar10_archive(tmp_path, override={f"{folder}/{name}": pickle.dumps(obj, protocol=2)})
    with pytest.raises(DatasetError) as err:
        parse_cifar({"archive": path}, layout)
    assert name in str(err.value)
    assert not marker.exists(), "the pickle's payload ran"


@pytest.mark.parametrize("missing", ["data_batch_3", "test_batch", "batches.meta"])
def test_parse_cifar_missing_member(tmp_path, missing):
    path, layout, _, _ = cifar10_archive(tmp_path, skip=[missing])
    with pytest.raises(DatasetError, match="missing") as err:
        parse_cifar({"archive": path}, layout)
    assert f"cifar-10-batches-py/{missing}" in str(err.value)
    assert str(path) in str(err.value)


def test_parse_cifar_not_a_tar(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    path.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(DatasetError, match="tar") as err:
        parse_cifar({"archive": path}, merged_registry()["cifar10"]["layout"])
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "batch",
    [
        {b"data": np.zeros((2, 3072), np.uint8)},  # no labels
        {b"labels": [1, 2]},  # no data
    ],
)
def test_parse_cifar_batch_lacks_keys(tmp_path, batch):
    layout = {"folder": "f", "train": ["b"], "test": [], "label_key": "labels"}
    path = build_tar(tmp_path / "a.tar.gz", {"f/b": pickle.dumps(batch)})
    with pytest.raises(DatasetError, match="lacks"):
        parse_cifar({"archive": path}, layout)


@pytest.mark.parametrize(
    "batch",
    [
        {b"data": np.zeros((3, 3072), np.uint8), b"labels": [1, 2]},  # 3 images, 2 labels
        {b"data": np.zeros((2, 3000), np.uint8), b"labels": [1, 2]},  # not 32x32x3 images
    ],
)
def test_parse_cifar_inconsistent_batch(tmp_path, batch):
    layout = {"folder": "f", "train": ["b"], "test": [], "label_key": "labels"}
    path = build_tar(tmp_path / "a.tar.gz", {"f/b": pickle.dumps(batch)})
    with pytest.raises(DatasetError, match="3072 per image") as err:
        parse_cifar({"archive": path}, layout)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("content", [pickle.dumps([1, 2, 3]), b"not a pickle at all"])
def test_parse_cifar_member_not_a_batch(tmp_path, content):
    layout = {"folder": "f", "train": ["b"], "test": [], "label_key": "labels"}
    path = build_tar(tmp_path / "a.tar.gz", {"f/b": content})
    with pytest.raises(DatasetError, match="not a CIFAR batch") as err:
        parse_cifar({"archive": path}, layout)
    assert "f/b" in str(err.value)


# ---------------------------------------------------------------------------------------------------------------
# Tiny ImageNet
# ---------------------------------------------------------------------------------------------------------------
# wnids.txt deliberately not in sorted order: labels follow the file's order
WNIDS = ["n09999999", "n01443537", "n04000000"]
COLOURS = {"n09999999": (220, 30, 30), "n01443537": (30, 200, 40), "n04000000": (40, 50, 210)}
# val images in an order mixing the classes, with two-digit names (sorting is by text)
VAL = {
    "val_0.JPEG": "n04000000",
    "val_1.JPEG": "n09999999",
    "val_2.JPEG": "n01443537",
    "val_3.JPEG": "n04000000",
    "val_10.JPEG": "n09999999",
    "val_4.JPEG": "n04000000",
}


def jpeg(colour, mode: str = "RGB") -> bytes:
    from PIL import Image

    im = Image.new("RGB", (64, 64), colour)
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def tiny_imagenet_zip(tmp_path: Path, n_train: int = 3, skip=(), extra=None, wnids=WNIDS) -> Path:
    root = merged_registry()["tiny_imagenet"]["layout"]["folder"]
    members: dict[str, bytes] = {f"{root}/wnids.txt": ("\n".join(wnids) + "\n").encode()}
    for w in WNIDS:
        boxes = []
        for i in range(n_train):
            members[f"{root}/train/{w}/images/{w}_{i}.JPEG"] = jpeg(COLOURS[w])
            boxes.append(f"{w}_{i}.JPEG\t0\t0\t63\t63")
        members[f"{root}/train/{w}/{w}_boxes.txt"] = ("\n".join(boxes) + "\n").encode()
    for fname, w in VAL.items():
        members[f"{root}/val/images/{fname}"] = jpeg(COLOURS[w])
    members[f"{root}/val/val_annotations.txt"] = "".join(
        f"{fname}\t{w}\t1\t2\t60\t61\n" for fname, w in VAL.items()
    ).encode()
    members[f"{root}/test/images/test_0.JPEG"] = jpeg((255, 255, 0))
    members.update(extra or {})
    for name in skip:
        del members[name]
    path = tmp_path / "tiny-imagenet-200.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for d in ("train/", "val/", "val/images/", "test/images/"):  # directory entries, as in the real zip
            zf.writestr(f"{root}/{d}", b"")
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _colour_class(img: torch.Tensor) -> str:
    mean = img.float().mean(dim=(1, 2)).numpy()
    return min(COLOURS, key=lambda w: float(np.abs(mean - np.array(COLOURS[w])).sum()))


def test_parse_tiny_imagenet(tmp_path):
    path = tiny_imagenet_zip(tmp_path)
    raw = parse_tiny_imagenet({"archive": path}, merged_registry()["tiny_imagenet"]["layout"])
    assert PARSERS["tiny_imagenet"] is parse_tiny_imagenet
    assert raw.classes == WNIDS
    assert raw.train_x.shape == (9, 3, 64, 64) and raw.train_x.dtype == torch.uint8
    assert raw.train_y.dtype == torch.int64 and raw.test_y.dtype == torch.int64
    assert sorted(raw.train_y.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # each image's colour survives JPEG compression approximately and agrees with its label
    for x, y in zip(raw.train_x, raw.train_y, strict=True):
        assert _colour_class(x) == WNIDS[int(y)]
        np.testing.assert_allclose(x.float().mean(dim=(1, 2)).numpy(), COLOURS[WNIDS[int(y)]], atol=6)


def test_parse_tiny_imagenet_val_rearranged_by_class(tmp_path):
    raw = parse_tiny_imagenet({"archive": tiny_imagenet_zip(tmp_path)}, {"folder": "tiny-imagenet-200"})
    assert raw.test_x.shape == (len(VAL), 3, 64, 64)  # test/images (unlabelled) is ignored
    counts = torch.bincount(raw.test_y, minlength=3).tolist()
    expected = [sum(w == WNIDS[k] for w in VAL.values()) for k in range(3)]
    assert counts == expected == [2, 1, 3]
    for x, y in zip(raw.test_x, raw.test_y, strict=True):
        assert _colour_class(x) == WNIDS[int(y)]  # the annotated class, by its index in wnids.txt
    # the yellow image of test/images did not creep in
    yellow = np.array([255, 255, 0])
    assert all(np.abs(x.float().mean(dim=(1, 2)).numpy() - yellow).sum() > 100 for x in raw.test_x)


def test_parse_tiny_imagenet_grayscale_jpeg_becomes_rgb(tmp_path):
    """Some real Tiny ImageNet JPEGs are grayscale: they are decoded to three equal channels."""
    w = WNIDS[1]
    extra = {f"tiny-imagenet-200/train/{w}/images/{w}_gray.JPEG": jpeg((128, 128, 128), mode="L")}
    raw = parse_tiny_imagenet({"archive": tiny_imagenet_zip(tmp_path, n_train=1, extra=extra)}, {})
    assert raw.train_x.shape == (4, 3, 64, 64)
    gray = [x for x in raw.train_x if float((x[0].float() - x[2].float()).abs().max()) == 0]
    assert len(gray) == 1
    assert abs(float(gray[0].float().mean()) - 128) < 4


@pytest.mark.parametrize(
    "missing",
    [
        "tiny-imagenet-200/wnids.txt",
        "tiny-imagenet-200/val/val_annotations.txt",
        "tiny-imagenet-200/val/images/val_3.JPEG",
    ],
)
def test_parse_tiny_imagenet_missing_member(tmp_path, missing):
    path = tiny_imagenet_zip(tmp_path, n_train=1, skip=[missing])
    with pytest.raises(DatasetError, match="missing") as err:
        parse_tiny_imagenet({"archive": path}, {"folder": "tiny-imagenet-200"})
    assert missing in str(err.value) and str(path) in str(err.value)


def test_parse_tiny_imagenet_unknown_classes(tmp_path):
    path = tiny_imagenet_zip(tmp_path, n_train=1, wnids=WNIDS[1:])  # n09999999 no longer listed
    with pytest.raises(DatasetError, match="n09999999"):
        parse_tiny_imagenet({"archive": path}, {"folder": "tiny-imagenet-200"})


def test_parse_tiny_imagenet_corrupt_jpeg_and_bad_zip(tmp_path):
    w = WNIDS[0]
    bad = f"tiny-imagenet-200/train/{w}/images/{w}_bad.JPEG"
    path = tiny_imagenet_zip(tmp_path, n_train=1, extra={bad: b"\xff\xd8 not really a jpeg"})
    with pytest.raises(DatasetError, match="cannot decode") as err:
        parse_tiny_imagenet({"archive": path}, {})
    assert bad in str(err.value)
    path.write_bytes(b"PK not a zip")
    with pytest.raises(DatasetError, match="zip") as err:
        parse_tiny_imagenet({"archive": path}, {})
    assert str(path) in str(err.value)
