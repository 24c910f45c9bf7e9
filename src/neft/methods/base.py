"""What a training method is: a loss for one batch, plus any modules that exist only during training."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import torch
from torch import nn

from neft.devices import DeviceCard
from neft.noise import NoisyForward


@dataclass
class Step:
    """Everything a method may use to compute the loss of one batch."""

    model: nn.Module
    noisy: NoisyForward
    sigma: float
    generator: torch.Generator
    aux: nn.Module | None = None
    model_name: str = ""
    dataset: str = ""

    def beta(self, value, kind: str) -> float:
        """A method's beta: a number, or ``"paper"`` for the paper's value for this (model, dataset, kind)."""
        from neft.methods.neft_loss import resolve_beta

        return resolve_beta(value, self.model_name, self.dataset, kind)


@dataclass
class Method:
    """Base of every method. Subclasses are dataclasses whose fields are the method's config parameters."""

    kind: ClassVar[str] = ""

    def build_aux(
        self, model: nn.Module, card: DeviceCard, model_name: str, num_classes: int, image_size: int
    ) -> nn.Module | None:
        """Training-only modules (e.g. IRS heads); their parameters are optimised with the model's but are never
        saved in the checkpoint, which holds the plain backbone only."""
        return None

    def loss(self, step: Step, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def describe(self, step: Step) -> str:
        """One line for the training log on what this method does to this model (empty: nothing to add)."""
        return ""

    @classmethod
    def parameter_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
