"""A chip in hand: ``neft.core.mc.export_chip`` returns the state_dict of the chip that the Monte-Carlo evaluation
measured.

A small VGG-8 is trained on real MNIST (a subset) by the workflow's own job function, evaluated by the MC job
function (its CSV is what rule evaluate_mc writes), and then each exported chip is loaded into the plain model: its
eval forward over the same test images must give the chip's count of correct predictions in that CSV.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from neft.core import devices
from neft.core.checkpoints import load_checkpoint, load_model
from neft.core.data import Preprocess, preprocess_all
from neft.core.mc import WORKFLOW_MC_SEED, ChipEvaluator, McSettings, export_chip
from neft.experiment.job_specs import EvalJob, EvalPaths, TrainJob, TrainPaths
from neft.jobs.runs import load_splits, mc_job, prepare_job, train_job

from .conftest import SCHEMA
from .test_bad_inputs import SETTINGS

DATA_CFG = {"split_seed": 0, "val_size": None, "train_subset": 1024, "val_subset": 64, "test_subset": 300}
MC = {"chips": 8, "seed": WORKFLOW_MC_SEED, "batch_size": 100, "fold_bn": True, "ekl_bootstrap": 0}
SIGMA = "0.05"
CHIPS = (0, 3, 5, 7)


@dataclasses.dataclass
class Trained:
    root: Path
    checkpoint: str
    card: str
    data: str
    chips: pd.DataFrame  # the MC CSV's rows
    x: torch.Tensor  # the MC job's test images, preprocessed as it preprocesses them
    y: torch.Tensor


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    root = tmp_path_factory.mktemp("export_chip")
    data = root / "results/data/mnist/prepared.pt"
    prepare_job("mnist", {}, str(data), str(root / "downloads"), False, log=lambda m: None)
    card = root / "results/devices/RRAM4/card.yaml"  # s > 1: the middle levels are noisier
    devices.get("RRAM4").save(card)
    run = root / "results/models/vgg8/mnist/noise_injection/RRAM4/sigma~0.05/seed~0"
    common = dict(model="vgg8", width=0.0625, dataset="mnist", data=DATA_CFG, compute={"device": "cpu", "threads": 1})
    job = TrainJob(
        **common,
        method={"kind": "noise_injection"},
        sigma=SIGMA,
        seed=0,
        settings=SETTINGS | {"epochs": 3, "eval_batch_size": 256},
        meta={"method": "noise_injection"},
    )
    train_job(job, TrainPaths(str(data), str(card), str(run / "model.pt"), str(run / "train_log.csv")), lambda m: None)
    out = root / "results/mc/vgg8/mnist/noise_injection/RRAM4/sigma~0.05/seed~0/test~0.05.csv"
    paths = EvalPaths(str(data), str(run / "model.pt"), str(card), chips=str(out), stats=str(out.with_suffix(".json")))
    mc_job(EvalJob(**common, sigma_test=SIGMA, mc=MC, keys={"seed": 0}), paths, lambda m: None)
    spec, splits = load_splits("mnist", {}, str(data), DATA_CFG)
    test = splits["test"]
    x = preprocess_all(test, Preprocess(spec, torch.device("cpu")), torch.device("cpu"))
    return Trained(root, str(run / "model.pt"), str(card), str(data), pd.read_csv(out), x, test.y)


def plain_forward(trained: Trained, state: dict) -> torch.Tensor:
    """What a user does with an exported chip: the original model, load_state_dict, eval, forward."""
    model, _ = load_model(trained.checkpoint)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        return torch.cat([model(trained.x[i : i + 100]) for i in range(0, len(trained.y), 100)])


def folded_logits(trained: Trained, chip: int, **options) -> torch.Tensor:
    """The MC path's logits of ``chip`` (BN folded, oneDNN conv+ReLU, channels_last: the workflow's defaults)."""
    net, _ = load_model(trained.checkpoint)
    ev = ChipEvaluator(
        net, devices.get("RRAM4"), trained.x, trained.y, McSettings(batch_size=100, seed=MC["seed"]), **options
    )
    ev.set_sigma(SIGMA)
    ev.load_chip(chip)
    return torch.cat([logits for _, logits, _ in ev.logits()])


@pytest.mark.parametrize("chip", CHIPS)
def test_an_exported_chip_scores_what_the_mc_csv_says(trained, chip):
    state = export_chip(trained.checkpoint, trained.card, SIGMA, chip)
    logits = plain_forward(trained, state)
    correct = int((logits.argmax(1) == trained.y).sum())
    row = trained.chips.set_index("chip").loc[chip]
    assert correct == int(row["correct"]), (chip, correct, int(row["correct"]))
    # the same function as the folded MC forward, up to float rounding (BN folded there, separate here)
    folded = folded_logits(trained, chip)
    torch.testing.assert_close(logits, folded, rtol=1e-4, atol=1e-4)
    assert torch.equal(logits.argmax(1), folded.argmax(1))
    # why the counts can be equal: the rounding (about 3e-5 here) is far below every image's top-two margin
    top2 = logits.topk(2, dim=1).values
    assert (logits - folded).abs().max() < 0.1 * (top2[:, 0] - top2[:, 1]).min()


def test_the_chips_differ_and_a_wrong_chip_or_seed_is_another_chip(trained):
    """The check can fail: another chip index, or the Python API's default seed 0 instead of the workflow's, gives
    other weights, other logits, and (for the chips chosen here) another count than the CSV's."""
    row = trained.chips.set_index("chip")["correct"]
    right = export_chip(trained.checkpoint, trained.card, SIGMA, 3)
    for wrong in (
        export_chip(trained.checkpoint, trained.card, SIGMA, 4),
        export_chip(trained.checkpoint, trained.card, SIGMA, 3, base_seed=0),
        export_chip(trained.checkpoint, trained.card, "0.15", 3),
    ):
        assert not torch.equal(wrong["features.0.weight"], right["features.0.weight"])
        logits = plain_forward(trained, wrong)
        assert not torch.allclose(logits, plain_forward(trained, right), rtol=1e-4, atol=1e-4)
    counts = {c: int((plain_forward(trained, export_chip(trained.checkpoint, trained.card, SIGMA, c)).argmax(1) ==
                      trained.y).sum()) for c in (2, 6)}  # fmt: skip
    # the CSV's chips differ from each other, so a shifted index would be caught by the count as well
    assert len(set(row.tolist())) > 1
    assert counts == {2: int(row[2]), 6: int(row[6])}


def test_the_export_has_the_checkpoints_keys_and_unfolded_bitwise_weights(trained):
    state, meta = load_checkpoint(trained.checkpoint)
    chip = export_chip(trained.checkpoint, "RRAM4", float(SIGMA), 5)  # a preset's name and a float sigma: same chip
    assert list(chip) == list(state)  # BatchNorm included, the original model's keys
    net, _ = load_model(trained.checkpoint)
    ev = ChipEvaluator(
        net, devices.get("RRAM4"), trained.x[:1], trained.y[:1], McSettings(fold_bn=False, seed=MC["seed"])
    )
    ev.set_sigma(SIGMA)
    ev.load_chip(5)
    for name, tensor in state.items():
        if name in ev.layers:  # the CIM weights: bitwise the unfolded MC path's (mc.fold_bn: false)
            assert torch.equal(chip[name], ev.live[name].detach()), name
            assert not torch.equal(chip[name], tensor), name
        else:  # biases, BatchNorm's affine and running statistics: the checkpoint's
            assert torch.equal(chip[name], tensor), name
    assert chip["features.0.weight"].is_contiguous()
    clean = export_chip(trained.checkpoint, trained.card, "0", 5)
    assert all(torch.equal(clean[k], state[k]) for k in state)  # sigma 0: the trained weights


def test_the_default_seed_is_the_workflows():
    schema = yaml.safe_load(Path(SCHEMA).read_text())
    assert schema["properties"]["mc"]["properties"]["seed"]["default"] == WORKFLOW_MC_SEED


def test_cards_with_non_weight_non_idealities_are_refused_and_stuck_devices_are_exported(trained):
    card = devices.get("RRAM1")
    for changes, named in (({"read_noise": 0.05}, "read_noise"), ({"adc_bits": 6}, "adc_bits")):
        with pytest.raises(ValueError, match=rf"device card 'RRAM1' has {named}: not weights"):
            export_chip(trained.checkpoint, dataclasses.replace(card, **changes), SIGMA, 0)
    stuck = dataclasses.replace(card, stuck_fraction=0.02)
    chip = export_chip(trained.checkpoint, stuck, SIGMA, 1)
    net, _ = load_model(trained.checkpoint)
    ev = ChipEvaluator(net, stuck, trained.x[:1], trained.y[:1], McSettings(fold_bn=False, seed=MC["seed"]))
    ev.set_sigma(SIGMA)
    ev.load_chip(1)
    assert all(torch.equal(chip[n], ev.live[n].detach()) for n in ev.layers)
    assert not torch.equal(
        chip["features.0.weight"], export_chip(trained.checkpoint, card, SIGMA, 1)["features.0.weight"]
    )
    with pytest.raises(ValueError, match="chip is -1"):
        export_chip(trained.checkpoint, card, SIGMA, -1)
