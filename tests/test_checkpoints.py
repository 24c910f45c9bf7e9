"""Checkpoints that say what they are (``neft.core.checkpoints``): the format and its meta, byte-identical retraining,
the keep store, the one loader, and old checkpoints (a bare state_dict) read through their path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from neft.core import checkpoints, devices
from neft.core.checkpoints import FORMAT, META_KEYS, LegacyCheckpointWarning, load_checkpoint, save_checkpoint
from neft.core.data import get_spec
from neft.core.train import seeded_model
from neft.experiment.job_specs import TrainJob, TrainPaths
from neft.jobs.runs import load_model, prepare_job, train_job
from neft.util.io import CheckpointError, atomic_torch_save, load_tensors, sha256_file

from .conftest import job_and_paths
from .test_bad_inputs import DATA_CFG, SETTINGS  # one epoch on 128 MNIST images


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    data = root / "results/data/mnist/prepared.pt"
    prepare_job("mnist", {}, str(data), str(root / "downloads"), False, log=lambda m: None)
    card = root / "results/devices/RRAM1/card.yaml"
    devices.get("RRAM1").save(card)
    return root, str(data), str(card)


def train_run(inputs, folder: str, log=lambda m: None, **over):
    root, data, card = inputs
    run = root / folder / "results/models/vgg8/mnist/ovf_b0/RRAM1/sigma~0.07/seed~1"
    kw = dict(
        model="vgg8",
        width=0.0625,
        dataset="mnist",
        registry={},
        data_path=data,
        data_cfg=DATA_CFG,
        method={"kind": "ovf", "params": {"beta": "paper"}},
        card_path=card,
        sigma="0.070",  # spelled otherwise than the workflow: the checkpoint records the workflow's spelling
        seed=1,
        settings=SETTINGS,
        compute={"device": "cpu", "threads": 1},
        out_model=str(run / "model.pt"),
        out_log=str(run / "train_log.csv"),
        log=log,
        meta={"method": "ovf_b0"},
    )
    train_job(*job_and_paths(TrainJob, TrainPaths, kw | over))
    return run / "model.pt"


def test_a_trained_checkpoint_says_what_it_is(inputs):
    path = train_run(inputs, "a")
    raw = load_tensors(path)
    assert list(raw) == ["format", "meta", "state_dict"] and raw["format"] == FORMAT
    state, meta = load_checkpoint(path)
    assert set(META_KEYS) <= set(meta) and "legacy" not in meta
    assert meta["model"] == "vgg8" and meta["width"] == 0.0625 and meta["dataset"] == "mnist"
    assert (meta["num_classes"], meta["in_channels"], meta["image_size"]) == (10, 1, 32)
    assert meta["method"] == "ovf_b0" and meta["method_kind"] == "ovf"
    assert meta["method_params"]["beta"] == pytest.approx(1e-3)  # "paper" resolved for VGG-8 / MNIST
    assert meta["method_params"]["offsets"] == [0.15, 0.10, 0.05]
    assert (meta["sigma"], meta["seed"], meta["device"]) == ("0.07", 1, "RRAM1")
    assert meta["card_sha256"] == sha256_file(inputs[2])
    assert (meta["epochs"], meta["selected_epoch"]) == (1, 1)
    assert meta["neft_version"] == checkpoints.package_version() != "unknown"
    text = repr(meta)
    assert str(inputs[0]) not in text  # no absolute path (and no time): identical runs give identical bytes
    assert set(state) == set(seeded_model("vgg8", get_spec("mnist"), 0.0625, 0).state_dict())


def test_identical_trainings_write_identical_bytes_and_the_keep_store_restores_them(inputs):
    a, b = train_run(inputs, "a"), train_run(inputs, "b")
    assert a.read_bytes() == b.read_bytes()
    said = []
    again = train_run(inputs, "b", log=said.append)  # same key: restored from .kept, not retrained
    assert any("restored the finished training" in m for m in said)
    assert again.read_bytes() == a.read_bytes()
    assert load_checkpoint(again)[1]["method"] == "ovf_b0"


def test_the_evaluation_loader_reads_the_meta_and_refuses_another_model(inputs):
    path = train_run(inputs, "a")
    spec = get_spec("mnist")
    net = load_model("vgg8", 0.0625, spec, str(path))
    assert torch.equal(net.state_dict()["features.0.weight"], load_checkpoint(path)[0]["features.0.weight"])
    with pytest.raises(CheckpointError, match=r"width is 0.0625, expected 0.125"):
        load_model("vgg8", 0.125, spec, str(path))
    with pytest.raises(CheckpointError, match=r"model is 'vgg8', expected 'resnet18'"):
        load_model("resnet18", 0.0625, spec, str(path))
    with pytest.raises(CheckpointError, match=r"dataset is 'mnist', expected 'cifar10'"):
        load_model("vgg8", 0.0625, get_spec("cifar10"), str(path))


def test_a_checkpoint_builds_its_own_model_wherever_it_lies(inputs, tmp_path):
    state, meta = load_checkpoint(train_run(inputs, "a"))
    elsewhere = tmp_path / "copy.pt"  # no results path to read anything from
    save_checkpoint(elsewhere, state, meta)
    net, got = checkpoints.load_model(elsewhere)
    assert got == meta and not net.training
    assert all(torch.equal(net.state_dict()[k], state[k]) for k in state)
    with pytest.raises(CheckpointError, match="width is 0.0625, expected 0.5"):
        checkpoints.load_model(elsewhere, width=0.5)


def test_old_checkpoints_load_through_their_path_with_one_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "_warned_legacy", False)
    net = seeded_model("vgg8", get_spec("mnist"), 0.125, 4)
    main = tmp_path / "results/models/vgg8/mnist/ovf/RRAM1/sigma~0.14/seed~4/model.pt"
    rung = tmp_path / "results/scale/width~0.25/epochs~8/vgg8/mnist/plain/RRAM1/paper_sigma~0/seed~2/model.pt"
    atomic_torch_save(net.state_dict(), main)
    atomic_torch_save(seeded_model("vgg8", get_spec("mnist"), 0.25, 2).state_dict(), rung)
    with pytest.warns(
        LegacyCheckpointWarning, match=r"without metadata .* its model, dataset, method, device, sigma, seed from its"
    ):
        state, meta = load_checkpoint(main)
    assert meta == {
        "legacy": True,
        "model": "vgg8",
        "dataset": "mnist",
        "method": "ovf",
        "device": "RRAM1",
        "sigma": "0.14",
        "seed": 4,
        "in_channels": 1,
        "num_classes": 10,
        "width": 0.125,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, meta = load_checkpoint(rung)  # once per process: said already
        rebuilt, _ = checkpoints.load_model(main)
    assert not [w for w in caught if issubclass(w.category, LegacyCheckpointWarning)]
    assert (meta["width"], meta["epochs"], meta["paper_sigma"], meta["seed"]) == (0.25, 8, "0", 2)
    assert all(torch.equal(rebuilt.state_dict()[k], state[k]) for k in state)
    loose = tmp_path / "model.pt"
    atomic_torch_save(net.state_dict(), loose)
    with pytest.raises(CheckpointError, match="does not name its model and width"):
        checkpoints.load_model(loose)
    _, meta = checkpoints.load_model(loose, model="vgg8", dataset="mnist")
    assert meta["width"] == 0.125  # from its first convolution


def test_what_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    atomic_torch_save({"format": "neft-checkpoint/2", "meta": {}, "state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="'neft-checkpoint/2' is not 'neft-checkpoint/1'"):
        load_checkpoint(path)
    atomic_torch_save({"format": FORMAT, "meta": {}}, path)
    with pytest.raises(CheckpointError, match="needs a 'state_dict' and a 'meta'"):
        load_checkpoint(path)
    atomic_torch_save({"w": torch.zeros(1), "epoch": 3}, path)
    with pytest.raises(CheckpointError, match="neither a neft-checkpoint/1 checkpoint nor a state_dict"):
        load_checkpoint(path)


def test_meta_is_made_plain_or_refused(tmp_path):
    meta = {"offsets": (0.1, 0.2), "n": np.int64(3), "x": np.float32(0.5), "v": torch.__version__}
    save_checkpoint(tmp_path / "m.pt", {"w": torch.zeros(1)}, meta)
    _, got = load_checkpoint(tmp_path / "m.pt")
    assert got == {"offsets": [0.1, 0.2], "n": 3, "x": 0.5, "v": str(torch.__version__)}
    assert type(got["v"]) is str
    with pytest.raises(TypeError, match=r"meta.card: DeviceCard is not a plain value"):
        save_checkpoint(tmp_path / "m.pt", {}, {"card": devices.get("RRAM1")})
