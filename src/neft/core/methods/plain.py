"""W/O Noise: ordinary training on clean weights (evaluated on every sigma of the grid)."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from neft.core.methods.base import Method, Step
from neft.core.methods.neft_loss import check_temperature
from neft.core.methods.registry import register


@register
@dataclass
class Plain(Method):
    kind = "plain"
    temperature: float = 1.0

    def __post_init__(self) -> None:
        check_temperature(self.temperature, self.kind, optional=False)

    def loss(self, step: Step, x, y):
        return F.cross_entropy(step.model(x) / self.temperature, y)
