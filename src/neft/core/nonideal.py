"""Non-idealities beyond programming variation: stuck devices, read noise, DAC/ADC quantisation.

Each is a field of the device card (``neft.core.devices.NONIDEAL_DEFAULTS``, all off by default) and is applied by
``neft.core.mc.ChipEvaluator`` around a plain model: stuck devices change the programmed weights of a chip, read noise
redraws the weights of every forward pass, and the converters are forward hooks on the CIM layers. No model code
changes, and a card with every field off takes exactly today's code path (byte-identical rows).

Conventions (docs/methods.md, "Non-idealities"):

- **stuck devices**: a weight is stored as a sign and a magnitude code q = round(|w| / max|W| * (2^M - 1)) split
  over M / K devices of K bits (the card's bits_per_weight M and bits_per_device K), device i holding the digit
  d_i = (q >> iK) mod 2^K (level 0 is g_min, level 2^K - 1 is g_max). Per chip, each device is stuck with
  probability ``stuck_fraction``, at g_max with probability ``stuck_high``, else at g_min; its digit is replaced and
  the weight moves by sign(w) * (d'_i - d_i) * 2^(iK) * max|W| / (2^M - 1), on top of its programming error. The
  draws are uniforms compared with the fractions, seeded per chip and layer (not per sigma), so a larger fraction
  sticks a superset of the same devices. The sign is not subject to faults.
- **read noise**: every forward pass (one test batch) reads w_read = w_prog + read_noise * |w_prog| * xi, xi ~ N(0,
  1) fresh per pass, seeded from the chip seed and the pass index: a chip's reads differ between passes and are the
  same when the chip is replayed.
- **DAC / ADC**: the input of every CIM layer (DAC) and its MVM output before the bias (ADC) are quantised to b bits
  over a per-layer range fixed by abs-max calibration: the largest magnitude seen on ``CALIBRATION_IMAGES`` training
  images through the clean (noise-free) model. A range whose calibration values are all >= 0 is unsigned (2^b
  levels on [0, r]), otherwise signed (2^b - 1 levels on [-r, r], 0 included; 1 bit: {-r, +r}); values beyond the
  range saturate.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from neft.util.seeding import derive_seed

#: Training images the converter ranges are calibrated on (the first ones of the training split).
CALIBRATION_IMAGES = 256


# -- stuck devices ----------------------------------------------------------------------------------------------
def device_digits(weight: torch.Tensor, bits_per_weight: int, bits_per_device: int) -> torch.Tensor:
    """The device levels of every weight: an int64 tensor ``(M / K, *weight.shape)``, least significant first."""
    codes = magnitude_codes(weight, bits_per_weight)
    n, levels = bits_per_weight // bits_per_device, 2**bits_per_device
    return torch.stack([(codes >> (i * bits_per_device)) & (levels - 1) for i in range(n)])


def magnitude_codes(weight: torch.Tensor, bits_per_weight: int) -> torch.Tensor:
    w = weight.detach().abs().double()
    wmax = w.amax()
    if wmax == 0:
        return torch.zeros(weight.shape, dtype=torch.int64, device=weight.device)
    return torch.round(w / wmax * (2**bits_per_weight - 1)).to(torch.int64)


def stuck_shift(weight: torch.Tensor, card, generator: torch.Generator) -> torch.Tensor:
    """How far one chip's stuck devices move each weight (same shape and dtype as ``weight``; zero where no device
    of the weight is stuck). ``weight`` is the target (clean) weight, as the card's noise is relative to it."""
    m, k = card.bits_per_weight, card.bits_per_device
    digits = device_digits(weight, m, k)
    u = torch.rand(digits.shape, generator=generator, device=weight.device, dtype=torch.float64)
    v = torch.rand(digits.shape, generator=generator, device=weight.device, dtype=torch.float64)
    stuck = u < card.stuck_fraction
    level = torch.where(v < card.stuck_high, 2**k - 1, 0)
    place = (2 ** (k * torch.arange(digits.shape[0], device=weight.device))).view(-1, *([1] * weight.dim()))
    shift_codes = (torch.where(stuck, level - digits, 0) * place).sum(0)
    sign = torch.where(weight.detach() < 0, -1.0, 1.0).double()
    step = weight.detach().abs().amax().double() / (2**m - 1)
    return (sign * shift_codes * step).to(weight.dtype)


def stuck_seed(base_seed: int, device_name: str, chip: int, layer: str) -> int:
    return derive_seed("stuck", base_seed, device_name, chip, layer)


# -- read noise -------------------------------------------------------------------------------------------------
def read_seed(base_seed: int, device_name: str, sigma: str, chip: int, layer: str, read: int) -> int:
    return derive_seed("read", base_seed, device_name, sigma, chip, layer, read)


# -- converters -------------------------------------------------------------------------------------------------
def quantize(x: torch.Tensor, bits: int, bound: float, signed: bool) -> torch.Tensor:
    """Uniform quantisation of ``x`` to ``bits`` over [0, bound] (unsigned) or [-bound, bound] (signed), saturating."""
    if bound <= 0:
        return torch.zeros_like(x)
    if not signed:
        top = 2**bits - 1
        step = bound / top
        return torch.clamp(torch.round(x / step), 0, top) * step
    if bits == 1:
        return torch.where(x < 0, -bound, bound).to(x.dtype)
    top = 2 ** (bits - 1) - 1
    step = bound / top
    return torch.clamp(torch.round(x / step), -top, top) * step


def _module_of(layer: str) -> str:
    return layer.rsplit(".", 1)[0]


def _bias_view(module: nn.Module, out: torch.Tensor) -> torch.Tensor | None:
    bias = getattr(module, "bias", None)
    if bias is None:
        return None
    return bias.view(1, -1, *([1] * (out.dim() - 2))) if out.dim() > 2 else bias


@torch.no_grad()
def calibrate(model: nn.Module, layers: list[str], x: torch.Tensor, batch_size: int = 256) -> dict[str, dict]:
    """Per CIM layer: the abs-max of its input and of its MVM output (output minus bias) on ``x``, and whether the
    input was ever negative (then its DAC range is signed). The model runs as it is (the caller's clean weights)."""
    ranges = {_module_of(n): {"in": 0.0, "in_signed": False, "out": 0.0} for n in layers}
    handles = []
    for name in ranges:
        module = model.get_submodule(name)

        def hook(mod, args, out, name=name):
            r = ranges[name]
            inp = args[0]
            r["in"] = max(r["in"], float(inp.abs().amax()))
            r["in_signed"] = r["in_signed"] or bool((inp < 0).any())
            b = _bias_view(mod, out)
            mvm = out - b if b is not None else out
            r["out"] = max(r["out"], float(mvm.abs().amax()))

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                model(x[start : start + batch_size])
    finally:
        for h in handles:
            h.remove()
    return ranges


@contextmanager
def converters(model: nn.Module, ranges: dict[str, dict], dac_bits: int | None, adc_bits: int | None):
    """DAC (input) and ADC (MVM output, before the bias) quantisation on every calibrated layer, while inside."""
    handles = []
    for name, r in ranges.items():
        module = model.get_submodule(name)
        if dac_bits is not None:

            def pre(mod, args, r=r):
                return (quantize(args[0], dac_bits, r["in"], r["in_signed"]), *args[1:])

            handles.append(module.register_forward_pre_hook(pre))
        if adc_bits is not None:

            def post(mod, args, out, r=r):
                b = _bias_view(mod, out)
                if b is None:
                    return quantize(out, adc_bits, r["out"], True)
                return quantize(out - b, adc_bits, r["out"], True) + b

            handles.append(module.register_forward_hook(post))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
