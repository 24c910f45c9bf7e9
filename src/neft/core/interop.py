"""IBM's aihwkit-lightning beside this workflow: the same weight noise, our models converted for its hardware-aware
training, and any trained checkpoint exported into it.

aihwkit-lightning (``pip install -e '.[aihwkit]'``; the lock file pins it) is imported here and nowhere else but in
the ``aihwkit_hwa`` method, and only when one of them is used, so the rest of the package works without it.

Where the two noise models coincide (docs/methods.md, "aihwkit-lightning"): its ``ADD_NORMAL`` weight noise adds
``std_dev * max|W| * N(0, 1)`` to every weight of a layer, a fresh draw per forward pass in training mode. Ours, for
a card with every level equally noisy (s = 1), adds ``c * sigma' * max|W| * N(0, 1)``. With
``std_dev = c * sigma'`` (:func:`std_dev`) the two are the same distribution; cards with noisier middle levels
(s > 1) have no aihwkit-lightning counterpart and are refused.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

from neft.core import devices
from neft.core.checkpoints import load_model
from neft.core.devices import DeviceCard
from neft.core.models import MODELS
from neft.util.checks import finite_number
from neft.util.io import CheckpointError

REQUIREMENT = "aihwkit-lightning==2.1.0"
#: what max|W| is taken over: the whole weight tensor (our device model) or each output channel (row)
NOISE_SCOPES = ("per_tensor", "per_channel")


class InteropError(RuntimeError):
    """aihwkit-lightning is missing, or cannot represent what was asked of it."""


def lightning() -> SimpleNamespace:
    """The parts of aihwkit-lightning this module uses (imported on first use)."""
    try:
        # its layer modules print a line when Triton is absent (always, on a CPU): not our job log's business
        with contextlib.redirect_stdout(io.StringIO()):
            from aihwkit_lightning.nn import AnalogLayerBase
            from aihwkit_lightning.nn.conversion import convert_to_analog
            from aihwkit_lightning.optim import AnalogOptimizer
            from aihwkit_lightning.simulator.configs import (
                TorchInferenceRPUConfig,
                WeightClipType,
                WeightNoiseInjectionType,
            )
    except ImportError as err:
        raise InteropError(
            f"this needs {REQUIREMENT} (IBM's hardware-aware training kit), which is not installed ({err}); "
            "install the lock file (requirements/lock.txt) or pip install -e '.[aihwkit]'"
        ) from None
    return SimpleNamespace(
        AnalogLayerBase=AnalogLayerBase,
        AnalogOptimizer=AnalogOptimizer,
        TorchInferenceRPUConfig=TorchInferenceRPUConfig,
        WeightClipType=WeightClipType,
        WeightNoiseInjectionType=WeightNoiseInjectionType,
        convert_to_analog=convert_to_analog,
    )


def available() -> bool:
    try:
        lightning()
    except InteropError:
        return False
    return True


def std_dev(card: DeviceCard, sigma: float) -> float:
    """aihwkit-lightning's ``modifier.std_dev`` (relative to max|W|) that is ``card`` at ``sigma``: c * sigma'."""
    if card.middle_multiplier != 1.0:
        raise InteropError(
            f"device card {card.name!r} makes its middle conductance levels {card.middle_multiplier:g}x noisier "
            f"(s = {card.middle_multiplier:g}); aihwkit-lightning's weight noise has one std per tensor or per "
            "channel and cannot express that: use a card with middle_multiplier 1 (RRAM1, or a card's .uniform())"
        )
    return card.c * card.effective_sigma(sigma)


def rpu_config(
    card: DeviceCard,
    sigma: float,
    *,
    noise: str = "per_tensor",
    clip_sigma: float = 0.0,
    input_range: bool = False,
    dac_bits: int = 0,
    adc_bits: int = 0,
    adc_bound: float = 10.0,
):
    """A ``TorchInferenceRPUConfig`` whose weight noise is ``card`` at ``sigma``.

    The extras are aihwkit-lightning's own, off by default: ``clip_sigma`` clips every weight at that many stds of
    its layer after each optimiser step (``WeightClipType.LAYER_GAUSSIAN``); ``input_range`` learns a clipping range
    for each layer's inputs; ``dac_bits`` / ``adc_bits`` quantise the inputs / outputs of every MVM to ``2^b - 2``
    steps (both need ``input_range``; the ADC's range is ``adc_bound`` x input range x max|W|)."""
    lib = lightning()
    check_options(
        noise=noise,
        clip_sigma=clip_sigma,
        input_range=input_range,
        dac_bits=dac_bits,
        adc_bits=adc_bits,
        adc_bound=adc_bound,
    )
    cfg = lib.TorchInferenceRPUConfig()
    kind = lib.WeightNoiseInjectionType
    cfg.modifier.noise_type = kind.ADD_NORMAL if noise == "per_tensor" else kind.ADD_NORMAL_PER_CHANNEL
    cfg.modifier.std_dev = std_dev(card, sigma)
    if clip_sigma:
        cfg.clip.type = lib.WeightClipType.LAYER_GAUSSIAN
        cfg.clip.sigma = float(clip_sigma)
    if input_range:
        cfg.pre_post.input_range.enable = True
    if dac_bits:
        cfg.forward.inp_res = float(2**dac_bits - 2)
    if adc_bits:
        cfg.forward.out_res = float(2**adc_bits - 2)
        cfg.forward.out_bound = float(adc_bound)
    return cfg


def check_options(*, noise, clip_sigma, input_range, dac_bits, adc_bits, adc_bound) -> None:
    """The option rules, checked without aihwkit-lightning (the config check runs them before any job)."""
    if noise not in NOISE_SCOPES:
        raise ValueError(f"noise is {noise!r}; allowed: {', '.join(NOISE_SCOPES)}")
    finite_number(clip_sigma, "clip_sigma", minimum=0)
    if not isinstance(input_range, bool):
        raise ValueError(f"input_range must be true or false, got {input_range!r}")
    for name, bits in (("dac_bits", dac_bits), ("adc_bits", adc_bits)):
        finite_number(bits, name, integer=True, minimum=0, maximum=16)
        if bits == 1:
            raise ValueError(f"{name} is 1; aihwkit-lightning quantises to 2^b - 2 steps, so b is 0 (off) or >= 2")
        if bits and not input_range:
            raise ValueError(f"{name} needs input_range: true (aihwkit-lightning quantises relative to it)")
    finite_number(adc_bound, "adc_bound", above=0)


def analog_twin(model: nn.Module, cfg) -> nn.Module:
    """``model`` converted by aihwkit-lightning's ``convert_to_analog``, its parameters and buffers *the same tensors*
    as ``model``'s: training the twin trains ``model``, whose plain state_dict stays the checkpoint. Layers the
    conversion adds (a learned input range, for example) belong to the twin alone."""
    lib = lightning()
    twin = lib.convert_to_analog(model, cfg)
    plain = dict(model.named_modules())
    for name, module in twin.named_modules():
        source = plain.get(name)
        if source is None:
            continue
        for key, value in source._parameters.items():
            if key in module._parameters:
                module._parameters[key] = value
        for key, value in source._buffers.items():
            if key in module._buffers:
                module._buffers[key] = value
    ours = dict(model.named_parameters())
    lost = [n for n, p in twin.named_parameters() if n in ours and p is not ours[n]]
    if lost:
        raise InteropError(f"the analog model does not share these parameters with ours: {', '.join(lost)}")
    return twin


def optimizer(twin: nn.Module, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam wrapped in aihwkit-lightning's ``AnalogOptimizer`` (it clips the analog weights after each step)."""
    return lightning().AnalogOptimizer(torch.optim.Adam, twin.analog_layers, params, lr=lr, weight_decay=weight_decay)


# -- export ----------------------------------------------------------------------------------------------------------
def _plain_model(source, model: str | None, dataset: str | None, width: float | None, registry: dict | None):
    """Our model from an ``nn.Module`` (copied) or a checkpoint (built from its metadata, ``neft.core.checkpoints``; an
    old checkpoint without metadata: from its results path or the arguments, its width from its first convolution)."""
    if isinstance(source, nn.Module):
        import copy

        return copy.deepcopy(source)

    path = Path(source)
    try:
        net, meta = load_model(path, registry, model=model, dataset=dataset, width=width)
    except CheckpointError as err:
        if "unknown model" in str(err):
            raise InteropError(str(err)) from None
        if "does not name" not in str(err):
            raise
        raise InteropError(
            f"{path}: a checkpoint without metadata, not under results/models/<model>/<dataset>/...; pass model= and "
            f"dataset= (models: {', '.join(sorted(MODELS))})"
        ) from None
    return net


def to_aihwkit_lightning(
    source: nn.Module | str | Path,
    card: DeviceCard | str,
    sigma: float,
    *,
    model: str | None = None,
    dataset: str | None = None,
    width: float | None = None,
    registry: dict | None = None,
    **options,
) -> nn.Module:
    """An aihwkit-lightning model (``AnalogWrapper``) carrying ``source``'s trained weights, its weight noise set to
    ``card`` at ``sigma``; ``options`` are :func:`rpu_config`'s extras.

    ``source`` is one of our models or a checkpoint this workflow wrote (its model, dataset and width are read from
    its metadata, ``neft.core.checkpoints``; an old checkpoint without metadata under
    ``results/models/vgg8/mnist/ovf/RRAM1/sigma~0.14/seed~0/model.pt`` from that path and its weights, elsewhere
    from ``model=``, ``dataset=`` and ``width=``). The result is in eval mode, where aihwkit-lightning adds no
    noise: its clean forward is ours. From here, aihwkit-lightning's ``aihwkit_lightning.nn.export.export_to_aihwkit``
    hands it to the compiled aihwkit."""

    card = devices.get(card) if isinstance(card, str) else card
    finite_number(sigma, "sigma", minimum=0)
    net = _plain_model(source, model, dataset, width, registry)
    net = net.to(memory_format=torch.contiguous_format)  # its convolutions view each weight as a matrix
    analog = lightning().convert_to_analog(net, rpu_config(card, sigma, **options))
    return analog.eval()
