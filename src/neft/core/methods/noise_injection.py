"""W/ Noise: fresh device noise on every CIM weight at every forward pass, cross-entropy on the noisy output.

``temperature`` divides the logits before the loss; ``temperature = N + 1`` is the NeFT temperature alone (the
ablation control that separates NeFT's division by N + 1 from its feedback term).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from neft.core.methods.base import Method, Step
from neft.core.methods.neft_loss import check_temperature
from neft.core.methods.registry import register


@register
@dataclass
class NoiseInjection(Method):
    kind = "noise_injection"
    temperature: float = 1.0

    def __post_init__(self) -> None:
        check_temperature(self.temperature, self.kind, optional=False)

    def loss(self, step: Step, x, y):
        return F.cross_entropy(step.noisy(x, step.sigma, step.generator) / self.temperature, y)
