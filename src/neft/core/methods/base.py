"""What a training method is: a loss for one batch, plus any modules that exist only during training."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import torch
from torch import nn

from neft.core.devices import DeviceCard
from neft.core.methods.neft_loss import resolve_beta
from neft.core.noise import NoisyForward


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

        return resolve_beta(value, self.model_name, self.dataset, kind)


@dataclass
class Method:
    """Base of every method. Subclasses are dataclasses whose fields are the method's config parameters."""

    kind: ClassVar[str] = ""
    #: train in channels_last (our convolutions' fast layout); aihwkit-lightning's layers view weights as matrices
    channels_last: ClassVar[bool] = True

    def build_aux(
        self,
        model: nn.Module,
        card: DeviceCard,
        model_name: str,
        num_classes: int,
        image_size: int,
        sigma: float = 0.0,
    ) -> nn.Module | None:
        """Training-only modules (e.g. IRS heads, an aihwkit-lightning twin of the model); their parameters are
        optimised with the model's but are never saved in the checkpoint, which holds the plain backbone only."""
        return None

    def optimizer(
        self, params: list[nn.Parameter], lr: float, weight_decay: float, aux: nn.Module | None
    ) -> torch.optim.Optimizer:
        """Adam for every method (the paper's optimiser); a method may wrap it."""
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    def loss(self, step: Step, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def describe(self, step: Step) -> str:
        """One line for the training log on what this method does to this model (empty: nothing to add)."""
        return ""

    @classmethod
    def parameter_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
