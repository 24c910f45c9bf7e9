"""Inputs that try to fool the workflow (issue 12), tried by class, each with several members beyond the example:

1. numbers: NaN and infinity (which pass ``x < 0`` checks), wrong types (``8.7`` or ``true`` for an integer, a
   string for a number) from device cards, measured CSVs, method parameters and the Python API's sigma;
2. unknown keys in a device card (a typo is an error, with the allowed keys; ``x_`` keys are the escape hatch);
6. malicious pickles: refused without running, named, and never with advice to disable ``weights_only``;
7. unreadable user files: every reader names the file and what it expected.

Each case builds its bad input here and checks the exception type and the message fragments.
"""

from __future__ import annotations

import functools
import io
import math
import os
import pickle
import posix
import random
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from neft.analysis.scorecard import ReferenceDataError, load_reference, point_scorecard, to_paper_sigma
from neft.core import devices
from neft.core.data.formats import parse_cifar, parse_tiny_imagenet
from neft.core.data.registry import DatasetError
from neft.core.data.sources import md5sum
from neft.core.data.synthetic import write_cifar10
from neft.core.devices import DeviceCard, DeviceCardError
from neft.core.fitting import DeviceDataError, fit_device, fit_file, fit_two_band, read_fit_table, read_level_stats
from neft.core.methods import build_method
from neft.core.models import build_model
from neft.core.noise import NoisyForward
from neft.util.checks import check_keys, finite_number, read_text
from neft.util.io import CheckpointError, UnsafeCheckpointError, atomic_torch_save, load_tensors

from .conftest import REPO
from .test_data_formats import build_tar, tiny_imagenet_zip

MEASURED = REPO / "resources/device_data/rram_wan2022.csv"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def card_file(tmp_path: Path, data, name: str = "card.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def preset(**change) -> dict:
    data = devices.get("RRAM4").to_dict()
    for key, value in change.items():
        if value is _DELETE:
            del data[key]
        else:
            data[key] = value
    return data


_DELETE = object()


# =====================================================================================================================
# class 1: numbers must be finite and of the right type
# =====================================================================================================================
def test_finite_number_helper():
    assert finite_number(3, "x") == 3.0 and isinstance(finite_number(3, "x"), float)
    assert finite_number(np.float32(0.5), "x") == 0.5
    assert finite_number(np.int64(8), "x", integer=True) == 8
    assert finite_number(math.inf, "x", allow_inf=True) == math.inf
    for value, fragment in [
        (math.nan, "x must be a finite number, got nan"),
        (math.inf, "x must be a finite number, got inf"),
        (-math.inf, "got -inf"),
        (True, "got True (a bool)"),
        ("3", "got '3' (a str)"),
        (None, "got None (a NoneType)"),
        ([1.0], "got [1.0] (a list)"),
    ]:
        with pytest.raises(ValueError, match=None) as err:
            finite_number(value, "x")
        assert fragment in str(err.value)
    with pytest.raises(ValueError, match=r"x must be an integer >= 1, got 8.7"):
        finite_number(8.7, "x", integer=True, minimum=1)
    with pytest.raises(ValueError, match=r"x must be an integer, got 8.0"):
        finite_number(8.0, "x", integer=True)
    with pytest.raises(ValueError, match=r"x must be a number, got nan"):
        finite_number(math.nan, "x", allow_inf=True)
    with pytest.raises(ValueError, match=r"x must be a finite number > 0, got 0"):
        finite_number(0, "x", above=0)
    with pytest.raises(KeyError):
        finite_number(-1, "x", minimum=0, error=KeyError)


# (field, value, fragment of the message after "device card <file>: ")
CARD_NUMBER_CASES = [
    ("middle_multiplier", math.nan, "middle_multiplier must be a finite number > 0, got nan"),  # the issue's example
    ("middle_multiplier", math.inf, "middle_multiplier must be a finite number > 0, got inf"),
    ("middle_multiplier", -math.inf, "middle_multiplier must be a finite number > 0, got -inf"),
    ("middle_multiplier", "3", "middle_multiplier must be a finite number > 0, got '3' (a str)"),
    ("middle_multiplier", True, "middle_multiplier must be a finite number > 0, got True (a bool)"),
    ("middle_multiplier", None, "middle_multiplier must be a finite number > 0, got None"),
    ("middle_multiplier", 0, "middle_multiplier must be a finite number > 0, got 0"),
    ("middle_multiplier", 1e200, "middle_multiplier (1e+200) and middle_fraction (0.4) give the normalisation f s^2"),
    ("middle_fraction", math.nan, "middle_fraction must be a finite number >= 0 and <= 1, got nan"),
    ("middle_fraction", math.inf, "middle_fraction must be a finite number >= 0 and <= 1, got inf"),
    ("middle_fraction", "0.4", "middle_fraction must be a finite number >= 0 and <= 1, got '0.4' (a str)"),
    ("sigma_scale", math.nan, "sigma_scale must be a finite number > 0, got nan"),
    ("sigma_scale", math.inf, "sigma_scale must be a finite number > 0, got inf"),
    ("sigma_scale", 0.0, "sigma_scale must be a finite number > 0, got 0.0"),
    ("sigma_scale", False, "sigma_scale must be a finite number > 0, got False (a bool)"),
    ("bits_per_weight", 8.7, "bits_per_weight must be an integer >= 1 and <= 32, got 8.7"),
    ("bits_per_weight", True, "bits_per_weight must be an integer >= 1 and <= 32, got True (a bool)"),
    ("bits_per_weight", 8.0, "bits_per_weight must be an integer >= 1 and <= 32, got 8.0"),
    ("bits_per_weight", "8", "bits_per_weight must be an integer >= 1 and <= 32, got '8' (a str)"),
    ("bits_per_weight", math.nan, "bits_per_weight must be an integer >= 1 and <= 32, got nan"),
    ("bits_per_weight", 10**6, "bits_per_weight must be an integer >= 1 and <= 32, got 1000000"),
    ("bits_per_device", 2.5, "bits_per_device must be an integer >= 1 and <= 32, got 2.5"),
    ("bits_per_device", False, "bits_per_device must be an integer >= 1 and <= 32, got False (a bool)"),
    ("bits_per_device", 0, "bits_per_device must be an integer >= 1 and <= 32, got 0"),
    ("middle_band", [math.nan, 0.75], "middle_band[0] must be a finite number, got nan"),
    ("middle_band", [0.25, math.inf], "middle_band[1] must be a finite number, got inf"),
    ("middle_band", ["a", 0.75], "middle_band[0] must be a finite number, got 'a' (a str)"),
    ("middle_band", [True, 0.75], "middle_band[0] must be a finite number, got True (a bool)"),
    ("middle_band", "0.25, 0.75", "middle_band must be a list [lo, hi], got '0.25, 0.75'"),
    ("middle_band", [0.25], "middle_band must be a list [lo, hi], got [0.25]"),
    ("name", 123, "name must be a non-empty string, got 123"),
    ("name", "", "name must be a non-empty string, got ''"),
    ("description", 5, "description must be a string, got 5"),
]


@pytest.mark.parametrize("field,value,fragment", CARD_NUMBER_CASES, ids=[f"{c[0]}={c[1]!r}" for c in CARD_NUMBER_CASES])
def test_card_numbers_must_be_finite_and_typed(tmp_path, field, value, fragment):
    path = card_file(tmp_path, preset(**{field: value}))
    with pytest.raises(DeviceCardError) as err:
        devices.get(str(path))
    assert f"device card {path}: {fragment}" in str(err.value)


def test_card_with_nan_written_as_yaml_nan_is_refused(tmp_path):
    """The issue's example, spelled as a user writes it: no card loads, so no weight can become NaN."""
    text = (
        (REPO / "src/neft/core/cards/RRAM4.yaml")
        .read_text()
        .replace("middle_multiplier: 4.0", "middle_multiplier: .nan")
    )
    path = card_file(tmp_path, text)
    with pytest.raises(DeviceCardError, match=r"middle_multiplier must be a finite number > 0, got nan"):
        devices.get(str(path))
    for spelling in (".inf", "-.inf", ".NaN", "'4'", "true", "4x"):
        path.write_text(text.replace("middle_multiplier: .nan", f"middle_multiplier: {spelling}"))
        with pytest.raises(DeviceCardError, match=r"middle_multiplier must be a finite number > 0"):
            devices.get(str(path))


def test_card_from_python_is_checked_too():
    good = devices.get("RRAM1")
    fields = {k: getattr(good, k) for k in ("name", "bits_per_weight", "bits_per_device", "middle_band")}
    fields |= {"middle_fraction": 0.4, "provenance": {"source": "test"}}
    with pytest.raises(DeviceCardError, match=r"device card 'RRAM1': middle_multiplier must be a finite number > 0"):
        DeviceCard(**fields, middle_multiplier=math.nan)
    with pytest.raises(DeviceCardError, match=r"f s\^2 \+ 1 - f = 0"):
        DeviceCard(**(fields | {"middle_fraction": 1.0}), middle_multiplier=1e-200)  # would divide by zero
    card = DeviceCard(**fields, middle_multiplier=4)  # an int is a number: stored as a float
    assert card.middle_multiplier == 4.0 and isinstance(card.middle_multiplier, float)
    with pytest.raises(DeviceCardError, match=r"middle_multiplier must be a finite number > 0, got nan"):
        devices.get("RRAM4").__class__(**{**devices.get("RRAM4").__dict__, "middle_multiplier": math.nan})
    with pytest.raises(ValueError, match=r"bits_per_device must be an integer >= 1"):
        devices.device_constant(8, 0)


SIGMA_CASES = [
    (math.nan, "sigma must be a finite number >= 0, got nan"),  # the issue's example
    (math.inf, "sigma must be a finite number >= 0, got inf"),
    (-math.inf, "sigma must be a finite number >= 0, got -inf"),
    (-0.1, "sigma must be a finite number >= 0, got -0.1"),
    ("0.1", "sigma must be a finite number >= 0, got '0.1' (a str)"),
    (None, "sigma must be a finite number >= 0, got None"),
    (True, "sigma must be a finite number >= 0, got True (a bool)"),
    (1j, "sigma must be a finite number >= 0, got 1j"),
]


@pytest.mark.parametrize("sigma,fragment", SIGMA_CASES, ids=[repr(c[0]) for c in SIGMA_CASES])
@pytest.mark.parametrize("call", ["perturb", "noise_scale", "effective_sigma", "NoisyForward", "layer_sigma"])
def test_sigma_of_the_python_api_must_be_finite(sigma, fragment, call):
    card = devices.get("RRAM4")
    w = torch.randn(8, 4)
    with pytest.raises(ValueError) as err:
        if call == "perturb":
            card.perturb(w, sigma, torch.Generator().manual_seed(0))
        elif call == "noise_scale":
            card.noise_scale(w, sigma)
        elif call == "effective_sigma":
            card.effective_sigma(sigma)
        else:
            model = build_model("vgg8", 10, 1, 32, 0.0625)
            noisy = NoisyForward(model, card)
            x = torch.zeros(1, 1, 32, 32)
            if call == "NoisyForward":
                noisy(x, sigma)
            else:
                noisy(x, 0.1, layer_sigma={noisy.layers[0]: sigma})
    message = str(err.value)
    if call == "layer_sigma":
        fragment = fragment.replace("sigma must", "layer_sigma['features.0.weight'] must")
    assert fragment in message


def test_good_sigmas_still_work():
    card = devices.get("RRAM4")
    w = torch.randn(8, 4)
    for sigma in (0, 0.1, np.float64(0.1), np.float32(0.2), 1):
        out = card.perturb(w, sigma, torch.Generator().manual_seed(0))
        assert torch.isfinite(out).all()
    assert torch.equal(card.perturb(w, 0), w)
    model = build_model("vgg8", 10, 1, 32, 0.0625)
    noisy = NoisyForward(model, card)
    with pytest.raises(ValueError, match="layer_sigma names layers that are not noisy here: features.99.weight"):
        noisy(torch.zeros(1, 1, 32, 32), 0.1, layer_sigma={"features.99.weight": 0.2})


# (kind, params, fragment): what build_method (and so methods.<name>.params in the config) says
METHOD_CASES = [
    ("ovf", {"beta": math.nan}, "ovf beta is nan; allowed: 'paper' or a number >= 0"),  # the issue's example
    ("ovf", {"beta": math.inf}, "ovf beta is inf; allowed: 'paper' or a number >= 0"),
    ("irs", {"beta": -math.inf}, "irs beta is -inf; allowed: 'paper' or a number >= 0"),
    ("irs", {"beta": "1e-3"}, "irs beta is '1e-3'; allowed: 'paper' or a number >= 0"),
    ("ovf", {"offsets": [0.1, math.nan]}, "ovf offsets[1] must be a finite number >= 0, got nan"),
    ("ovf", {"offsets": [math.inf]}, "ovf offsets[0] must be a finite number >= 0, got inf"),
    ("ovf", {"offsets": [True, 0.1]}, "ovf offsets[0] must be a finite number >= 0, got True (a bool)"),
    ("ovf", {"offsets": "0.1"}, "ovf offsets must be a non-empty list of non-negative numbers, got '0.1'"),
    ("ovf", {"offsets": []}, "ovf offsets must be a non-empty list of non-negative numbers, got []"),
    ("ovf", {"temperature": math.nan}, "ovf temperature (or null for N + 1) must be a finite number > 0, got nan"),
    ("ovf", {"temperature": 0}, "ovf temperature (or null for N + 1) must be a finite number > 0, got 0"),
    ("ovf", {"temperature": "4"}, "ovf temperature (or null for N + 1) must be a finite number > 0, got '4' (a str)"),
    ("ovf", {"raise_in": ["all"]}, "ovf raise_in is ['all']; allowed: all, authors"),
    ("irs", {"hidden": 8.7}, "irs hidden must be an integer >= 1, got 8.7"),
    ("irs", {"hidden": True}, "irs hidden must be an integer >= 1, got True (a bool)"),
    ("irs", {"hidden": "512"}, "irs hidden must be an integer >= 1, got '512' (a str)"),
    ("irs", {"hidden": 0}, "irs hidden must be an integer >= 1, got 0"),
    ("irs", {"head_sigma": math.nan}, "irs head_sigma (or null for the training sigma) must be a finite number >= 0"),
    ("irs", {"head_sigma": -0.1}, "irs head_sigma (or null for the training sigma) must be a finite number >= 0"),
    ("irs", {"temperature": math.inf}, "irs temperature (or null for N + 1) must be a finite number > 0, got inf"),
    ("irs", {"taps": [["features.2", 6.5]]}, "irs taps[0] pool size must be an integer >= 1, got 6.5"),
    ("irs", {"taps": [["features.2"]]}, "irs taps[0] must be [module name, pool size], got ['features.2']"),
    ("irs", {"taps": "features.2"}, "irs taps must be a non-empty list of [module name, pool size]"),
    ("noise_injection", {"temperature": math.nan}, "noise_injection temperature must be a finite number > 0, got nan"),
    ("noise_injection", {"temperature": True}, "noise_injection temperature must be a finite number > 0, got True"),
    ("noise_injection", {"temperature": -4}, "noise_injection temperature must be a finite number > 0, got -4"),
    ("plain", {"temperature": math.inf}, "plain temperature must be a finite number > 0, got inf"),
    ("correctnet", {"lam": math.nan}, "correctnet lam must be a finite number >= 0, got nan"),
    ("correctnet", {"lam": -1e-4}, "correctnet lam must be a finite number >= 0, got -0.0001"),
    ("correctnet", {"lam": "5e-4"}, "correctnet lam must be a finite number >= 0, got '5e-4' (a str)"),
]


@pytest.mark.parametrize("kind,params,fragment", METHOD_CASES, ids=[f"{c[0]} {c[1]}" for c in METHOD_CASES])
def test_method_parameters_must_be_finite_and_typed(kind, params, fragment):
    with pytest.raises(ValueError) as err:
        build_method(kind, params)
    assert fragment in str(err.value)


def test_method_parameters_that_are_fine():
    assert build_method("noise_injection", {"temperature": 4}).temperature == 4
    assert build_method("ovf", {"beta": 0, "offsets": [0.15, 0.1, 0.05], "temperature": None}).beta == 0
    assert build_method("irs", {"beta": "paper", "hidden": np.int64(64), "taps": [["features.2", 6]]}).hidden == 64
    assert build_method("correctnet", {"lam": 0}).lam == 0


def stats_csv(tmp_path: Path, rows: list[str], header: str = "device,level,g_target_us,g_min_us,g_max_us,std_us"):
    path = tmp_path / "device.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


GOOD_ROWS = ["d,0,0,0,40,0.3", "d,1,13.3,0,40,2.3", "d,2,26.7,0,40,1.7", "d,3,40,0,40,1.1"]
# (row index to replace, the bad row, fragment)
CSV_CASES = [
    (1, "d,1,13.3,0,40,nan", "column std_us must hold finite numbers; bad value(s) nan in row(s) 2"),
    (1, "d,1,13.3,0,40,inf", "column std_us must hold finite numbers; bad value(s) inf in row(s) 2"),
    (2, "d,2,26.7,0,-inf,1.7", "column g_max_us must hold finite numbers; bad value(s) -inf in row(s) 3"),
    (0, "d,0,NaN,0,40,0.3", "column g_target_us must hold finite numbers; bad value(s) nan in row(s) 1"),
    (0, "d,0,0,zero,40,0.3", "column g_min_us must hold finite numbers; bad value(s) 'zero' in row(s) 1"),
    (3, "d,3.5,40,0,40,1.1", "column level must hold integers 0..65535"),
    (3, "d,-3,40,0,40,1.1", "bad value(s) -3 in row(s) 4"),
    (3, "d,1e15,40,0,40,1.1", "bad value(s) 1e+15 in row(s) 4"),  # would build a list of 2^50 levels
    (3, "d,inf,40,0,40,1.1", "column level must hold finite numbers; bad value(s) inf in row(s) 4"),
    (3, "d,3,40,0,40,", "column std_us must hold finite numbers; bad value(s) nan in row(s) 4"),
]


@pytest.mark.parametrize("index,row,fragment", CSV_CASES, ids=[c[1] for c in CSV_CASES])
def test_measured_csv_numbers_must_be_finite(tmp_path, index, row, fragment):
    rows = list(GOOD_ROWS)
    rows[index] = row
    path = stats_csv(tmp_path, rows)
    with pytest.raises(DeviceDataError) as err:
        fit_file(path, "d", "X")
    assert f"device data {path}: " in str(err.value) and fragment in str(err.value)


def test_measured_csv_raw_samples_and_header(tmp_path):
    header = "device,level,g_target_us,g_min_us,g_max_us,g_us"
    rows = [f"d,{lv},{t},0,40,{t + e}" for lv, t in enumerate((0, 13, 26, 40)) for e in (0.1, -0.1)]
    rows[5] = "d,2,26,0,40,nan"
    path = stats_csv(tmp_path, rows, header)
    with pytest.raises(
        DeviceDataError, match=r"column g_us must hold finite numbers; bad value\(s\) nan in row\(s\) 6"
    ):
        read_level_stats(path)
    path = stats_csv(tmp_path, GOOD_ROWS, "device,level,g_target_us,g_min_us,g_max_us,std_us,std_us")
    with pytest.raises(DeviceDataError, match=r"column\(s\) std_us appear more than once in the header"):
        read_level_stats(path)


def test_fitting_python_api_checks_numbers():
    stats = read_level_stats(MEASURED)
    one = stats[stats.device == "RRAM_Wan2022_1s"].reset_index(drop=True)
    bad = one.copy()
    bad.loc[1, "std_us"] = math.nan
    with pytest.raises(DeviceDataError, match=r"column std_us must hold finite numbers"):
        fit_device(bad, "X")
    bad = one.copy()
    bad["g_max_us"] = math.inf
    with pytest.raises(DeviceDataError, match=r"column g_max_us must hold finite numbers"):
        fit_device(bad, "X")
    with pytest.raises(DeviceCardError, match=r"middle_fraction must be a finite number >= 0 and <= 1, got nan"):
        fit_device(one, "X", middle_fraction=math.nan)
    with pytest.raises(DeviceCardError, match=r"bits_per_weight must be an integer >= 1 and <= 32, got 8.5"):
        fit_device(one, "X", bits_per_weight=8.5)
    middle = [False, True, True, False]
    for kwargs, fragment in [
        ({"s_min": math.nan}, "s_min must be a finite number > 0, got nan"),
        ({"s_min": math.inf}, "s_min must be a finite number > 0, got inf"),
        ({"s_max": math.nan}, "s_max must be a number, got nan"),
    ]:
        with pytest.raises(ValueError, match=None) as err:
            fit_two_band([0.1, 0.2, 0.2, 0.1], middle, **kwargs)
        assert fragment in str(err.value)
    assert fit_two_band([0.1, 0.2, 0.2, 0.1], middle, s_max=math.inf) == pytest.approx((0.1, 2.0))  # inf allowed
    with pytest.raises(ValueError, match=r"every relative std must be a finite number >= 0"):
        fit_two_band([0.1, math.nan, 0.2, 0.1], middle)


@pytest.mark.parametrize("scale", [math.nan, math.inf, 0, -0.35, "0.35", True])
def test_scorecard_sigma_scale_must_be_finite_and_positive(scale):
    reference = load_reference(REPO / "resources/reference/paper_accuracy.csv")
    with pytest.raises(ValueError, match=r"sigma_scale \(our sigma / the paper's sigma\) must be a finite number > 0"):
        point_scorecard(reference.iloc[:0], reference, {"plain": "plain"}, scale)
    with pytest.raises(ValueError, match=r"sigma_scale"):
        to_paper_sigma("0.1", scale)


# =====================================================================================================================
# class 2: unknown keys in a device card
# =====================================================================================================================
UNKNOWN_KEY_CASES = [
    (
        "a typo of a required field (the issue's example)",
        lambda d: {**{k: v for k, v in d.items() if k != "middle_multiplier"}, "middle_multiplierr": 3},
        [
            "unknown key(s) middle_multiplierr (and missing required field(s) middle_multiplier); allowed keys: name,",
            "or any key starting with 'x_' (free-form)",
        ],
    ),
    (
        "a typo of an optional field",
        lambda d: {**{k: v for k, v in d.items() if k != "sigma_scale"}, "sigma_scal": 2.0},
        ["unknown key(s) sigma_scal; allowed keys:", "sigma_scale"],
    ),
    ("a key of its own", lambda d: {**d, "colour": "red"}, ["unknown key(s) colour; allowed keys:"]),
    ("an 'extra' mapping", lambda d: {**d, "extra": {"a": 1}}, ["unknown key(s) extra; allowed keys:"]),
    (
        "a typo in provenance",
        lambda d: {**d, "provenance": {**d["provenance"], "sorce": "x"}},
        ["provenance: unknown key(s) sorce; allowed keys: source, citation, notes, source_device, data, or any key"],
    ),
    (
        "a typo in a fitted card's fit",
        lambda d: {**d, "fit": {**FIT, "rmsee": 0.1}},
        ["fit: unknown key(s) rmsee; allowed keys: sigma_prime, s, s_at_bound"],
    ),
    (
        "a fit without all its keys",
        lambda d: {**d, "fit": {k: v for k, v in FIT.items() if k != "rmse"}},
        ["fit: missing required key(s) rmse"],
    ),
    (
        "a fitted field of the wrong type",
        lambda d: {**d, "measured_sigma": "0.05"},
        ["measured_sigma must be a finite number >= 0, got '0.05' (a str)"],
    ),
    (
        "a fitted field that is NaN",
        lambda d: {**d, "level_multipliers": [1.0, math.nan, 1.0, 1.0]},
        ["level_multipliers[1] must be a finite number >= 0, got nan"],
    ),
    ("a key that is not a string", lambda d: {**d, 3: "x"}, ["unknown key(s) 3; allowed keys:"]),
]
FIT = {
    "sigma_prime": 0.01,
    "s": 2.0,
    "s_at_bound": False,
    "rmse": 0.001,
    "r2": 0.9,
    "max_rel_error": 0.1,
    "n_levels": 4,
    "measured_rel_std": [0.01, 0.02, 0.02, 0.01],
}


@pytest.mark.parametrize("case,change,fragments", UNKNOWN_KEY_CASES, ids=[c[0] for c in UNKNOWN_KEY_CASES])
def test_card_unknown_keys_are_rejected_with_the_allowed_ones(tmp_path, case, change, fragments):
    path = card_file(tmp_path, change(preset()))
    with pytest.raises(DeviceCardError) as err:
        devices.get(str(path))
    message = str(err.value)
    assert message.startswith(f"device card {path}: "), message
    for fragment in fragments:
        assert fragment in message, f"{case}: {fragment!r} not in {message}"


PROVENANCE_CASES = [
    ("NeFT authors", "got str 'NeFT authors'"),  # the issue's example: a string, not a mapping
    (["a", "b"], "got list"),
    (None, "got an empty value"),
    (3, "got int 3"),
]


@pytest.mark.parametrize("value,got", PROVENANCE_CASES, ids=[repr(c[0]) for c in PROVENANCE_CASES])
def test_card_provenance_must_be_a_mapping(tmp_path, value, got):
    path = card_file(tmp_path, preset(provenance=value))
    with pytest.raises(DeviceCardError) as err:
        devices.get(str(path))
    assert (
        f"device card {path}: provenance must be a mapping with keys source, citation, notes, source_device, data, "
        f"or any key starting with 'x_'; {got}"
    ) in str(err.value)


@pytest.mark.parametrize(
    "provenance,fragment",
    [
        ({"citation": "x"}, "provenance: missing required key(s) source"),
        ({"source": ""}, "provenance.source must be a non-empty string, got ''"),
        ({"source": 5}, "provenance.source must be a non-empty string, got 5"),
        ({"source": "s", "citation": ["a"]}, "provenance.citation must be a string, got ['a']"),
        ({"source": "s", "data": ["a"]}, "provenance.data must be a mapping with string keys (free-form)"),
    ],
)
def test_card_provenance_fields(tmp_path, provenance, fragment):
    path = card_file(tmp_path, preset(provenance=provenance))
    with pytest.raises(DeviceCardError) as err:
        devices.get(str(path))
    assert f"device card {path}: {fragment}" in str(err.value)


def test_card_duplicate_keys_are_an_error(tmp_path):
    text = (REPO / "src/neft/core/cards/RRAM4.yaml").read_text() + "middle_multiplier: 1.0\n"
    path = card_file(tmp_path, text)
    with pytest.raises(DeviceCardError, match=r"key 'middle_multiplier' appears twice in one mapping \(line \d+\)"):
        devices.get(str(path))


def test_escape_hatch_and_fitted_cards_round_trip(tmp_path):
    """``x_`` keys anywhere in a card are kept as they are; fitted cards (neft.core.fitting) and presets (as the
    device_card rule writes them) load back equal."""
    data = preset(x_lab="my lab", x_notes={"anything": [1, 2]})
    data["provenance"] = {**data["provenance"], "x_sample": "wafer 3"}
    card = devices.get(str(card_file(tmp_path, data)))
    assert card.extra == {"x_lab": "my lab", "x_notes": {"anything": [1, 2]}}
    assert card.provenance["x_sample"] == "wafer 3"
    card.save(tmp_path / "again.yaml")
    assert devices.get(str(tmp_path / "again.yaml")) == card
    for name in devices.preset_names():
        preset_card = devices.get(name)
        preset_card.save(tmp_path / name / "card.yaml")
        assert devices.get(name, search=[tmp_path]) == preset_card
        assert devices.get(str(tmp_path / name / "card.yaml")) == preset_card
    for source in ("RRAM_Wan2022_1s", "RRAM_Wan2022_2d"):
        fitted, _ = fit_file(MEASURED, source, "MyRRAM")
        fitted.save(tmp_path / "fitted" / "card.yaml")
        assert DeviceCard.load(tmp_path / "fitted" / "card.yaml") == fitted
    with pytest.raises(DeviceCardError, match=r"unknown key\(s\) colour; allowed keys: measured_sigma"):
        DeviceCard(**{**devices.get("RRAM1").__dict__, "extra": {"colour": "red"}})


def test_check_keys_helper():
    assert check_keys({"a": 1, "x_b": 2}, "m", ["a"], free_prefix="x_") == {"a": 1, "x_b": 2}
    with pytest.raises(ValueError, match=r"m: unknown key\(s\) b; allowed keys: a$"):
        check_keys({"b": 1}, "m", ["a"])
    with pytest.raises(ValueError, match=r"m: missing required key\(s\) a"):
        check_keys({}, "m", ["a"], required=["a"])
    with pytest.raises(ValueError, match=r"m must be a mapping with keys a; got str 'x'"):
        check_keys("x", "m", ["a"])


# =====================================================================================================================
# class 6: malicious pickles
# =====================================================================================================================
class _Reduce:
    """Unpickling calls ``func(*args)``: what an attacker's checkpoint does."""

    def __init__(self, func, args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


class CustomClass:
    """An object of a class of its own (pickled as a reference to this module's class)."""


def payloads(marker: Path) -> dict[str, tuple[object, list[str]]]:
    """name -> (object whose unpickling creates ``marker``, names the refusal must give)."""
    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        "posix.system": (_Reduce(posix.system, (f"touch {marker}",)), ["posix.system"]),
        "os.system": (_Reduce(os.system, (f"touch {marker}",)), ["posix.system"]),
        "builtins.eval": (_Reduce(eval, (touch,)), ["builtins.eval"]),
        "builtins.exec": (_Reduce(exec, (touch,)), ["builtins.exec"]),
        "subprocess.Popen": (_Reduce(subprocess.Popen, (["touch", str(marker)],)), ["subprocess.Popen"]),
        "functools.partial": (_Reduce(functools.partial(open, str(marker), "w"), ()), ["functools.partial"]),
        "builtins.open": (_Reduce(open, (str(marker), "w")), ["io.open"]),
        "custom class": (CustomClass(), [f"{__name__}.CustomClass"]),
    }


PAYLOADS = list(payloads(Path("m")))
# how the payload reaches the file: torch.save (zip, and the legacy format) at several pickle protocols, a bare
# pickle (torch's legacy loader reads it), and a bare pickle put in place of a torch zip's data.pkl
FORMATS = [
    "zip-p2",
    "zip-p4",
    "legacy-p2",
    "raw-p0",
    "raw-p2",
    "raw-p4",
    "raw-p5",
    "zip-with-raw-p2",
    "zip-with-raw-p5",
]


def write_payload(path: Path, obj, fmt: str) -> Path:
    kind, proto = fmt.rsplit("-p", 1)
    proto = int(proto)
    state = {"features.0.weight": torch.zeros(2), "payload": obj}
    if kind == "zip":
        torch.save(state, path, pickle_protocol=proto)
    elif kind == "legacy":
        torch.save(state, path, pickle_protocol=proto, _use_new_zipfile_serialization=False)
    elif kind == "raw":
        path.write_bytes(pickle.dumps({"payload": obj}, protocol=proto))
    else:  # a real torch zip whose data.pkl is replaced by the attacker's bare pickle
        buffer = io.BytesIO()
        torch.save({"features.0.weight": torch.zeros(2)}, buffer)
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, zipfile.ZipFile(path, "w") as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename.endswith("/data.pkl"):
                    data = pickle.dumps({"payload": obj}, protocol=proto)
                dst.writestr(info.filename, data)
    return path


ADVICE = (
    "weights_only=False",
    "`weights_only` set to `False`",
    "Re-running",
    "add_safe_globals",
    "if you trust",
    "2.6",
)


def assert_refused(err: pytest.ExceptionInfo, path: Path, names: list[str]) -> None:
    message = str(err.value)
    assert isinstance(err.value, UnsafeCheckpointError), message
    assert str(path) in message
    assert "and was not loaded" in message
    assert any(
        f"contains a disallowed object {n} and" in message or "contains disallowed objects" in message for n in names
    ), message
    for name in names:
        assert name in message and name in err.value.objects, (name, message)
    for advice in ADVICE:
        assert advice not in message, (advice, message)
    assert err.value.__cause__ is None  # torch's own message (with its advice) is not chained either


def test_payloads_are_live(tmp_path):
    """The control: plain pickle runs every payload (so "not executed" below means something)."""
    for name, (obj, _) in payloads(tmp_path / "marker").items():
        marker = tmp_path / "marker"
        marker.unlink(missing_ok=True)
        result = pickle.loads(pickle.dumps(obj, protocol=2))
        if isinstance(result, subprocess.Popen):
            result.wait()
        assert marker.exists() or name == "custom class", name


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_malicious_pickle_is_refused_named_and_not_run(tmp_path, payload, fmt):
    marker = tmp_path / "marker"
    obj, names = payloads(marker)[payload]
    if fmt.startswith("legacy") and payload == "custom class":
        pytest.skip("covered by the other formats")
    path = write_payload(tmp_path / "evil.pt", obj, fmt)
    with pytest.raises(CheckpointError) as err:
        load_tensors(path)
    assert_refused(err, path, names)
    assert not marker.exists(), "the payload ran"


@pytest.mark.parametrize(
    "payload,named",
    [
        ("posix.system", "posix.system"),  # "Trying to load unsupported GLOBAL posix.system whose module ... blocked"
        ("builtins.eval", "eval"),  # "Unsupported global: GLOBAL eval was not an allowed global" (builtins dropped)
        ("subprocess.Popen", "subprocess.Popen"),
        ("functools.partial", "functools.partial"),
    ],
)
def test_torch_message_forms_name_the_object_when_the_scan_does_not(tmp_path, monkeypatch, payload, named):
    """If the opcode scan found nothing, the refused object is read from torch's message in each of its forms."""
    import neft.util.io

    monkeypatch.setattr(neft.util.io, "disallowed_globals", lambda path: [])
    marker = tmp_path / "marker"
    path = write_payload(tmp_path / "evil.pt", payloads(marker)[payload][0], "zip-p2")
    with pytest.raises(CheckpointError) as err:
        load_tensors(path)
    assert_refused(err, path, [named])
    assert not marker.exists()


def test_malicious_prepared_dataset_and_model_are_refused(tmp_path):
    from neft.core.data.prepare import load_prepared
    from neft.core.data.registry import get_spec
    from neft.jobs.runs import load_model

    marker = tmp_path / "marker"
    path = write_payload(tmp_path / "prepared.pt", payloads(marker)["os.system"][0], "zip-p2")
    with pytest.raises(CheckpointError, match=r"contains a disallowed object posix.system and was not loaded"):
        load_prepared(path)
    with pytest.raises(UnsafeCheckpointError, match=r"contains a disallowed object builtins.eval and was not loaded"):
        load_model(
            "vgg8", 0.0625, get_spec("mnist"), str(write_payload(tmp_path / "m.pt", _Reduce(eval, ("1",)), "legacy-p2"))
        )
    assert not marker.exists()


def test_every_torch_load_goes_through_the_safe_loader():
    """One loader for every torch file: no other torch.load in the package, the workflow or the tools."""
    offenders = []
    for folder in ("src", "workflow", "tools"):
        for path in (REPO / folder).rglob("*.py"):
            if path.relative_to(REPO).as_posix() == "src/neft/util/io.py":
                continue
            if "torch.load(" in path.read_text(encoding="utf-8"):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


CORRUPT_CASES = [
    ("empty", lambda good: b"", "truncated, corrupt or not a torch file (the file is empty)"),
    # seeded: about 1 in 37 random 4 KiB buffers starts with bytes that read as a pickle naming an object, which is
    # rightly called unsafe instead (measured over 300 seeds); os.urandom made this case fail by chance
    (
        "random bytes",
        lambda good: random.Random(0).randbytes(4096),
        "truncated, corrupt or not a torch file (UnpicklingError",
    ),
    ("zeros", lambda good: b"\0" * 64, "truncated, corrupt or not a torch file"),
    ("truncated zip", lambda good: good[:300], "truncated, corrupt or not a torch file (RuntimeError: "),
    ("text", lambda good: b"features.0.weight,1,2\n", "truncated, corrupt or not a torch file"),
]


@pytest.mark.parametrize("case,make,fragment", CORRUPT_CASES, ids=[c[0] for c in CORRUPT_CASES])
def test_really_corrupt_files_are_called_corrupt(tmp_path, case, make, fragment):
    good = io.BytesIO()
    torch.save({"w": torch.zeros(100)}, good)
    path = tmp_path / "bad.pt"
    path.write_bytes(make(good.getvalue()))
    with pytest.raises(CheckpointError) as err:
        load_tensors(path)
    message = str(err.value)
    assert not isinstance(err.value, UnsafeCheckpointError), message
    assert f"cannot load {path} safely (weights_only=True): " in message and fragment in message, message
    for advice in ADVICE:
        assert advice not in message, (advice, message)


def test_a_clean_file_in_pickle_protocol_4_is_named_as_such(tmp_path):
    path = tmp_path / "p4.pt"
    torch.save({"w": torch.zeros(3)}, path, pickle_protocol=4)
    with pytest.raises(CheckpointError, match=r"written with pickle protocol 4, which torch's restricted loader"):
        load_tensors(path)
    atomic_torch_save({"w": torch.zeros(3)}, path)  # the workflow's own writer loads back
    assert torch.equal(load_tensors(path)["w"], torch.zeros(3))


# =====================================================================================================================
# class 7: every read of a user file names the file and what was expected
# =====================================================================================================================
NON_UTF8 = "name: RRAM\xe9\n".encode("latin-1")  # a card saved as Latin-1
GARBAGE = bytes(range(256)) * 4


def bad_file(tmp_path: Path, kind: str, name: str) -> Path:
    path = tmp_path / name
    if kind == "directory":
        path.mkdir()
    elif kind == "unreadable":
        if IS_ROOT:
            pytest.skip("root reads files whatever their mode")
        path.write_text("x\n")
        path.chmod(0)
    elif kind == "non-UTF-8":
        path.write_bytes(NON_UTF8)
    elif kind == "binary garbage":
        path.write_bytes(GARBAGE)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "whitespace only":
        path.write_text("\n  \n")
    return path


FILE_KINDS = ["directory", "unreadable", "non-UTF-8", "binary garbage", "empty", "whitespace only"]
WHY = {
    "directory": "is a directory, expected a file",
    "unreadable": "permission denied",
    "non-UTF-8": "not UTF-8 text (byte 0xe9 at offset 10)",
    "binary garbage": "not UTF-8 text (byte 0x80 at offset 128)",
}


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_device_card_file(tmp_path, kind):
    path = bad_file(tmp_path, kind, "card.yaml")
    with pytest.raises(DeviceCardError) as err:
        devices.get(str(path))
    message = str(err.value)
    why = WHY.get(kind, "the file is empty; expected a YAML mapping with keys name, bits_per_weight")
    assert f"device card {path}: {why}" in message, message


@pytest.mark.parametrize(
    "text,got",
    [
        ("- RRAM1\n- 0.1\n", "expected a mapping, got list; a card is a mapping with keys name, bits_per_weight"),
        ("RRAM1\n", "expected a mapping, got str"),
        ("4.0\n", "expected a mapping, got float"),
        ("~\n", "expected a mapping, got an empty file"),
        ("name: [unclosed\n", "not valid YAML"),
        ("!!python/object/apply:os.system ['touch x']\n", "not valid YAML"),
    ],
)
def test_device_card_not_a_mapping(tmp_path, text, got):
    path = card_file(tmp_path, text)
    with pytest.raises(DeviceCardError) as err:
        devices.get(str(path))
    assert f"device card {path}: {got}" in str(err.value)


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_measured_device_csv(tmp_path, kind):
    path = bad_file(tmp_path, kind, "device.csv")
    with pytest.raises(DeviceDataError) as err:
        fit_file(path, "d", "X")
    why = WHY.get(kind, "no header and no rows (expected columns device, level")
    assert f"device data {path}: {why}" in str(err.value)


@pytest.mark.parametrize("kind", ["directory", "unreadable", "non-UTF-8", "binary garbage"])
def test_fit_table_and_reference_table(tmp_path, kind):
    path = bad_file(tmp_path, kind, "table.csv")
    with pytest.raises(DeviceDataError, match=None) as err:
        read_fit_table(path)
    assert f"fit table {path}: {WHY[kind]}" in str(err.value)
    with pytest.raises(ReferenceDataError) as err:
        load_reference(path)
    assert f"reference table {path}: {WHY[kind]}" in str(err.value)


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("", "the file is empty"),
        ("model,dataset,method,sigma\nvgg8,mnist,plain,0.1\n", "missing column(s) accuracy_pct; found model, dataset"),
        (
            "method,sigma,accuracy_pct\nplain,0.1,nan\n",
            "column accuracy_pct must hold finite numbers; bad value(s) in row(s) 1",
        ),
        ("method,sigma,accuracy_pct\nplain,0.1,inf\n", "column accuracy_pct must hold finite numbers"),
        ("method,sigma,accuracy_pct\nplain,high,90\n", "row 1, column sigma: sigma 'high' is not a number"),
        ("method,sigma,accuracy_pct\nplain,nan,90\n", "row 1, column sigma: sigma nan must lie in [0, 1]"),
    ],
)
def test_reference_table_contents(tmp_path, text, fragment):
    path = tmp_path / "paper.csv"
    path.write_text(text)
    with pytest.raises(ReferenceDataError) as err:
        load_reference(path)
    assert f"reference table {path}: {fragment}" in str(err.value)


@pytest.mark.parametrize("kind", ["directory", "unreadable", "empty"])
def test_checkpoint_file(tmp_path, kind):
    path = bad_file(tmp_path, kind, "model.pt")
    with pytest.raises(CheckpointError) as err:
        load_tensors(path)
    why = {
        "directory": "it is a directory, expected a torch file",
        "unreadable": "permission denied",
        "empty": "truncated, corrupt or not a torch file (the file is empty)",
    }[kind]
    assert str(path) in str(err.value) and why in str(err.value)


@pytest.mark.parametrize("kind", ["directory", "unreadable"])
def test_dataset_file_checksum(tmp_path, kind):
    path = bad_file(tmp_path, kind, "train-images-idx3-ubyte.gz")
    with pytest.raises(DatasetError) as err:
        md5sum(path)
    why = {"directory": "is a directory", "unreadable": "cannot read the file (Permission denied)"}[kind]
    assert f"{path}: {why}" in str(err.value)


ROOT = "tiny-imagenet-200"
TINY_CASES = [
    (
        "wnids.txt not UTF-8",
        {f"{ROOT}/wnids.txt": b"n09999999\nn0\xff\n"},
        "member tiny-imagenet-200/wnids.txt is not UTF-8 text (byte 0xff at offset 12)",
    ),
    ("wnids.txt empty", {f"{ROOT}/wnids.txt": b""}, "tiny-imagenet-200/wnids.txt is empty; expected one class id"),
    (
        "wnids.txt repeats a class",
        {f"{ROOT}/wnids.txt": b"n09999999\nn01443537\nn09999999\n"},
        "wnids.txt lists class id(s) n09999999 more than once",
    ),
    (
        "val_annotations.txt not UTF-8",
        {f"{ROOT}/val/val_annotations.txt": GARBAGE},
        "member tiny-imagenet-200/val/val_annotations.txt is not UTF-8 text",
    ),
    (
        "val_annotations.txt binary that decodes",
        {f"{ROOT}/val/val_annotations.txt": b"\x00\x01\x02\n"},
        "malformed line in val_annotations.txt",
    ),
    (
        "an image that is not an image",
        {f"{ROOT}/train/n09999999/images/n09999999_0.JPEG": GARBAGE},
        "tiny-imagenet-200/train/n09999999/images/n09999999_0.JPEG: cannot decode image",
    ),
]


@pytest.mark.parametrize("case,extra,fragment", TINY_CASES, ids=[c[0] for c in TINY_CASES])
def test_tiny_imagenet_metadata(tmp_path, case, extra, fragment):
    path = tiny_imagenet_zip(tmp_path, n_train=1, extra=extra)
    with pytest.raises(DatasetError) as err:
        parse_tiny_imagenet({"archive": path}, {"folder": ROOT})
    message = str(err.value)
    assert str(path) in message and fragment in message, message


def test_tiny_imagenet_member_with_a_bad_crc(tmp_path):
    path = tiny_imagenet_zip(tmp_path, n_train=1)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(f"{ROOT}/wnids.txt")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start] ^= 0xFF  # flip a byte of the stored data: the CRC no longer matches
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=r"member tiny-imagenet-200/wnids.txt cannot be read \(truncated or corrupt"):
        parse_tiny_imagenet({"archive": path}, {"folder": ROOT})


def test_cifar_archive_truncated_inside_a_member(tmp_path):
    from neft.core.data.registry import merged_registry

    path = write_cifar10(tmp_path, train_per_class=2, test_per_class=1)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError) as err:
        parse_cifar({"archive": path}, merged_registry()["cifar10"]["layout"])
    message = str(err.value)
    assert str(path) in message and "truncated or corrupt" in message, message


@pytest.mark.parametrize(
    "names,fragment",
    [
        ([b"ok", b"caf\xe9"], "f/meta: a class name in label_names is not UTF-8 text"),
        (7, "f/meta: label_names must be a list of class names, got int"),
    ],
)
def test_cifar_class_names(tmp_path, names, fragment):
    batch = pickle.dumps({"data": np.zeros((1, 3072), dtype=np.uint8), "labels": [0]}, protocol=2)
    meta = pickle.dumps({"label_names": names}, protocol=3)
    path = build_tar(tmp_path / "c.tar.gz", {"f/b": batch, "f/meta": meta})
    layout = {"folder": "f", "train": ["b"], "test": ["b"], "label_key": "labels", "names_file": "meta"}
    with pytest.raises(DatasetError) as err:
        parse_cifar({"archive": path}, layout)
    assert f"{path}: {fragment}" in str(err.value)


def test_read_text_helper(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfdevice,level\n")
    assert read_text(tmp_path / "bom.txt", "x") == "device,level\n"  # a byte-order mark is not content
    with pytest.raises(KeyError, match="x .*absent.txt: file not found"):
        read_text(tmp_path / "absent.txt", "x", error=KeyError)


def test_permission_denied_is_named_even_as_root(tmp_path, monkeypatch):
    """Root reads files whatever their mode, so the unreadable cases above skip there: the same path, forced."""
    path = tmp_path / "card.yaml"
    path.write_text("name: x\n")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(DeviceCardError, match=r"device card .*card.yaml: permission denied \(cannot read the file\)"):
        devices.get(str(path))
    with pytest.raises(DeviceDataError, match=r"device data .*card.yaml: permission denied"):
        read_level_stats(path)
    with pytest.raises(ReferenceDataError, match=r"reference table .*card.yaml: permission denied"):
        load_reference(path)
