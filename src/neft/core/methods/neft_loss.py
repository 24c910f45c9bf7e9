"""The negative-feedback loss shared by NeFT's two instances (paper section 3).

    z    = out - beta * sum_{n=1..N} gamma_n * out_n,   gamma_n = 10^-(n-1)
    loss = CrossEntropy(z / (N + 1), y)

The division by N + 1 acts like a softmax temperature on its own, which is why the ablation methods separate it
from the feedback term (beta = 0 keeps the passes and the temperature, drops the feedback).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from neft.util.checks import finite_number

#: beta per (model, dataset, kind), paper section 3; used where a method's ``beta`` is ``"paper"``.
PAPER_BETA: dict[tuple[str, str, str], float] = {
    ("vgg8", "mnist", "ovf"): 1e-3,
    ("vgg8", "mnist", "irs"): 1e-2,
    ("vgg8", "cifar10", "ovf"): 1e-3,
    ("vgg8", "cifar10", "irs"): 1e-1,
    ("resnet18", "mnist", "ovf"): 1e-4,
    ("resnet18", "mnist", "irs"): 1e-1,
    ("resnet18", "cifar10", "ovf"): 1e-1,
    ("resnet18", "cifar10", "irs"): 1e-3,
    ("resnet18", "cifar100", "ovf"): 1e-1,
    ("resnet18", "cifar100", "irs"): 1e-3,
    ("resnet18", "tiny_imagenet", "ovf"): 1e-2,
    ("resnet18", "tiny_imagenet", "irs"): 1e-2,
}


def gammas(n: int) -> list[float]:
    return [10.0**-i for i in range(n)]


def feedback_logits(out: torch.Tensor, feedback: Sequence[torch.Tensor], beta: float) -> torch.Tensor:
    """z = out - beta * sum_n gamma_n out_n (the feedback outputs keep their gradients)."""
    z = out
    for g, o in zip(gammas(len(feedback)), feedback, strict=True):
        z = z - (beta * g) * o
    return z


def neft_loss(
    out: torch.Tensor, feedback: Sequence[torch.Tensor], y: torch.Tensor, beta: float, temperature: float | None = None
) -> torch.Tensor:
    t = len(feedback) + 1 if temperature is None else temperature
    return F.cross_entropy(feedback_logits(out, feedback, beta) / t, y)


def check_beta(beta, kind: str) -> None:
    """beta is ``"paper"`` or a finite non-negative number (a bool, a list or NaN is a config mistake, not a beta)."""
    if isinstance(beta, str) and beta == "paper":
        return
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
        raise ValueError(f"{kind} beta is {beta!r}; allowed: 'paper' or a number >= 0")
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"{kind} beta is {beta!r}; allowed: 'paper' or a number >= 0 (finite: not NaN or infinity)")


def check_temperature(temperature, kind: str, optional: bool = True) -> None:
    """A softmax temperature: a finite number > 0 (``None`` where the method has a default: N + 1)."""
    if temperature is None and optional:
        return
    finite_number(temperature, f"{kind} temperature" + (" (or null for N + 1)" if optional else ""), above=0)


def resolve_beta(beta, model: str, dataset: str, kind: str) -> float:
    """A number, or ``"paper"`` for the paper's value for this (model, dataset, kind)."""
    if beta == "paper":
        try:
            return PAPER_BETA[(model, dataset, kind)]
        except KeyError:
            raise ValueError(
                f"the paper gives no beta for {kind} on {model}/{dataset}; set methods.<name>.params.beta to a number"
            ) from None
    check_beta(beta, kind)
    return float(beta)
