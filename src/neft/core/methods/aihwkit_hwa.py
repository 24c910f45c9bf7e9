"""W/ Noise as IBM's aihwkit-lightning does it: the model converted with its ``convert_to_analog``, trained with its
``AnalogOptimizer`` (Adam inside), its ``ADD_NORMAL`` weight noise set to the device card (``neft.core.interop``).

The converted model is a twin that shares every tensor with ours, so the checkpoint is our plain state_dict and the
Monte-Carlo path evaluates it like any other method's. aihwkit-lightning draws its noise from torch's global
generator; each step seeds that generator from the training's own noise generator inside ``fork_rng``, so a
training is reproducible and resumable, and the global generator is left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from neft.core import interop
from neft.core.methods.base import Method, Step
from neft.core.methods.registry import register


@register
@dataclass
class AihwkitHWA(Method):
    kind = "aihwkit_hwa"
    channels_last = False
    #: max|W| over the whole tensor (our device model) or per output channel
    noise: str = "per_tensor"
    #: aihwkit-lightning's extras, all off by default (neft.core.interop.rpu_config)
    clip_sigma: float = 0.0
    input_range: bool = False
    dac_bits: int = 0
    adc_bits: int = 0
    adc_bound: float = 10.0

    def __post_init__(self) -> None:
        interop.check_options(**self._options())

    def _options(self) -> dict:
        return {
            "noise": self.noise,
            "clip_sigma": self.clip_sigma,
            "input_range": self.input_range,
            "dac_bits": self.dac_bits,
            "adc_bits": self.adc_bits,
            "adc_bound": self.adc_bound,
        }

    def build_aux(self, model, card, model_name, num_classes, image_size, sigma=0.0):
        return interop.analog_twin(model, interop.rpu_config(card, sigma, **self._options()))

    def optimizer(self, params, lr, weight_decay, aux):
        return interop.optimizer(aux, params, lr, weight_decay)

    def describe(self, step: Step) -> str:
        layer = next(step.aux.analog_layers())
        n = sum(1 for _ in step.aux.analog_layers())
        mod = layer.rpu_config.modifier
        return f"aihwkit-lightning: {n} analog layers, {mod.noise_type.name} std_dev {mod.std_dev:.6g} (c * sigma')"

    def loss(self, step: Step, x, y):
        g = step.generator
        seed = int(torch.randint(0, 2**62, (1,), generator=g, device=g.device))
        with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
            torch.manual_seed(seed)
            logits = step.aux(x)
        return F.cross_entropy(logits, y)
