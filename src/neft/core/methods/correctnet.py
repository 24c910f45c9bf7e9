"""CorrectNet's regulariser (Eldebiky et al. 2022) as the paper uses it: noise-injection training plus
``lam * sum over Conv/Linear of ||V^T V - I||_F^2`` with V = W.view(-1, W.size(-2), W.size(-1))."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from neft.core.methods.base import Method, Step
from neft.core.methods.registry import register
from neft.util.checks import finite_number


def orthogonality_penalty(weight: torch.Tensor) -> torch.Tensor:
    """sum over slices of ||V^T V - I||_F^2, computed on the smaller Gram matrix.

    ||V^T V - I||^2 = ||V^T V||^2 - 2 ||V||^2 + n (n = columns), and ||V^T V||_F = ||V V^T||_F, so the cost is
    min(rows, cols)^2 * max(rows, cols) per slice: exact, and affordable for VGG-8's 1024 x 8192 layer.
    """
    v = weight.reshape(-1, weight.shape[-2], weight.shape[-1])
    rows, cols = v.shape[-2], v.shape[-1]
    gram = v @ v.transpose(-1, -2) if rows <= cols else v.transpose(-1, -2) @ v
    return (gram.square().sum((-1, -2)) - 2 * v.square().sum((-1, -2)) + cols).sum()


@register
@dataclass
class CorrectNet(Method):
    kind = "correctnet"
    lam: float = 5e-4

    def __post_init__(self) -> None:
        finite_number(self.lam, f"{self.kind} lam", minimum=0)

    def loss(self, step: Step, x, y):
        ce = F.cross_entropy(step.noisy(x, step.sigma, step.generator), y)
        penalty = sum(orthogonality_penalty(w) for w in step.noisy.weights())
        return ce + self.lam * penalty
