"""Device cards: the NVCIM weight-variation model of NeFT (paper section 2), parameterised by a small YAML file.

A card says how an 8-bit weight is spread over 2-bit devices and how much noisier the middle conductance levels
are. ``perturb`` turns one weight tensor into one sample of its programmed (noisy) value:

    c      = sqrt(sum_i 4^(iK)) / sum_i 2^(iK)          over the M/K devices of one weight
    sigma' = sigma * sigma_scale / sqrt(f s^2 + 1 - f)   (device-type normalisation, f = middle_fraction)
    std    = c * sigma' * max|W|
    w~     = w + k(w) * eps,  eps ~ N(0, std^2),  k = s inside the open middle band of |w| / max|W|, else 1

The noise never carries a gradient (d w~ / d w = I), so noise-aware training is a straight-through estimator.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

import torch
import yaml

#: Fields every card must define (provenance included: a card without a source is not a device model).
REQUIRED_FIELDS = (
    "name",
    "bits_per_weight",
    "bits_per_device",
    "middle_multiplier",
    "middle_band",
    "middle_fraction",
    "provenance",
)


class DeviceCardError(ValueError):
    """A device card is missing, malformed or unknown."""


def device_constant(bits_per_weight: int, bits_per_device: int) -> float:
    """Std of the weighted sum of the per-device errors, relative to the weight's full range (c in the paper)."""
    n = bits_per_weight // bits_per_device
    num = math.sqrt(sum(4 ** (i * bits_per_device) for i in range(n)))
    den = sum(2 ** (i * bits_per_device) for i in range(n))
    return num / den


@dataclass(frozen=True)
class DeviceCard:
    """One device type. ``sigma`` passed to the methods is the paper's sigma_d (device std / device range)."""

    name: str
    bits_per_weight: int
    bits_per_device: int
    middle_multiplier: float
    middle_band: tuple[float, float]
    middle_fraction: float
    provenance: dict
    description: str = ""
    sigma_scale: float = 1.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        def bad(key: str, why: str) -> DeviceCardError:
            return DeviceCardError(f"device card {self.name!r}: {key} {why}")

        if self.bits_per_device <= 0 or self.bits_per_weight <= 0:
            raise bad("bits_per_weight/bits_per_device", "must be positive integers")
        if self.bits_per_weight % self.bits_per_device:
            raise bad("bits_per_weight", f"({self.bits_per_weight}) must be a multiple of bits_per_device")
        lo, hi = self.middle_band
        if not 0.0 <= lo < hi <= 1.0:
            raise bad("middle_band", f"must be [lo, hi] with 0 <= lo < hi <= 1, got {list(self.middle_band)}")
        if not 0.0 <= self.middle_fraction <= 1.0:
            raise bad("middle_fraction", f"must lie in [0, 1], got {self.middle_fraction}")
        if self.middle_multiplier <= 0 or self.sigma_scale <= 0:
            raise bad("middle_multiplier/sigma_scale", "must be positive")

    # -- closed form -------------------------------------------------------------------------------------------
    @property
    def c(self) -> float:
        return device_constant(self.bits_per_weight, self.bits_per_device)

    def effective_sigma(self, sigma: float) -> float:
        """sigma' of the paper: the device-type normalisation keeps the mean variance equal across cards."""
        s, f = self.middle_multiplier, self.middle_fraction
        return sigma * self.sigma_scale / math.sqrt(f * s * s + (1.0 - f))

    def noise_scale(self, weight: torch.Tensor, sigma: float) -> torch.Tensor:
        """Per-element noise std k(w) * c * sigma' * max|W| (no gradient)."""
        w = weight.detach()
        magnitude = w.abs()
        wmax = magnitude.amax()
        std = (self.c * self.effective_sigma(sigma)) * wmax
        if self.middle_multiplier == 1.0:
            return std.expand_as(w)
        ratio = magnitude / wmax
        lo, hi = self.middle_band
        middle = (ratio > lo) & (ratio < hi)
        return torch.where(middle, std * self.middle_multiplier, std)

    def perturb(self, weight: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
        """A noisy copy of ``weight``: one programming of one chip. ``sigma == 0`` returns an exact copy."""
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        if sigma == 0:
            return weight.clone()
        eps = torch.randn(weight.shape, generator=generator, device=weight.device, dtype=weight.dtype)
        return weight + eps.mul_(self.noise_scale(weight, sigma))

    def uniform(self) -> DeviceCard:
        """The same card with every level equally noisy (s = 1): what IRS's auxiliary heads use."""
        return replace(self, name=f"{self.name}-uniform", middle_multiplier=1.0)

    # -- serialisation -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["middle_band"] = list(self.middle_band)
        extra = d.pop("extra")
        d.update(extra)
        return d

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> DeviceCard:
        if not isinstance(data, dict):
            raise DeviceCardError(f"device card {source}: expected a mapping, got {type(data).__name__}")
        missing = [k for k in REQUIRED_FIELDS if k not in data]
        if missing:
            raise DeviceCardError(f"device card {source}: missing required field(s) {', '.join(missing)}")
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        try:
            band = data["middle_band"]
            if not isinstance(band, (list, tuple)) or len(band) != 2:
                raise DeviceCardError(f"device card {source}: middle_band must be a list [lo, hi], got {band!r}")
            return cls(
                name=str(data["name"]),
                bits_per_weight=int(data["bits_per_weight"]),
                bits_per_device=int(data["bits_per_device"]),
                middle_multiplier=float(data["middle_multiplier"]),
                middle_band=(float(band[0]), float(band[1])),
                middle_fraction=float(data["middle_fraction"]),
                provenance=dict(data["provenance"] or {}),
                description=str(data.get("description", "")),
                sigma_scale=float(data.get("sigma_scale", 1.0)),
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (TypeError, ValueError) as err:
            if isinstance(err, DeviceCardError):
                if source == "<dict>":
                    raise
                raise DeviceCardError(f"{source}: {err}") from err  # name the file as well as the card
            raise DeviceCardError(f"device card {source}: {err}") from err

    @classmethod
    def load(cls, path: str | Path) -> DeviceCard:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except FileNotFoundError as err:
            raise DeviceCardError(f"device card file not found: {path}") from err
        except yaml.YAMLError as err:
            raise DeviceCardError(f"device card {path}: not valid YAML ({err})") from err
        return cls.from_dict(data, source=str(path))

    def save(self, path: str | Path) -> None:
        from neft.io import atomic_write_text

        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))


def preset_names() -> list[str]:
    """Names of the cards shipped with the package (the four NeFT device types)."""
    return sorted(p.name[: -len(".yaml")] for p in resources.files("neft.cards").iterdir() if p.name.endswith(".yaml"))


def get(name: str, search: list[str | Path] | tuple = ()) -> DeviceCard:
    """Look a card up by name (shipped presets first, then ``<dir>/<name>.yaml`` or ``<dir>/<name>/card.yaml``
    in ``search``), or load it from a path to a YAML file."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") and as_path.exists():
        return DeviceCard.load(as_path)
    for preset in preset_names():
        if preset.lower() == name.lower():
            with resources.as_file(resources.files("neft.cards") / f"{preset}.yaml") as p:
                return DeviceCard.load(p)
    for folder in search:
        for candidate in (Path(folder) / f"{name}.yaml", Path(folder) / name / "card.yaml"):
            if candidate.exists():
                return DeviceCard.load(candidate)
    raise DeviceCardError(
        f"unknown device {name!r}; shipped presets: {', '.join(preset_names())}"
        + (f"; also searched {', '.join(map(str, search))}" if search else "")
    )
