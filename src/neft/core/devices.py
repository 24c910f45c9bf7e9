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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

import torch
import yaml

from neft.util.checks import FREE_PREFIX, DuplicateKeyError, UniqueKeyLoader, check_keys, finite_number, read_text
from neft.util.io import atomic_write_text

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
#: Non-idealities beyond programming variation (``neft.core.nonideal``), each off by default: a card that sets none of
#: them is today's card, byte for byte. read_noise: std of a fresh draw per inference pass relative to the programmed
#: value; dac_bits / adc_bits: resolution of the MVM inputs / outputs (null: ideal); stuck_fraction: the fraction of
#: devices stuck at g_min or g_max, stuck_high of them at g_max.
NONIDEAL_DEFAULTS = {"read_noise": 0.0, "dac_bits": None, "adc_bits": None, "stuck_fraction": 0.0, "stuck_high": 0.5}
#: Largest DAC/ADC resolution a card may ask for.
MAX_CONVERTER_BITS = 24
#: Optional fields of every card.
OPTIONAL_FIELDS = ("description", "sigma_scale", *NONIDEAL_DEFAULTS)
#: Fields a fitted card has (``neft.core.fitting``); kept in ``DeviceCard.extra``.
FITTED_FIELDS = ("measured_sigma", "level_multipliers", "fit")
#: Keys of ``provenance`` (``source`` required; ``source_device`` and ``data`` are what a fitted card adds: the
#: measured device's name and the ``# key: value`` lines of its CSV, a free-form mapping).
PROVENANCE_KEYS = ("source", "citation", "notes", "source_device", "data")
#: Keys of a fitted card's ``fit`` (all of them, as ``neft.core.fitting.fit_device`` writes it).
FIT_KEYS = ("sigma_prime", "s", "s_at_bound", "rmse", "r2", "max_rel_error", "n_levels", "measured_rel_std")
# The escape hatch (FREE_PREFIX, "x_"): in every mapping of a card (top level, provenance, fit), keys starting
# with ``x_`` are yours: kept in the card as they are (top-level ones in ``extra``), never checked.
#: Largest bits per weight (a bound that keeps c's sums small; the paper's weights have 8).
MAX_BITS = 32


class DeviceCardError(ValueError):
    """A device card is missing, malformed or unknown."""


class _CardProblem(DeviceCardError):
    """A bad field of a card: ``detail`` is the message without the card's name, so that ``from_dict`` can say
    which file it came from instead."""

    def __init__(self, label: str, detail: str) -> None:
        super().__init__(f"{label}: {detail}")
        self.detail = detail


def _problem(detail: str) -> DeviceCardError:
    return _CardProblem("device card", detail)


def device_constant(bits_per_weight: int, bits_per_device: int) -> float:
    """Std of the weighted sum of the per-device errors, relative to the weight's full range (c in the paper)."""
    bits_per_weight = finite_number(bits_per_weight, "bits_per_weight", integer=True, minimum=1, maximum=MAX_BITS)
    bits_per_device = finite_number(bits_per_device, "bits_per_device", integer=True, minimum=1, maximum=MAX_BITS)
    n = bits_per_weight // bits_per_device
    num = math.sqrt(sum(4 ** (i * bits_per_device) for i in range(n)))
    den = sum(2 ** (i * bits_per_device) for i in range(n))
    return num / den


def _number(value, what: str, **bounds) -> float | int:
    try:
        return finite_number(value, what, **bounds)
    except ValueError as err:
        raise _problem(str(err)) from None


def _string(value, what: str, *, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise _problem(f"{what} must be a {'non-empty ' if not empty else ''}string, got {value!r}")
    return value


def _mapping(value, what: str, allowed, required=(), free=True) -> dict:
    try:
        return check_keys(value, what, allowed, required=required, free_prefix=FREE_PREFIX if free else None)
    except ValueError as err:
        raise _problem(str(err)) from None


def _number_list(value, what: str, **bounds) -> list[float]:
    if not isinstance(value, (list, tuple)):
        raise _problem(f"{what} must be a list of numbers, got {value!r}")
    return [_number(v, f"{what}[{i}]", **bounds) for i, v in enumerate(value)]


def _check_provenance(value) -> dict:
    prov = _mapping(value, "provenance", PROVENANCE_KEYS, required=("source",))
    _string(prov["source"], "provenance.source", empty=False)
    for key in ("citation", "notes", "source_device"):
        if key in prov:
            _string(prov[key], f"provenance.{key}")
    if "data" in prov:  # the measured CSV's own `# key: value` lines: free-form keys
        data = prov["data"] if prov["data"] is not None else {}
        if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
            raise _problem(f"provenance.data must be a mapping with string keys (free-form), got {data!r}"[:300])
        prov["data"] = dict(data)
    return prov


def _check_extra(value) -> dict:
    extra = _mapping(value, "fitted fields (DeviceCard.extra)", FITTED_FIELDS)
    if "measured_sigma" in extra:
        extra["measured_sigma"] = _number(extra["measured_sigma"], "measured_sigma", minimum=0)
    if "level_multipliers" in extra:
        extra["level_multipliers"] = _number_list(extra["level_multipliers"], "level_multipliers", minimum=0)
    if "fit" in extra:
        fit = _mapping(extra["fit"], "fit", FIT_KEYS, required=FIT_KEYS)
        for key, bounds in (
            ("sigma_prime", {"minimum": 0}),
            ("s", {"above": 0}),
            ("rmse", {"minimum": 0}),
            ("r2", {}),
            ("max_rel_error", {"minimum": 0}),
        ):
            fit[key] = _number(fit[key], f"fit.{key}", **bounds)
        if not isinstance(fit["s_at_bound"], bool):
            raise _problem(f"fit.s_at_bound must be true or false, got {fit['s_at_bound']!r}")
        fit["n_levels"] = _number(fit["n_levels"], "fit.n_levels", integer=True, minimum=2)
        fit["measured_rel_std"] = _number_list(fit["measured_rel_std"], "fit.measured_rel_std", minimum=0)
        extra["fit"] = fit
    return extra


def _check_sigma(sigma, what: str = "sigma") -> float:
    """A sigma of the Python API: a finite real number >= 0 (NaN, infinity, a bool, a string are errors)."""
    return finite_number(sigma, what, minimum=0)


@dataclass(frozen=True)
class DeviceCard:
    """One device type. ``sigma`` passed to the methods is the paper's sigma_d (device std / device range).

    Every field is checked on construction (from a file or from Python): integers are ints (not bools, not 8.7),
    numbers are finite, mappings have only their known keys (plus ``x_``-prefixed free-form ones)."""

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
    read_noise: float = 0.0
    dac_bits: int | None = None
    adc_bits: int | None = None
    stuck_fraction: float = 0.0
    stuck_high: float = 0.5

    def __post_init__(self) -> None:
        label = f"device card {self.name!r}" if isinstance(self.name, str) else "device card"
        try:
            values = self._checked()
        except _CardProblem as err:
            raise _CardProblem(label, err.detail) from None
        for key, value in values.items():
            object.__setattr__(self, key, value)  # the checked, normalised value (8 -> 8, 4 -> 4.0, tuple band)

    def _checked(self) -> dict:
        out: dict = {}
        out["name"] = _string(self.name, "name", empty=False)
        out["description"] = _string(self.description, "description")
        out["bits_per_weight"] = _number(
            self.bits_per_weight, "bits_per_weight", integer=True, minimum=1, maximum=MAX_BITS
        )
        out["bits_per_device"] = _number(
            self.bits_per_device, "bits_per_device", integer=True, minimum=1, maximum=MAX_BITS
        )
        if out["bits_per_weight"] % out["bits_per_device"]:
            raise _problem(
                f"bits_per_weight ({out['bits_per_weight']}) must be a multiple of bits_per_device "
                f"({out['bits_per_device']})"
            )
        band = self.middle_band
        if not isinstance(band, (list, tuple)) or len(band) != 2:
            raise _problem(f"middle_band must be a list [lo, hi], got {band!r}")
        lo, hi = (_number(v, f"middle_band[{i}]") for i, v in enumerate(band))
        if not 0.0 <= lo < hi <= 1.0:
            raise _problem(f"middle_band must be [lo, hi] with 0 <= lo < hi <= 1, got {[lo, hi]}")
        out["middle_band"] = (lo, hi)
        f = out["middle_fraction"] = _number(self.middle_fraction, "middle_fraction", minimum=0, maximum=1)
        s = out["middle_multiplier"] = _number(self.middle_multiplier, "middle_multiplier", above=0)
        out["sigma_scale"] = _number(self.sigma_scale, "sigma_scale", above=0)
        norm = f * s * s + (1.0 - f)
        if not (math.isfinite(norm) and norm > 0):
            raise _problem(
                f"middle_multiplier ({s:g}) and middle_fraction ({f:g}) give the normalisation f s^2 + 1 - f = "
                f"{norm:g}; it must be a positive finite number"
            )
        out["provenance"] = _check_provenance(self.provenance)
        out["extra"] = _check_extra(self.extra)
        out["read_noise"] = _number(self.read_noise, "read_noise", minimum=0, maximum=10)
        for key in ("dac_bits", "adc_bits"):
            value = getattr(self, key)
            out[key] = (
                None if value is None else _number(value, key, integer=True, minimum=1, maximum=MAX_CONVERTER_BITS)
            )
        out["stuck_fraction"] = _number(self.stuck_fraction, "stuck_fraction", minimum=0, maximum=1)
        out["stuck_high"] = _number(self.stuck_high, "stuck_high", minimum=0, maximum=1)
        return out

    @property
    def nonideal(self) -> dict:
        """The non-idealities this card turns on (``neft.core.nonideal``): {} for a card of programming variation
        only."""
        return {
            k: getattr(self, k) for k, off in NONIDEAL_DEFAULTS.items() if k != "stuck_high" and getattr(self, k) != off
        }

    # -- closed form -------------------------------------------------------------------------------------------
    @property
    def c(self) -> float:
        return device_constant(self.bits_per_weight, self.bits_per_device)

    def effective_sigma(self, sigma: float) -> float:
        """sigma' of the paper: the device-type normalisation keeps the mean variance equal across cards."""
        sigma = _check_sigma(sigma)
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
        if _check_sigma(sigma) == 0:
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
        for key, off in NONIDEAL_DEFAULTS.items():  # off: not written, so a card without them reads as before
            if d[key] == off:
                del d[key]
        extra = d.pop("extra")
        d.update(extra)
        return d

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> DeviceCard:
        """A card from its mapping (what a card's YAML holds). Errors name ``source`` (the file) and the field."""
        label = f"device card {source}"
        if not isinstance(data, dict):
            got = "an empty file" if data is None else f"{type(data).__name__}"
            raise DeviceCardError(
                f"{label}: expected a mapping, got {got}; a card is a mapping with keys "
                f"{', '.join(REQUIRED_FIELDS)} (docs/methods.md, 'Device card keys')"
            )
        allowed = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS, *FITTED_FIELDS)
        unknown = [str(k) for k in data if not (isinstance(k, str) and (k in allowed or k.startswith(FREE_PREFIX)))]
        missing = [k for k in REQUIRED_FIELDS if k not in data]
        if unknown:
            raise DeviceCardError(
                f"{label}: unknown key(s) {', '.join(unknown)}"
                + (f" (and missing required field(s) {', '.join(missing)})" if missing else "")
                + f"; allowed keys: {', '.join(allowed)}, or any key starting with {FREE_PREFIX!r} (free-form)"
            )
        if missing:
            raise DeviceCardError(f"{label}: missing required field(s) {', '.join(missing)}")
        try:
            return cls(
                name=data["name"],
                bits_per_weight=data["bits_per_weight"],
                bits_per_device=data["bits_per_device"],
                middle_multiplier=data["middle_multiplier"],
                middle_band=data["middle_band"],
                middle_fraction=data["middle_fraction"],
                provenance=data["provenance"],
                description=data.get("description", ""),
                sigma_scale=data.get("sigma_scale", 1.0),
                **{k: data.get(k, off) for k, off in NONIDEAL_DEFAULTS.items()},
                extra={k: v for k, v in data.items() if k in FITTED_FIELDS or k.startswith(FREE_PREFIX)},
            )
        except _CardProblem as err:
            if source == "<dict>":
                raise
            raise DeviceCardError(f"{label}: {err.detail}") from None

    @classmethod
    def load(cls, path: str | Path) -> DeviceCard:
        path = Path(path)
        if not path.exists():
            raise DeviceCardError(f"device card file not found: {path}")
        text = read_text(path, "device card", error=DeviceCardError)
        if not text.strip():
            raise DeviceCardError(
                f"device card {path}: the file is empty; expected a YAML mapping with keys {', '.join(REQUIRED_FIELDS)}"
            )
        try:
            data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
        except DuplicateKeyError as err:
            raise DeviceCardError(f"device card {path}: {err.problem}") from None
        except yaml.YAMLError as err:
            raise DeviceCardError(f"device card {path}: not valid YAML ({err})") from None
        return cls.from_dict(data, source=str(path))

    def save(self, path: str | Path) -> None:

        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))


def preset_names() -> list[str]:
    """Names of the cards shipped with the package (the four NeFT device types)."""
    return sorted(
        p.name[: -len(".yaml")] for p in resources.files("neft.core.cards").iterdir() if p.name.endswith(".yaml")
    )


def get(name: str, search: list[str | Path] | tuple = ()) -> DeviceCard:
    """Look a card up by name (shipped presets first, then ``<dir>/<name>.yaml`` or ``<dir>/<name>/card.yaml``
    in ``search``), or load it from a path to a YAML file."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") and as_path.exists():
        return DeviceCard.load(as_path)
    for preset in preset_names():
        if preset.lower() == name.lower():
            with resources.as_file(resources.files("neft.core.cards") / f"{preset}.yaml") as p:
                return DeviceCard.load(p)
    for folder in search:
        for candidate in (Path(folder) / f"{name}.yaml", Path(folder) / name / "card.yaml"):
            if candidate.exists():
                return DeviceCard.load(candidate)
    raise DeviceCardError(
        f"unknown device {name!r}; shipped presets: {', '.join(preset_names())}"
        + (f"; also searched {', '.join(map(str, search))}" if search else "")
    )
