"""The scale ladder: do the run's findings survive longer and wider training?

A *rung* is one (width, epochs) setting of the pair's model. Every listed method is trained at every rung with the
same training seeds, and tested on the same seeded chips, at the rung's sigma: ``factor(width) x`` each paper sigma.
The factor is not typed by hand: :func:`crossing_factor` applies the rule that calibrated the mini scale by hand
(docs/calibration.md, section 2) to the reference model (W/O Noise) of the width's shortest rung: the factor at
which its mean accuracy falls to the paper's W/O Noise accuracy at the reference sigma. Training-length rungs of one
width keep that width's factor, so they compare one regime.

This module holds the ladder's layout and its sigma rule (rungs, their paths, the factor sweep); the tables from the
ladder's sweeps are ``neft.analysis.ladder``'s, the jobs that train and sweep are the workflow's
(``workflow/rules/scale.smk``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neft.util.checks import read_text
from neft.util.sigma import format_sigma


@dataclass(frozen=True, order=True)
class Rung:
    """One rung of the ladder: the model's channel-width multiplier and the number of training epochs."""

    width: float
    epochs: int

    @property
    def width_text(self) -> str:
        return format(float(self.width), "g")

    @property
    def path(self) -> str:
        """Where the rung's files live under ``results/scale/``."""
        return f"width~{self.width_text}/epochs~{self.epochs}"

    @property
    def label(self) -> str:
        return f"width {self.width_text}, {self.epochs} epochs"


def rungs(study: dict) -> list[Rung]:
    return [Rung(float(r["width"]), int(r["epochs"])) for r in study["rungs"]]


def width_reference(study: dict, width: float) -> Rung:
    """The rung whose reference model fixes a width's sigma factor: the width's shortest training."""
    return min((r for r in rungs(study) if r.width == width), key=lambda r: r.epochs)


def halved(study: dict, rung: Rung) -> Rung | None:
    """The rung with half the epochs at the same width (what the last doubling of training started from)."""
    if rung.epochs % 2:
        return None
    half = Rung(rung.width, rung.epochs // 2)
    return half if half in rungs(study) else None


def factor_grid(rule: dict) -> list[float]:
    """The factors the sigma rule sweeps, each rounded to 4 decimals (so a sigma spells exactly)."""
    lo, hi, step = float(rule["factor_min"]), float(rule["factor_max"]), float(rule["factor_step"])
    n = int(np.floor((hi - lo) / step + 1e-9)) + 1
    return [round(lo + i * step, 4) for i in range(n)]


def swept_sigma(factor: float, reference_sigma: float) -> str:
    """The sigma of one point of the factor sweep: factor x reference sigma, on the 4-decimal grid."""
    return format_sigma(round(float(factor) * float(reference_sigma), 4))


def crossing_factor(factors, accuracies, target: float, decimals: int) -> tuple[float, float]:
    """The sigma rule: where an accuracy curve, measured at increasing ``factors``, first falls to ``target``.

    Linear interpolation between the last factor above ``target`` and the first at or below it; returns
    (the factor rounded to ``decimals``, the unrounded crossing). Raises ValueError when the curve starts at or
    below the target (the sweep must start lower) or never reaches it (it must go higher)."""
    f = np.asarray(factors, dtype=np.float64)
    a = np.asarray(accuracies, dtype=np.float64)
    if f.size < 2 or f.size != a.size or np.any(np.diff(f) <= 0):
        raise ValueError("the factor sweep needs at least two increasing factors, one accuracy each")
    if a[0] <= target:
        raise ValueError(
            f"the reference accuracy is {a[0]:.2f} % <= {target:.2f} % already at factor {f[0]:g}: "
            "lower scale_study.sigma_rule.factor_min"
        )
    below = np.flatnonzero(a <= target)
    if not below.size:
        raise ValueError(
            f"the reference accuracy stays above {target:.2f} % up to factor {f[-1]:g} (last {a[-1]:.2f} %): "
            "raise scale_study.sigma_rule.factor_max"
        )
    i = int(below[0])
    f0, f1, a0, a1 = f[i - 1], f[i], a[i - 1], a[i]
    exact = float(f0 + (a0 - target) * (f1 - f0) / (a0 - a1))
    return round(exact, int(decimals)), exact


def rung_sigma(factor: float, paper_sigma) -> str:
    """A rung's sigma for one paper sigma: factor x paper sigma on the 4-decimal grid."""
    value = round(float(factor) * float(paper_sigma), 4)
    if value > 1:
        raise ValueError(f"factor {factor:g} x paper sigma {paper_sigma} = {value:g} is above 1")
    return format_sigma(value)


def read_factor(path) -> float:
    """The factor a ``calibrate_rung_sigma`` job wrote (its JSON), checked: a finite number in (0, 10]."""
    import json

    text = read_text(path, "sigma factor")
    try:
        factor = float(json.loads(text)["factor"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"sigma factor {path}: not a factor file ({err}); delete it to recompute it") from None
    if not (np.isfinite(factor) and 0 < factor <= 10):
        raise ValueError(f"sigma factor {path}: factor {factor!r} is not in (0, 10]; delete it to recompute it")
    return factor
