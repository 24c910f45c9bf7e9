"""Issue 26, class 6: the Python API checks its arguments like the config does.

``ChipEvaluator`` with ``batch_size=-5`` returned 0 % on every chip; a batch size of 0, a chip count of 0, -3 or 2.5,
``devices.get(None)``, ``perturb`` on an int64 or an empty tensor, and a sigma so large that every noisy weight is
infinite gave torch's or pathlib's errors or silent infinities. Each public entry point of docs/extending.md ("The
Python API") now refuses them with a ValueError or TypeError that names the argument, the value and what is allowed;
valid arguments give the same numbers as before.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from neft.core import devices
from neft.core.devices import MAX_RELATIVE_STD, DeviceCardError
from neft.core.mc import ADAPTIVE_CHIPS, INT_BOUNDS, ChipEvaluator, McSettings
from neft.core.models import build_model
from neft.core.noise import NoisyForward

from .conftest import REPO, SCHEMA

MC_SCHEMA = yaml.safe_load(SCHEMA.read_text())["properties"]["mc"]["properties"]


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    net = build_model("vgg8", 10, 1, 32, 0.0625).eval()
    return net, devices.get("RRAM1"), torch.randn(12, 1, 32, 32), torch.randint(0, 10, (12,))


# -- McSettings / ChipEvaluator --------------------------------------------------------------------------------------
SETTINGS_CASES = [
    # (field, value, message fragment)
    ("batch_size", -5, "mc.batch_size is -5; allowed: an integer in [1, 1048576]"),  # the issue's example
    ("batch_size", 0, "mc.batch_size is 0; allowed: an integer in [1, 1048576]"),
    ("batch_size", 2.5, "mc.batch_size is 2.5 (type float); allowed: an integer in [1, 1048576]"),
    ("batch_size", 1_048_577, "mc.batch_size is 1048577; allowed"),
    ("chips", 0, "mc.chips is 0; allowed: an integer in [1, 1000000]"),
    ("chips", -3, "mc.chips is -3; allowed"),
    ("chips", 2.5, "mc.chips is 2.5 (type float)"),
    ("chips", True, "mc.chips is True (type bool)"),
    ("chips", "10", "mc.chips is '10' (type str)"),
    ("seed", -1, "mc.seed is -1; allowed: an integer in [0, 2^63 - 1]"),
    ("seed", None, "mc.seed is None (type NoneType)"),
    ("ekl_bootstrap", -1, "mc.ekl_bootstrap is -1; allowed: an integer in [0, 10000]"),
    ("chips_per_pass", 0, "mc.chips_per_pass is 0; allowed: an integer in [1, 4096]"),
    ("fold_bn", 1, "mc.fold_bn is 1 (type int); allowed: True or False"),
    ("compile", "yes", "mc.compile is 'yes' (type str); allowed: True or False"),
    ("precision", "fp16", "mc.precision is 'fp16'; allowed: fp32, bf16, tf32"),
    ("adaptive", None, "mc.adaptive is None; allowed: a dict with keys enabled, ci_half_width, min_chips, max_chips"),
    ("adaptive", {"enabled": True}, "mc.adaptive is enabled without ci_half_width, min_chips, max_chips"),
    ("adaptive", {"enable": True}, "mc.adaptive: unknown key(s) enable; allowed: enabled, ci_half_width"),
    (
        "adaptive",
        {"enabled": True, "ci_half_width": 0.5, "min_chips": 50, "max_chips": 20},
        "mc.adaptive.min_chips (50) exceeds mc.adaptive.max_chips (20)",
    ),
    (
        "adaptive",
        {"enabled": True, "ci_half_width": -1, "min_chips": 2, "max_chips": 20},
        "mc.adaptive.ci_half_width must be a finite number > 0, got -1",
    ),
]


@pytest.mark.parametrize("field,value,fragment", SETTINGS_CASES, ids=[f"{c[0]}={c[1]!r}" for c in SETTINGS_CASES])
def test_mc_settings_refuse_what_the_config_refuses(small, field, value, fragment):
    with pytest.raises(ValueError) as err:
        McSettings(**{field: value})
    assert fragment in str(err.value)
    with pytest.raises(ValueError):  # also when changed from valid settings
        dataclasses.replace(McSettings(), **{field: value})


def test_mc_settings_bounds_are_the_schemas():
    for name, (lo, hi) in INT_BOUNDS.items():
        entry = MC_SCHEMA[name]
        if name == "seed":  # a $ref; the API also takes the 63-bit seeds derive_seed gives (selection chips)
            entry = yaml.safe_load(SCHEMA.read_text())["$defs"]["seed"]
            assert lo == entry["minimum"] and hi >= entry["maximum"]
            continue
        assert (lo, hi) == (entry["minimum"], entry["maximum"]), name
    adaptive = MC_SCHEMA["adaptive"]["properties"]
    for key in ("min_chips", "max_chips"):
        assert ADAPTIVE_CHIPS == (adaptive[key]["minimum"], adaptive[key]["maximum"])
    # every valid corner is taken, numpy integers too
    McSettings(chips=1, batch_size=1_048_576, seed=2**63 - 1, ekl_bootstrap=0, chips_per_pass=4096)
    McSettings(chips=np.int64(5), batch_size=np.int32(8))


def test_the_issue_example_no_longer_reports_zero_percent(small):
    net, card, x, y = small
    with pytest.raises(ValueError, match=r"mc.batch_size is -5; allowed: an integer in \[1, 1048576\]"):
        ChipEvaluator(net, card, x, y, McSettings(batch_size=-5))


EVALUATE_CASES = [
    (0, "chips is 0; allowed: a chip count, an integer in [1, 1000000] (chips 0..count-1), or a non-empty range"),
    (-3, "chips is -3; allowed: a chip count"),
    (2.5, "chips is 2.5 (type float); allowed: a chip count"),
    (True, "chips is True (type bool)"),
    (None, "chips is None (type NoneType)"),
    ("3", "chips is '3' (type str)"),
    (range(0), "chips is range(0, 0); allowed"),
    (range(-2, 3), "chips is range(-2, 3) (its chip -2); allowed"),
    ([1, -1], "chips is [1, -1] (its chip -1); allowed"),
    ([0, 1.0], "chips is [0, 1.0] (its chip 1.0)"),
    ([], "chips is []; allowed"),
]


@pytest.mark.parametrize("chips,fragment", EVALUATE_CASES, ids=[repr(c[0]) for c in EVALUATE_CASES])
def test_evaluate_refuses_a_chip_count_that_cannot_work(small, chips, fragment):
    net, card, x, y = small
    ev = ChipEvaluator(net, card, x, y, McSettings(batch_size=8))
    with pytest.raises(ValueError) as err:
        ev.evaluate(0.1, chips)
    assert fragment in str(err.value)


def test_evaluate_refuses_a_bad_stop_rule_and_an_empty_test_set(small):
    net, card, x, y = small
    ev = ChipEvaluator(net, card, x, y, McSettings(batch_size=8))
    with pytest.raises(ValueError, match=r"adaptive is \{'min_chips': 2\}; allowed: None, or a dict with ci_half"):
        ev.evaluate(0.1, 3, adaptive={"min_chips": 2})
    with pytest.raises(ValueError, match=r"adaptive.min_chips is 1; allowed: an integer in \[2, 1000000\]"):
        ev.evaluate(0.1, 3, adaptive={"ci_half_width": 1.0, "min_chips": 1})
    empty = ChipEvaluator(net, card, x[:0], y[:0], McSettings(batch_size=8))  # export_chip builds one like it
    with pytest.raises(ValueError, match="no test images: x and y are empty"):
        empty.evaluate(0.1, 2)


EVALUATOR_CASES = [
    ("card as a name", {"card": "RRAM1"}, TypeError, "card must be a neft.core.devices.DeviceCard"),
    ("settings as a dict", {"settings": {"batch_size": 8}}, TypeError, "McSettings.from_config(mc)"),
    ("model None", {"model": None}, TypeError, "model must be a torch.nn.Module, got NoneType"),
    ("x a list", {"x": [[0.0]]}, TypeError, "x must be a torch.Tensor, got list"),
    ("x integer", {"x": torch.zeros(12, 1, 32, 32, dtype=torch.uint8)}, TypeError, "floating-point tensor, got"),
    ("y float", {"y": torch.zeros(12)}, TypeError, "y must be a 1-D tensor of integer labels, got torch.float32"),
    ("x and y of other lengths", {"y": torch.zeros(5, dtype=torch.long)}, ValueError, "x holds 12 images but y 5"),
    ("fuse a string", {"fuse": "no"}, TypeError, "fuse must be True, False or None, got 'no'"),
]


@pytest.mark.parametrize("case,change,error,fragment", EVALUATOR_CASES, ids=[c[0] for c in EVALUATOR_CASES])
def test_chip_evaluator_names_a_bad_argument(small, case, change, error, fragment):
    net, card, x, y = small
    arguments = {"model": net, "card": card, "x": x, "y": y, "settings": McSettings(batch_size=8)} | change
    settings = arguments.pop("settings")
    with pytest.raises(error) as err:
        ChipEvaluator(
            arguments.pop("model"), arguments.pop("card"), arguments.pop("x"), arguments.pop("y"), settings, **arguments
        )
    assert fragment in str(err.value)


# -- devices.get -----------------------------------------------------------------------------------------------------
GET_CASES = [
    (None, TypeError, "device name must be a string (a shipped preset's name: FeFET2, FeFET6, RRAM1, RRAM4;"),
    (3, TypeError, "or a pathlib.Path, got int 3"),
    (["RRAM1"], TypeError, "got list ['RRAM1']"),
    ("", DeviceCardError, "device name is empty (''); shipped presets: FeFET2, FeFET6, RRAM1, RRAM4"),
    ("   ", DeviceCardError, "device name is empty ('   ')"),
]


@pytest.mark.parametrize("name,error,fragment", GET_CASES, ids=[repr(c[0]) for c in GET_CASES])
def test_devices_get_refuses_what_is_no_name(name, error, fragment):
    with pytest.raises(error) as err:
        devices.get(name)
    assert fragment in str(err.value)


def test_devices_get_takes_a_path_and_refuses_a_bare_search_folder(tmp_path):
    assert devices.get(REPO / "src/neft/core/cards/RRAM4.yaml") == devices.get("RRAM4")
    with pytest.raises(
        TypeError, match=r"search must be a list or tuple of folders .*; a single folder goes in a list"
    ):
        devices.get("MyRRAM", search=str(tmp_path))
    with pytest.raises(TypeError, match="search must be a list or tuple of folders"):
        devices.get("MyRRAM", search=[None])


# -- DeviceCard.perturb / noise_scale, NoisyForward -------------------------------------------------------------------
PERTURB_CASES = [
    ("int64 weight", torch.arange(6), 0.1, TypeError, "weight must be a floating-point tensor (float32, float64"),
    ("bool weight", torch.ones(3, dtype=torch.bool), 0.1, TypeError, "got torch.bool"),
    ("int64 weight at sigma 0", torch.arange(6), 0, TypeError, "weight must be a floating-point tensor"),
    ("empty weight", torch.empty(0), 0.1, ValueError, "weight is empty (shape (0,)): there is no max|W|"),
    ("empty 2-D weight", torch.empty(4, 0), 0.1, ValueError, "weight is empty (shape (4, 0))"),
    ("a list", [1.0, 2.0], 0.1, TypeError, "weight must be a torch.Tensor (floating point), got list"),
    ("sigma 1e308", torch.randn(3), 1e308, ValueError, "sigma 1e+308 on device card 'RRAM4' gives a noise std of"),
    ("sigma 1e40", torch.randn(3), 1e40, ValueError, "x max|W| (k c sigma'); at most 1e+06 x max|W| is taken"),
    ("sigma 1e7", torch.randn(3, dtype=torch.float64), 1e7, ValueError, "sigma 10000000.0 on device card"),
    ("sigma inf", torch.randn(3), math.inf, ValueError, "sigma must be a finite number >= 0, got inf"),
    ("sigma NaN", torch.randn(3), math.nan, ValueError, "sigma must be a finite number >= 0, got nan"),
    ("sigma negative", torch.randn(3), -0.1, ValueError, "sigma must be a finite number >= 0, got -0.1"),
    ("sigma a string", torch.randn(3), "0.1", ValueError, "sigma must be a finite number >= 0, got '0.1'"),
]


@pytest.mark.parametrize("case,weight,sigma,error,fragment", PERTURB_CASES, ids=[c[0] for c in PERTURB_CASES])
def test_perturb_and_noise_scale_refuse_what_cannot_work(case, weight, sigma, error, fragment):
    card = devices.get("RRAM4")
    with pytest.raises(error) as err:
        card.perturb(weight, sigma, torch.Generator().manual_seed(0))
    assert fragment in str(err.value)
    if sigma != 0:
        with pytest.raises(error) as err:
            card.noise_scale(weight, sigma)
        assert fragment in str(err.value)


def test_a_refused_sigma_leaves_the_generator_alone_and_the_bound_is_finite():
    card = devices.get("FeFET6")
    g = torch.Generator().manual_seed(3)
    with pytest.raises(ValueError):
        card.perturb(torch.randn(10), 1e300, g)
    assert torch.equal(torch.randn(4, generator=g), torch.randn(4, generator=torch.Generator().manual_seed(3)))
    # the largest sigma taken gives finite float32 weights; the smallest refused is just above it
    top = MAX_RELATIVE_STD / (card.c * card.effective_sigma(1.0) * card.middle_multiplier)
    w = torch.randn(1000)
    assert torch.isfinite(card.perturb(w, top * 0.999, torch.Generator().manual_seed(0))).all()
    with pytest.raises(ValueError, match="gives a noise std of"):
        card.perturb(w, top * 1.001)
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None, got int"):
        card.perturb(w, 0.1, 0)


def test_valid_arguments_give_the_same_numbers_as_before():
    """The checks change no number: perturb is w + randn(seeded) * noise_scale, as before, for every dtype."""
    for name in devices.preset_names():
        card = devices.get(name)
        for dtype in (torch.float32, torch.float64, torch.bfloat16):
            w = torch.randn(5, 7, generator=torch.Generator().manual_seed(1)).to(dtype)
            eps = torch.randn(w.shape, generator=torch.Generator().manual_seed(2), dtype=dtype)
            want = w + eps.mul_(card.noise_scale(w, 0.1))
            assert torch.equal(card.perturb(w, 0.1, torch.Generator().manual_seed(2)), want)
            assert torch.equal(card.perturb(w, 0), w)


def test_noisy_forward_names_a_bad_argument(small):
    net, card, x, _ = small
    with pytest.raises(TypeError, match="card must be a neft.core.devices.DeviceCard .*got str 'RRAM1'"):
        NoisyForward(net, "RRAM1")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got NoneType"):
        NoisyForward(None, card)
    with pytest.raises(TypeError, match="layers must be a list of parameter names"):
        NoisyForward(net, card, "features.0.weight")
    noisy = NoisyForward(net, card)
    with pytest.raises(TypeError, match="layer_sigma must be a mapping of layer name to sigma or None"):
        noisy(x, 0.1, None, [0.2])
    with pytest.raises(ValueError, match="sigma 1e\\+300 on device card 'RRAM1' gives a noise std"):
        noisy(x, 1e300)


# -- build_model -----------------------------------------------------------------------------------------------------
MODEL_CASES = [
    (("vgg8", 0, 1, 32, 0.0625), "num_classes must be an integer >= 2 and <= 100000, got 0"),
    (("vgg8", 2.5, 1, 32, 0.0625), "num_classes must be an integer >= 2 and <= 100000, got 2.5"),
    (("vgg8", True, 1, 32, 0.0625), "num_classes must be an integer >= 2 and <= 100000, got True"),
    (("vgg8", 10, 0, 32, 0.0625), "in_channels must be an integer >= 1 and <= 64, got 0"),
    (("vgg8", 10, 1, 4, 0.0625), "vgg8 needs images of at least 8 pixels, got 4"),
    (("vgg8", 10, 1, 32, -1), "width must be a finite number > 0, got -1"),
    (("vgg8", 10, 1, 32, math.nan), "width must be a finite number > 0, got nan"),
    (("vgg8", 10, 1, 32, 0.001), "width 0.001 leaves the 64-channel layer of vgg8 with no channel"),
    ((None, 10), "unknown model None; allowed: resnet18, vgg8"),
]


@pytest.mark.parametrize("args,fragment", MODEL_CASES, ids=[repr(c[0]) for c in MODEL_CASES])
def test_build_model_names_a_bad_argument(args, fragment):
    with pytest.raises(ValueError) as err:
        build_model(*args)
    assert fragment in str(err.value)


def test_the_checks_are_documented():
    text = (REPO / "docs/extending.md").read_text()
    assert "checks its arguments" in text and "MAX_RELATIVE_STD" in text
    assert Path(REPO / "docs/methods.md").read_text().count("complete card") >= 1
