import math

import pytest
import torch

from neft.core import devices
from neft.core.devices import DeviceCard, DeviceCardError, device_constant


def test_constant_matches_closed_form():
    assert device_constant(8, 2) == pytest.approx(math.sqrt(4369) / 85, abs=1e-15)
    assert devices.get("RRAM1").c == pytest.approx(0.777628, abs=1e-6)


@pytest.mark.parametrize("bits", [(8, 2), (8, 4), (6, 2)])
def test_constant_equals_direct_simulation_of_devices(bits):
    """Split each weight over M/K devices of K bits; each device errs by N(0, (sigma * range)^2); the weighted
    sum of the errors, relative to the weight's full range, has std c * sigma."""
    m, k = bits
    n_dev, sigma = m // k, 0.1
    g = torch.Generator().manual_seed(0)
    level_range = 2**k - 1
    errors = torch.randn(400_000, n_dev, generator=g, dtype=torch.float64) * sigma * level_range
    place = torch.tensor([2.0 ** (i * k) for i in range(n_dev)], dtype=torch.float64)
    weight_error = (errors * place).sum(1) / (2**m - 1)
    assert (weight_error.std() / sigma).item() == pytest.approx(device_constant(m, k), rel=5e-3)


@pytest.mark.parametrize("name,s", [("RRAM1", 1), ("FeFET2", 2), ("RRAM4", 4), ("FeFET6", 6)])
def test_per_band_std_matches_closed_form(name, s):
    card = devices.get(name)
    assert card.middle_multiplier == s
    g = torch.Generator().manual_seed(1)
    w = torch.linspace(-1, 1, 4001)  # max|W| = 1, so |w| / max = |w|
    sigma = 0.2
    draws = torch.stack([card.perturb(w, sigma, g) - w for _ in range(600)])
    std0 = card.c * sigma / math.sqrt(0.4 * s * s + 0.6)
    middle = (w.abs() > 0.25) & (w.abs() < 0.75)
    assert draws[:, middle].std().item() == pytest.approx(s * std0, rel=0.01)
    assert draws[:, ~middle].std().item() == pytest.approx(std0, rel=0.01)
    assert draws.mean().abs().item() < 0.01 * std0 * s


def test_band_edges_are_strict_and_scale_with_max():
    card = devices.get("RRAM4")
    w = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, -2.0])  # ratios 0, .25, .5, .75, 1, 1
    scale = card.noise_scale(w, 0.1)
    base = card.c * card.effective_sigma(0.1) * 2.0
    expected = torch.tensor([1, 1, 4, 1, 1, 1]) * base
    torch.testing.assert_close(scale, expected.float())


def test_sigma_zero_returns_weights_unchanged():
    w = torch.randn(16, 8, 3, 3)
    out = devices.get("FeFET6").perturb(w, 0.0)
    assert torch.equal(out, w) and out is not w


def test_noise_carries_no_gradient():
    card = devices.get("RRAM4")
    w = torch.randn(32, 16, requires_grad=True)
    upstream = torch.randn(32, 16)
    (grad,) = torch.autograd.grad(card.perturb(w, 0.3), w, upstream)
    torch.testing.assert_close(grad, upstream)


def test_generator_makes_draws_reproducible():
    card = devices.get("RRAM1")
    w = torch.randn(100)
    a = card.perturb(w, 0.1, torch.Generator().manual_seed(5))
    b = card.perturb(w, 0.1, torch.Generator().manual_seed(5))
    c = card.perturb(w, 0.1, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_negative_sigma_is_rejected():
    with pytest.raises(ValueError, match="sigma"):
        devices.get("RRAM1").perturb(torch.ones(3), -0.1)


def test_lookup_is_case_insensitive_and_unknown_names_list_presets():
    assert devices.get("rram4").name == "RRAM4"
    with pytest.raises(DeviceCardError, match="FeFET2, FeFET6, RRAM1, RRAM4"):
        devices.get("PCM9")


def test_card_round_trip_and_provenance(tmp_path):
    card = devices.get("FeFET2")
    assert "NeFT" in card.provenance["citation"]
    card.save(tmp_path / "c.yaml")
    again = devices.get(str(tmp_path / "c.yaml"))
    assert again == card


def test_card_missing_fields_are_named(tmp_path):
    data = devices.get("RRAM1").to_dict()
    del data["middle_multiplier"], data["provenance"]
    with pytest.raises(DeviceCardError, match="middle_multiplier, provenance"):
        DeviceCard.from_dict(data, source="bad.yaml")


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("middle_band", [0.8, 0.2], "middle_band"),
        ("middle_fraction", 1.5, "middle_fraction"),
        ("bits_per_weight", 7, "multiple"),
        ("middle_multiplier", "abc", "middle_multiplier must be a finite number > 0, got .abc. \\(a str\\)"),
    ],
)
def test_card_bad_values_are_rejected(field, value, match):
    data = devices.get("RRAM1").to_dict() | {field: value}
    with pytest.raises(DeviceCardError, match=match):
        DeviceCard.from_dict(data)


def test_search_folders_find_fitted_cards(tmp_path):
    data = devices.get("RRAM1").to_dict() | {"name": "MyRRAM"}
    (tmp_path / "MyRRAM").mkdir()
    DeviceCard.from_dict(data).save(tmp_path / "MyRRAM" / "card.yaml")
    assert devices.get("MyRRAM", search=[tmp_path]).name == "MyRRAM"


@pytest.mark.parametrize(
    "text,fragment",
    [
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
            "refused at line 1: expands to more than 100000 values",
        ),
        ("name: &n [1, *n]\n", "refused at line 1: an alias refers to the list or mapping that contains it"),
        (
            "name:\n" + "".join("  " * i + "k:\n" for i in range(1, 600)) + "  " * 600 + "1\n",
            "refused at line 100: nested deeper than 100 levels",
        ),
        ("name: " + "[" * 600 + "]" * 600 + "\n", "refused at line 1: nested deeper than 100 levels"),
    ],
    ids=["alias bomb", "cycle", "600 deep block", "600 deep flow"],
)
def test_a_hostile_card_is_refused_naming_the_file(tmp_path, text, fragment):
    """Issue 26, classes 5 and 7 for cards: a RecursionError (thousands of lines) or a hang before; now one line."""
    path = tmp_path / "card.yaml"
    path.write_text(text)
    with pytest.raises(devices.DeviceCardError) as err:
        devices.DeviceCard.load(path)
    assert str(err.value).startswith(f"device card {path}: ") and fragment in str(err.value), str(err.value)
