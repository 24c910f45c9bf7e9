"""Synthetic stand-ins for CIFAR-10, CIFAR-100 and Tiny ImageNet (neft.core.data.synthetic): read by the real parsers,
byte-deterministic, learnable, and usable end to end through the config fragment the CLI writes."""

from __future__ import annotations

import gzip
import pickle
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from neft.core.data import synthetic
from neft.core.data.formats import PARSERS
from neft.core.data.loader import make_splits
from neft.core.data.prepare import load_prepared, prepare_dataset
from neft.core.data.registry import DatasetError, get_spec, merged_registry
from neft.core.data.sources import md5sum

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / "tools/make_synthetic_datasets.py"
CLASSES = {"cifar10": 10, "cifar100": 100, "tiny_imagenet": 200}
SHAPES = {"cifar10": (3, 32, 32), "cifar100": (3, 32, 32), "tiny_imagenet": (3, 64, 64)}
COUNTS = {"cifar10": (500, 200), "cifar100": (500, 200), "tiny_imagenet": (600, 200)}  # defaults (train, test)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, dict]:
    return synthetic.write_all(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="module")
def parsed(written):
    reg = merged_registry()
    out = {}
    for name, r in written.items():
        parser = PARSERS[reg[name]["format"]]
        out[name] = parser({"archive": r["path"] / r["file"]}, reg[name].get("layout", {}))
    return out


def test_file_names_match_registry(written):
    reg = merged_registry()
    assert set(written) == set(synthetic.DATASETS) == set(CLASSES)
    for name, r in written.items():
        assert r["file"] == reg[name]["files"]["archive"]["name"] == synthetic.FILE_NAMES[name]
        assert r["md5"] == md5sum(r["path"] / r["file"])
        assert (r["num_train"], r["num_test"]) == COUNTS[name]
    assert not list(next(iter(written.values()))["path"].glob("*.tmp"))  # atomic writes leave no temporary files


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_real_parsers_read_every_archive(parsed, name):
    raw, k = parsed[name], CLASSES[name]
    n_train, n_test = COUNTS[name]
    assert raw.train_x.shape == (n_train, *SHAPES[name]) and raw.train_x.dtype == torch.uint8
    assert raw.test_x.shape == (n_test, *SHAPES[name])
    assert raw.train_y.dtype == torch.int64 and len(raw.train_y) == n_train and len(raw.test_y) == n_test
    for y in (raw.train_y, raw.test_y):
        assert int(y.min()) == 0 and int(y.max()) == k - 1
        assert torch.bincount(y, minlength=k).min() >= 1  # every class in both splits
    assert torch.bincount(raw.train_y).unique().numel() == 1  # balanced
    assert len(raw.classes) == k and len(set(raw.classes)) == k
    assert raw.train_x.float().std() > 20  # not blank images


def test_class_names(parsed):
    assert parsed["cifar10"].classes == [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"
    ]  # fmt: skip
    fine = parsed["cifar100"].classes
    assert fine == sorted(fine) and fine[:3] == ["apple", "aquarium_fish", "baby"] and fine[-1] == "worm"
    assert parsed["tiny_imagenet"].classes == [f"n{i:08d}" for i in range(200)]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_nearest_class_mean_learns(parsed, name):
    """A nearest-class-mean classifier on raw pixels, fitted on train, scores far above chance on test."""
    raw, k = parsed[name], CLASSES[name]
    x, xt = raw.train_x.flatten(1).float(), raw.test_x.flatten(1).float()
    means = torch.stack([x[raw.train_y == c].mean(0) for c in range(k)])
    acc = (torch.cdist(xt, means).argmin(1) == raw.test_y).float().mean().item()
    assert acc > 5 / k, f"{name}: nearest-class-mean accuracy {acc:.3f}, chance {1 / k:.3f}"


def test_cifar10_members_and_pickles(written):
    r = written["cifar10"]
    with tarfile.open(r["path"] / r["file"]) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        folder = "cifar-10-batches-py"
        expected = [f"{folder}/data_batch_{i}" for i in range(1, 6)] + [f"{folder}/{n}" for n in ("test_batch",)]
        assert set(names) == {folder, *expected, f"{folder}/batches.meta", f"{folder}/readme.html"}
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(synthetic._TAR_MTIME, 0, 0, "", "")}
        sizes = []
        for n in expected:
            # the CIFAR page's own loader: pickle.load(fo, encoding='bytes')
            d = pickle.loads(tar.extractfile(n).read(), encoding="bytes")
            assert set(d) == {b"batch_label", b"labels", b"data", b"filenames"}
            assert isinstance(d[b"data"], np.ndarray) and d[b"data"].dtype == np.uint8 and d[b"data"].shape[1] == 3072
            assert isinstance(d[b"labels"], list) and all(type(v) is int for v in d[b"labels"])
            assert len(d[b"filenames"]) == len(d[b"labels"]) == len(d[b"data"])
            sizes.append(len(d[b"labels"]))
        assert sizes == [100] * 5 + [200]
        meta = pickle.loads(tar.extractfile(f"{folder}/batches.meta").read(), encoding="bytes")
        assert meta == {b"num_cases_per_batch": 100, b"label_names": meta[b"label_names"], b"num_vis": 3072}
        assert b"cnumpy.core.multiarray\n" in tar.extractfile(expected[0]).read()  # as the originals


def test_cifar_channel_order(written, parsed):
    """Rows are R, G, B planes, each row-major: the parsed image equals the row reshaped (3, 32, 32)."""
    r = written["cifar10"]
    with tarfile.open(r["path"] / r["file"]) as tar:
        d = pickle.loads(tar.extractfile("cifar-10-batches-py/data_batch_1").read(), encoding="bytes")
    np.testing.assert_array_equal(parsed["cifar10"].train_x[:100].numpy(), d[b"data"].reshape(-1, 3, 32, 32))


def test_cifar100_coarse_labels(written):
    assert len(synthetic.CIFAR100_FINE_NAMES) == 100 and len(synthetic.CIFAR100_COARSE_NAMES) == 20
    assert np.bincount(synthetic.CIFAR100_FINE_TO_COARSE).tolist() == [5] * 20
    r = written["cifar100"]
    with tarfile.open(r["path"] / r["file"]) as tar:
        assert sorted(m.name for m in tar.getmembers()) == [
            "cifar-100-python", "cifar-100-python/meta", "cifar-100-python/test", "cifar-100-python/train"
        ]  # fmt: skip
        for split in ("train", "test"):
            d = pickle.loads(tar.extractfile(f"cifar-100-python/{split}").read(), encoding="bytes")
            assert set(d) == {b"filenames", b"batch_label", b"fine_labels", b"coarse_labels", b"data"}
            assert d[b"coarse_labels"] == [synthetic.CIFAR100_FINE_TO_COARSE[y] for y in d[b"fine_labels"]]
        meta = pickle.loads(tar.extractfile("cifar-100-python/meta").read(), encoding="bytes")
        assert meta[b"coarse_label_names"][0] == b"aquatic_mammals" and len(meta[b"fine_label_names"]) == 100


def test_tiny_imagenet_layout(written):
    r = written["tiny_imagenet"]
    root = "tiny-imagenet-200"
    with zipfile.ZipFile(r["path"] / r["file"]) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names) and {i.date_time for i in infos} == {synthetic._ZIP_DATE}
        wnids = zf.read(f"{root}/wnids.txt").decode().split()
        assert wnids == [f"n{i:08d}" for i in range(200)]
        assert len(zf.read(f"{root}/words.txt").decode().splitlines()) == 200
        boxes = zf.read(f"{root}/train/{wnids[7]}/{wnids[7]}_boxes.txt").decode().splitlines()
        assert [b.split("\t")[0] for b in boxes] == [f"{wnids[7]}_{i}.JPEG" for i in range(3)]
        assert all(f"{root}/train/{wnids[7]}/images/{b.split()[0]}" in names for b in boxes)
        ann = zf.read(f"{root}/val/val_annotations.txt").decode().splitlines()
        assert len(ann) == 200 and all(len(a.split("\t")) == 6 for a in ann)
        assert ann[0].split("\t")[0] == "val_0.JPEG" and ann[0].split("\t")[1] in wnids
        tests = [n for n in names if n.startswith(f"{root}/test/images/") and not n.endswith("/")]
        assert len(tests) == 10 and f"{root}/test/images/test_0.JPEG" in tests
        assert zf.read(tests[0])[:3] == b"\xff\xd8\xff"  # JPEG


def test_gzip_header_has_no_time_or_name(written):
    head = (written["cifar10"]["path"] / written["cifar10"]["file"]).read_bytes()[:10]
    assert head[:3] == b"\x1f\x8b\x08" and head[3] & 0x08 == 0 and head[4:8] == bytes(4)  # no FNAME, mtime 0
    assert gzip.decompress((written["cifar100"]["path"] / written["cifar100"]["file"]).read_bytes())


def test_sizes_and_seed_are_arguments(tmp_path):
    a = synthetic.write_cifar10(tmp_path / "a", train_per_class=3, test_per_class=1, seed=1)
    b = synthetic.write_cifar10(tmp_path / "b", train_per_class=3, test_per_class=1, seed=2)
    c = synthetic.write_cifar10(tmp_path / "c", train_per_class=3, test_per_class=1, seed=1)
    assert md5sum(a) == md5sum(c) != md5sum(b)
    raw = PARSERS["cifar_python"]({"archive": a}, merged_registry()["cifar10"]["layout"])
    assert len(raw.train_y) == 30 and len(raw.test_y) == 10
    t = synthetic.write_tiny_imagenet(tmp_path / "t", train_per_class=1, val_per_class=1, test_images=0)
    raw = PARSERS["tiny_imagenet"]({"archive": t}, {})
    assert len(raw.train_y) == len(raw.test_y) == 200
    with pytest.raises(ValueError, match="at least one"):
        synthetic.write_cifar100(tmp_path / "d", train_per_class=0)
    with pytest.raises(ValueError, match="unknown synthetic dataset"):
        synthetic.write_all(tmp_path / "e", datasets=["mnist"])


def test_cli_is_deterministic_and_fragment_prepares_end_to_end(written, tmp_path):
    """The CLI's defaults write byte-identical archives to a second folder; its fragment, merged over the registry,
    passes checksum, parser and prepare into a prepared.pt that the loader splits."""
    out, frag_file = tmp_path / "synthetic", tmp_path / "fragment.yaml"
    proc = subprocess.run(
        [sys.executable, str(CLI), str(out), "--config-fragment", str(frag_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for r in written.values():
        assert f"{r['md5']}  {out / r['file']}" in lines  # same md5 as the in-process write into another folder
    fragment = yaml.safe_load(frag_file.read_text())
    assert fragment == synthetic.config_fragment({n: {**r, "path": out} for n, r in written.items()})
    for name, entry in fragment["datasets"].items():
        assert entry["path"] == str(out) and entry["files"]["archive"]["md5"] == written[name]["md5"]
        spec = get_spec(name, fragment["datasets"])
        assert spec.val_size == COUNTS[name][0] // 10
        prepared_path = tmp_path / f"{name}.pt"
        files = prepare_dataset(spec, prepared_path, download_dir=None, allow_download=False)
        assert files == {"archive": str(out / written[name]["file"])}
        data = load_prepared(prepared_path, spec)
        assert tuple(data["train_x"].shape) == (COUNTS[name][0], *SHAPES[name])
        assert len(data["classes"]) == CLASSES[name]
        splits = make_splits(data, spec.val_size, seed=0)
        assert len(splits["val"].y) == spec.val_size and len(splits["test"].y) == COUNTS[name][1]


def test_fragment_md5_mismatch_is_refused(written, tmp_path):
    fragment = synthetic.config_fragment(written)
    fragment["datasets"]["cifar10"]["files"]["archive"]["md5"] = "0" * 32
    spec = get_spec("cifar10", fragment["datasets"])
    with pytest.raises(DatasetError, match="checksum mismatch"):
        prepare_dataset(spec, tmp_path / "x.pt", download_dir=None, allow_download=False)
