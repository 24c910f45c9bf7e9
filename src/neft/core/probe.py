"""A worst-case probe beyond sampling: search the noise space for a bad chip that the device model still calls typical.

Sampling 30 or 100 chips says little about the 0.1 % tail a fab cares about. A chip is its standardised noise vector
eps ~ N(0, I) (one entry per CIM weight, ``neft.core.mc``: noisy weight = w + scale * eps), so its Mahalanobis norm is
||eps||, and ||eps||^2 follows a chi-square law with d = number of weights degrees of freedom. The probe starts from
the worst sampled chip's eps and takes projected gradient-ascent steps on the test cross-entropy, each step of
length ``step`` * sqrt(d) along the normalised gradient, then projects eps back onto the ball of radius
R = sqrt(chi2.ppf(radius_quantile, d)): the found chip's norm is no larger than that of a ``radius_quantile`` share
of sampled chips. It reports the lowest accuracy met, its norm (as a chi-square quantile) and how far it lies below
the sampled 1st percentile.

Limits (docs/methods.md): a norm inside the typical shell does not make the chip probable. In high dimension almost
every sample has a norm near sqrt(d), and the density is the same everywhere on that shell; what is rare is the
*direction*. The probe shows that such chips exist under the model and how bad they are (a bound that sampling cannot
give), not how often they occur. It covers programming variation only (the card's non-idealities are off), searches
locally from one start, and is one model per method.
"""

from __future__ import annotations

import math

import torch
from scipy import stats
from torch.func import functional_call

from neft.core.mc import ChipEvaluator


def _chip_eps(ev: ChipEvaluator, chip: int) -> dict[str, torch.Tensor]:
    """The standardised noise of sampled chip ``chip`` (what ``load_chip`` draws), one tensor per layer."""
    ev.load_chip(chip)
    return {n: ev.eps[n].detach().clone() for n in ev.layers}


def _loss_and_accuracy(ev: ChipEvaluator, eps: dict[str, torch.Tensor], grad: bool) -> tuple[torch.Tensor, float]:
    """Mean test cross-entropy (with its gradient w.r.t. ``eps`` when ``grad``) and accuracy (%) of chip ``eps``."""
    total, correct, n = 0.0, 0, len(ev.y)
    for start in range(0, n, ev.batch_size):
        xb, yb = ev.x[start : start + ev.batch_size], ev.y[start : start + ev.batch_size]
        with torch.set_grad_enabled(grad):
            weights = {k: ev.base[k] + ev.scale[k] * eps[k] for k in ev.layers}
            logits = functional_call(ev.model, weights, (xb,))
            loss = torch.nn.functional.cross_entropy(logits, yb, reduction="sum") / n
        if grad:
            loss.backward()
        total += float(loss.detach())
        correct += int((logits.detach().argmax(1) == yb).sum())
    return torch.tensor(total), 100.0 * correct / n


def probe(
    ev: ChipEvaluator,
    sigma,
    sampled: list[float],
    start_chip: int,
    steps: int = 40,
    step: float = 0.05,
    radius_quantile: float = 0.99,
) -> dict:
    """Projected gradient ascent from chip ``start_chip``'s noise; ``sampled`` are the sampled chips' accuracies (%).

    ``ev`` must run without conv+ReLU fusion (the oneDNN call has no gradient) and with a card of programming
    variation only."""
    if ev.nonideal:
        raise ValueError("the worst-case probe searches programming variation only: use a card without non-idealities")
    ev.set_sigma(sigma)
    eps = _chip_eps(ev, start_chip)
    d = sum(e.numel() for e in eps.values())
    radius = math.sqrt(stats.chi2.ppf(radius_quantile, d))
    start_norm = math.sqrt(sum(float((e.double() ** 2).sum()) for e in eps.values()))
    _, start_acc = _loss_and_accuracy(ev, eps, grad=False)
    best = {"accuracy": start_acc, "step": 0, "norm": start_norm}
    for i in range(1, steps + 1):
        leaves = {k: e.clone().requires_grad_(True) for k, e in eps.items()}
        _loss_and_accuracy(ev, leaves, grad=True)
        gnorm = math.sqrt(sum(float((v.grad.double() ** 2).sum()) for v in leaves.values()))
        if gnorm == 0:
            break
        with torch.no_grad():
            eps = {k: v + (step * math.sqrt(d) / gnorm) * v.grad for k, v in leaves.items()}
            norm = math.sqrt(sum(float((e.double() ** 2).sum()) for e in eps.values()))
            if norm > radius:
                eps = {k: e * (radius / norm) for k, e in eps.items()}
                norm = radius
        _, acc = _loss_and_accuracy(ev, eps, grad=False)
        if acc < best["accuracy"]:
            best = {"accuracy": acc, "step": i, "norm": norm}
    sampled_t = torch.tensor(sampled, dtype=torch.float64)
    p1 = float(torch.quantile(sampled_t, 0.01))
    return {
        "dims": d,
        "radius": radius,
        "radius_quantile": radius_quantile,
        "steps": steps,
        "step": step,
        "start_chip": start_chip,
        "start_accuracy": start_acc,
        "start_norm": start_norm,
        "sampled_chips": len(sampled),
        "sampled_mean": float(sampled_t.mean()),
        "sampled_p1": p1,
        "sampled_worst": float(sampled_t.min()),
        "found_accuracy": best["accuracy"],
        "found_step": best["step"],
        "found_norm": best["norm"],
        "found_norm_quantile": float(stats.chi2.cdf(best["norm"] ** 2, d)),
        "below_p1": p1 - best["accuracy"],
    }
