"""Non-idealities beyond programming variation (neft.core.nonideal): each check can fail on a wrong implementation."""

from dataclasses import replace

import pytest
import torch
from torch import nn

from neft.core.devices import DeviceCard, DeviceCardError, get
from neft.core.mc import ChipEvaluator, McSettings
from neft.core.models import VGG8
from neft.core.nonideal import calibrate, converters, device_digits, quantize, stuck_shift

from .test_mc import trained_like


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


def small_net(bias: bool = True) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, bias=bias), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5, bias=bias)
    ).eval()


def same(rows_a, rows_b) -> bool:
    """Chip rows equal, NaN included (a chip with no correct answer has no confidence_correct)."""
    return [repr(r) for r in rows_a] == [repr(r) for r in rows_b]


def data(n=16):
    return torch.randn(n, 1, 8, 8), torch.randint(0, 5, (n,))


def test_a_card_with_every_non_ideality_off_gives_the_same_rows_and_file():
    card = get("RRAM1")
    off = replace(card, read_noise=0.0, dac_bits=None, adc_bits=None, stuck_fraction=0.0, stuck_high=0.2)
    assert off.nonideal == {}  # stuck_high alone turns nothing on
    assert replace(off, stuck_high=0.5).to_dict() == card.to_dict()  # nothing new in the card file either
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(20, 1, 32, 32), torch.randint(0, 10, (20,))
    a = ChipEvaluator(model, card, x, y, McSettings(batch_size=10)).evaluate(0.1, 3).rows
    b = ChipEvaluator(model, off, x, y, McSettings(batch_size=10)).evaluate(0.1, 3).rows
    assert same(a, b)


def test_card_fields_are_checked_and_round_trip(tmp_path):
    card = replace(get("RRAM1"), read_noise=0.02, adc_bits=6, dac_bits=4, stuck_fraction=0.01)
    card.save(tmp_path / "c.yaml")
    back = DeviceCard.load(tmp_path / "c.yaml")
    assert back == card and back.nonideal == {"read_noise": 0.02, "dac_bits": 4, "adc_bits": 6, "stuck_fraction": 0.01}
    for field, bad in (("adc_bits", 0), ("dac_bits", 4.5), ("stuck_fraction", 1.5), ("read_noise", -0.1)):
        with pytest.raises(DeviceCardError, match=field):
            replace(card, **{field: bad})


def test_read_noise_changes_between_passes_and_not_between_reruns():
    model = small_net()
    xa, _ = data(4)
    x = torch.cat([xa, xa])  # two test batches holding the same images: two reads of one chip
    y = torch.zeros(8, dtype=torch.long)
    card = replace(get("RRAM1"), read_noise=0.05)
    ev = ChipEvaluator(model, card, x, y, McSettings(batch_size=4, fold_bn=False))
    ev.set_sigma(0.05)
    ev.load_chip(7)
    (_, first, _), (_, second, _) = list(ev.logits())
    assert not torch.equal(first, second)  # a fresh read per pass
    again = ChipEvaluator(model, card, x, y, McSettings(batch_size=4, fold_bn=False))
    again.set_sigma(0.05)
    again.load_chip(7)
    (_, first2, _), (_, second2, _) = list(again.logits())
    assert torch.equal(first, first2) and torch.equal(second, second2)  # the same chip replays its reads exactly
    # the programmed chip is what the reads scatter around: without read noise both batches agree
    quiet = ChipEvaluator(model, get("RRAM1"), x, y, McSettings(batch_size=4, fold_bn=False))
    quiet.set_sigma(0.05)
    quiet.load_chip(7)
    (_, q1, _), (_, q2, _) = list(quiet.logits())
    assert torch.equal(q1, q2)
    # read noise makes even sigma-0 chips differ from one another (no shared clean forward)
    rows = ChipEvaluator(model, card, x, y, McSettings(batch_size=4, fold_bn=False)).evaluate(0, 4).rows
    assert len({r["confidence"] for r in rows}) > 1


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 6])
def test_b_bit_converters_give_at_most_2_to_the_b_levels_per_layer(bits):
    model = small_net(bias=False)  # no bias: a layer's output is its ADC's output
    x, _ = data(64)
    layers = ["0.weight", "3.weight"]
    ranges = calibrate(model, layers, x)
    assert ranges["0"]["in_signed"] and not ranges["3"]["in_signed"]  # images are signed here, post-ReLU inputs not
    seen = {}

    def capture(name):
        def hook(mod, args, out):
            seen[name] = (args[0].detach().clone(), out.detach().clone())

        return hook

    with converters(model, ranges, bits, bits):
        handles = [model.get_submodule(n).register_forward_hook(capture(n)) for n in ("0", "3")]
        model(x)
        for h in handles:
            h.remove()
    for name, (inp, out) in seen.items():
        assert inp.unique().numel() <= 2**bits, name
        assert out.unique().numel() <= 2**bits, name
        assert out.unique().numel() > 1, name
    with converters(model, ranges, None, None):
        free = model(x)
    assert free.unique().numel() > 2**6  # without converters the outputs are not quantised


def test_quantize_saturates_and_keeps_zero():
    x = torch.linspace(-3, 3, 1001)
    q = quantize(x, 3, 2.0, signed=True)
    assert q.unique().numel() == 7 and q.max() == 2.0 and q.min() == -2.0 and (q == 0).any()
    u = quantize(x.clamp(min=0), 2, 1.0, signed=False)
    torch.testing.assert_close(u.unique(), torch.tensor([0.0, 1 / 3, 2 / 3, 1.0]))


def test_adc_with_a_bias_quantises_the_mvm_before_the_bias():
    model = small_net(bias=True)
    x, _ = data(32)
    ranges = calibrate(model, ["3.weight"], x)
    out = {}
    with converters(model, ranges, None, 2):
        h = model.get_submodule("3").register_forward_hook(lambda m, a, o: out.setdefault("y", o.detach()))
        model(x)
        h.remove()
    mvm = out["y"] - model[3].bias
    step = ranges["3"]["out"] / 1  # 2 bits, signed: levels -r, 0, r
    assert torch.allclose(mvm / step, torch.round(mvm / step), atol=1e-5)
    assert torch.round(mvm / step).unique().numel() <= 3


def test_stuck_devices_land_exactly_at_g_min_or_g_max():
    card = get("RRAM1")  # 8-bit weights over four 2-bit devices
    w = torch.randn(64, 32)
    # targets on the 8-bit grid, so the digits of the shifted weight can be read back exactly
    step = w.abs().amax() / 255
    w = torch.round(w / step) * step
    digits = device_digits(w, 8, 2)
    assert digits.shape == (4, 64, 32) and digits.max() <= 3
    g = torch.Generator().manual_seed(3)
    stuck = replace(card, stuck_fraction=0.3, stuck_high=0.5)
    moved = w + stuck_shift(w, stuck, g)
    after = device_digits(moved, 8, 2)
    changed = after != digits
    assert changed.any()
    assert set(after[changed].unique().tolist()) <= {0, 3}  # a stuck device holds g_min or g_max, nothing else
    kept = (moved.abs() > step / 2) & (w != 0)  # a zero target has no sign; it is stored as +0
    assert torch.equal(torch.sign(moved[kept]), torch.sign(w[kept]))  # the sign is not a device
    # all stuck at g_max: every weight at max|W|; all at g_min: every weight 0
    full = w + stuck_shift(w, replace(card, stuck_fraction=1.0, stuck_high=1.0), g)
    torch.testing.assert_close(full.abs(), torch.full_like(w, float(w.abs().amax())))
    empty = w + stuck_shift(w, replace(card, stuck_fraction=1.0, stuck_high=0.0), g)
    assert empty.abs().max() < 1e-6
    # a larger fraction sticks a superset of the devices (uniforms compared with the fraction)
    few = stuck_shift(w, replace(card, stuck_fraction=0.05), torch.Generator().manual_seed(9)) != 0
    many = stuck_shift(w, replace(card, stuck_fraction=0.5), torch.Generator().manual_seed(9)) != 0
    assert (few & ~many).sum() == 0 and many.sum() > few.sum()


def test_stuck_chips_are_seeded_per_chip_and_change_accuracy():
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(20, 1, 32, 32), torch.randint(0, 10, (20,))
    card = replace(get("RRAM1"), stuck_fraction=0.2)
    ev = ChipEvaluator(model, card, x, y, McSettings(fold_bn=False))
    ev.set_sigma(0)
    ev.load_chip(0)
    a = {n: p.detach().clone() for n, p in ev.live.items()}
    ev.load_chip(1)
    b = {n: p.detach().clone() for n, p in ev.live.items()}
    ev.load_chip(0)
    assert all(torch.equal(a[n], ev.live[n]) for n in a)  # replayed
    assert any(not torch.equal(a[n], b[n]) for n in a)  # another chip, other stuck devices


def test_converters_need_calibration_and_one_chip_per_pass():
    model = small_net()
    x, y = data()
    with pytest.raises(ValueError, match="calibration"):
        ChipEvaluator(model, replace(get("RRAM1"), adc_bits=4), x, y)
    with pytest.raises(ValueError, match="chips_per_pass"):
        ChipEvaluator(model, replace(get("RRAM1"), read_noise=0.1), x, y, McSettings(chips_per_pass=4))
    rows = ChipEvaluator(model, replace(get("RRAM1"), adc_bits=4, dac_bits=4), x, y, calibration=x).evaluate(0.1, 2)
    assert len(rows.rows) == 2


def test_seed_name_replays_another_cards_chips():
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(20, 1, 32, 32), torch.randint(0, 10, (20,))
    rram = ChipEvaluator(model, get("RRAM1"), x, y).evaluate(0.1, 2).rows
    renamed = replace(get("RRAM1"), name="RRAM1-later")
    same_chips = ChipEvaluator(model, renamed, x, y, seed_name="RRAM1").evaluate(0.1, 2).rows
    other = ChipEvaluator(model, renamed, x, y).evaluate(0.1, 2).rows
    assert same(same_chips, rram) and not same(other, rram)
