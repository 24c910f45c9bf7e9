"""Sigma values as exact decimals: one canonical spelling per value for paths, seeds and table keys.

Float arithmetic would give 0.15000000000000002 for 0.05 * 3; a grid written in the config as 0.15 must map to
the same file name, the same chip seeds and the same table row wherever it appears.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: Finest sigma step accepted (four decimals is finer than any grid in the paper).
QUANTUM = Decimal("0.0001")


def parse_sigma(value) -> Decimal:
    """Parse a sigma from config, a path or a CLI; reject values outside [0, 1] or finer than ``QUANTUM``."""
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"sigma {value!r} is not a number") from None
    if not d.is_finite() or d < 0 or d > 1:
        raise ValueError(f"sigma {value!r} must lie in [0, 1]")
    if d != d.quantize(QUANTUM):
        raise ValueError(f"sigma {value!r} has more than 4 decimals")
    return d


def format_sigma(value) -> str:
    """Canonical spelling: ``0``, ``0.05``, ``0.1``, ``0.025`` (no trailing zeros, no exponent)."""
    d = parse_sigma(value).quantize(QUANTUM).normalize()
    text = format(d, "f")
    return "0" if d == 0 else text


def sigma_float(value) -> float:
    return float(parse_sigma(value))


@dataclass(frozen=True)
class Sigma:
    """A sigma that owns its spelling: made from any spelling of a value in [0, 1] with at most 4 decimals
    (``"0.070"``, ``"7e-2"``, ``0.07``), it holds the canonical text (``Sigma("0.070").text == "0.07"``), so paths, chip
    seeds and table keys agree wherever it goes; ``str()`` gives the text, ``float()`` the value, and two sigmas are
    equal when their values are. Every function here that takes a sigma takes a ``Sigma`` too."""

    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", format_sigma(self.text))

    def __str__(self) -> str:
        return self.text

    def __float__(self) -> float:
        return float(parse_sigma(self.text))


def to_paper_sigma(sigma, sigma_scale: float) -> str:
    """A sigma of our grid on the paper's scale (the mini grid is the paper's times ``scorecard.sigma_scale``)."""
    return format_sigma(round(float(sigma) / sigma_scale, 4))
