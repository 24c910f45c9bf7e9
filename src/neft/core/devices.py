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
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

import torch
import yaml

from neft.util.checks import (
    FREE_PREFIX,
    DocumentShapeError,
    DuplicateKeyError,
    UniqueKeyLoader,
    check_keys,
    finite_number,
    read_text,
)
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
#: What makes a card a fitted one: ``neft.core.fitting.fit_device`` writes all of these, so a card with any of them
#: must have every one (a card cut short inside its fitted fields still parses, but is not the fitted device).
FITTED_MARKERS = (*FITTED_FIELDS, "provenance.source_device")
#: Keys every shipped preset has (src/neft/core/cards/*.yaml, and every copy the device_card rule writes): a card
#: named like a shipped preset must have all of them (a copy cut short loses the keys after the cut).
PRESET_FIELDS = (
    "name",
    "description",
    "bits_per_weight",
    "bits_per_device",
    "middle_multiplier",
    "middle_band",
    "middle_fraction",
    "sigma_scale",
    "provenance",
)
PRESET_PROVENANCE_KEYS = ("source", "citation", "notes")
#: Relative tolerance of the fitted fields' agreement (they are computed from one another in float64 and written
#: with every digit; a number cut short disagrees far beyond it).
FIT_RTOL = 1e-9
#: Largest per-element noise std the noise model takes, relative to max|W|: k * c * sigma' (k = s in the middle
#: band). At 1e6 the noisy weight is noise a million times the weight; far beyond it float32 overflows to infinity.
MAX_RELATIVE_STD = 1e6


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


def _check_extra(value, name: str) -> dict:
    extra = _mapping(value, "fitted fields (DeviceCard.extra)", FITTED_FIELDS)
    if "measured_sigma" in extra:
        extra["measured_sigma"] = _number(extra["measured_sigma"], "measured_sigma", minimum=0)
    if "level_multipliers" in extra:
        extra["level_multipliers"] = _number_list(extra["level_multipliers"], "level_multipliers", minimum=0)
    if "fit" in extra:
        try:
            fit = _mapping(extra["fit"], "fit", FIT_KEYS, required=FIT_KEYS)
        except _CardProblem as err:  # a fit cut short: say how to make it again
            raise _problem(err.detail + (_fitted_remedy(name) if "missing required" in err.detail else "")) from None
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


def _fitted_remedy(name: str) -> str:
    return (
        "; the file was probably cut short or edited: delete it and the fit.csv beside it so that the workflow fits "
        f"the device again (rule fit_device: snakemake results/devices/{name}/card.yaml)"
    )


def _check_fitted_complete(card: dict) -> None:
    """A fitted card has every field ``neft.core.fitting.fit_device`` writes, one entry per level the fit used in each
    list, and fields that agree with one another; a card with none of them is not a fitted card (nothing to check)."""
    extra, provenance = card["extra"], card["provenance"]
    present = [k for k in FITTED_FIELDS if k in extra] + ["provenance.source_device"] * ("source_device" in provenance)
    if not present:
        return
    remedy = _fitted_remedy(card["name"])
    missing = [k for k in FITTED_MARKERS if k not in present]
    if missing:
        raise _problem(
            f"an incomplete fitted card: it has {', '.join(present)} but not {', '.join(missing)} (a fitted card "
            f"has all of {', '.join(FITTED_MARKERS)}){remedy}"
        )
    fit = extra["fit"]
    n, bits = fit["n_levels"], card["bits_per_device"]
    if n != 2**bits:
        raise _problem(f"fit.n_levels is {n}, but a device of bits_per_device {bits} has {2**bits} levels{remedy}")
    lists = {"level_multipliers": extra["level_multipliers"], "fit.measured_rel_std": fit["measured_rel_std"]}
    for what, values in lists.items():
        if len(values) != n:
            raise _problem(
                f"{what} has {len(values)} entries, but fit.n_levels is {n} (one entry per level the fit used){remedy}"
            )
    sigma_p, s, f = fit["sigma_prime"], fit["s"], card["middle_fraction"]
    for i, (m, r) in enumerate(zip(extra["level_multipliers"], fit["measured_rel_std"])):
        if not math.isclose(m * sigma_p, r, rel_tol=FIT_RTOL, abs_tol=1e-300):
            raise _problem(
                f"level_multipliers[{i}] ({m!r}) x fit.sigma_prime ({sigma_p!r}) is {m * sigma_p!r}, but "
                f"fit.measured_rel_std[{i}] is {r!r} (the fit writes them equal){remedy}"
            )
    expected = sigma_p * math.sqrt(f * s * s + 1.0 - f)
    if not math.isclose(extra["measured_sigma"], expected, rel_tol=FIT_RTOL, abs_tol=1e-300):
        raise _problem(
            f"measured_sigma is {extra['measured_sigma']!r}, but fit.sigma_prime x sqrt(f s^2 + 1 - f) with fit.s and "
            f"middle_fraction is {expected!r} (the fit writes them equal){remedy}"
        )


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
        out["extra"] = _check_extra(self.extra, out["name"])
        _check_fitted_complete(out)
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
    def fitted(self) -> bool:
        """Whether this is a fitted card (``neft.core.fitting``): it then has every field of ``FITTED_MARKERS``."""
        return "fit" in self.extra

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

    @staticmethod
    def _check_weight(weight) -> None:
        """``weight`` of ``noise_scale`` / ``perturb``: a non-empty floating-point tensor. Checked on what costs nothing
        (type, dtype, shape; never the tensor's values, which would wait for the device)."""
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"weight must be a torch.Tensor (floating point), got {type(weight).__name__}")
        if not weight.is_floating_point():
            raise TypeError(
                f"weight must be a floating-point tensor (float32, float64, bfloat16, float16), got {weight.dtype}"
            )
        if weight.numel() == 0:
            raise ValueError(f"weight is empty (shape {tuple(weight.shape)}): there is no max|W| to scale noise by")

    def _relative_std(self, sigma) -> float:
        """c * sigma' for ``sigma``, a finite number >= 0 whose largest noise std k * c * sigma' is at most
        ``MAX_RELATIVE_STD`` x max|W| (a Python float: no wait for the device), so the noisy weight of any finite
        weight short of its dtype's range / 1e7 is finite."""
        relative = self.c * self.effective_sigma(sigma)
        largest = relative * max(self.middle_multiplier, 1.0)
        if not largest <= MAX_RELATIVE_STD:  # also catches an infinity
            raise ValueError(
                f"sigma {sigma!r} on device card {self.name!r} gives a noise std of {largest:.3g} x max|W| "
                f"(k c sigma'); at most {MAX_RELATIVE_STD:g} x max|W| is taken (beyond it every noisy weight is noise, "
                "and overflows to infinity); sigma is the device std relative to the device range, 0..1 in the workflow"
            )
        return relative

    def noise_scale(self, weight: torch.Tensor, sigma: float) -> torch.Tensor:
        """Per-element noise std k(w) * c * sigma' * max|W| (no gradient). ``weight``: a non-empty floating-point
        tensor; ``sigma``: a finite number >= 0 (see ``MAX_RELATIVE_STD``); anything else is a TypeError or
        ValueError that names it."""
        self._check_weight(weight)
        return self._scale(weight, self._relative_std(sigma))

    def _scale(self, weight: torch.Tensor, relative: float) -> torch.Tensor:
        """``noise_scale`` of a checked weight, for ``relative`` = c * sigma' (also checked)."""
        w = weight.detach()
        magnitude = w.abs()
        wmax = magnitude.amax()
        std = relative * wmax
        if self.middle_multiplier == 1.0:
            return std.expand_as(w)
        ratio = magnitude / wmax
        lo, hi = self.middle_band
        middle = (ratio > lo) & (ratio < hi)
        return torch.where(middle, std * self.middle_multiplier, std)

    def perturb(self, weight: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
        """A noisy copy of ``weight``: one programming of one chip. ``sigma == 0`` returns an exact copy. Arguments as
        in ``noise_scale``; ``generator``: a ``torch.Generator`` on ``weight``'s device, or None."""
        self._check_weight(weight)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        if _check_sigma(sigma) == 0:
            return weight.clone()
        scale = self._scale(weight, self._relative_std(sigma))  # first: a refused sigma leaves the generator as it was
        eps = torch.randn(weight.shape, generator=generator, device=weight.device, dtype=weight.dtype)
        return weight + eps.mul_(scale)

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
            card = cls(
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
        _check_preset_complete(data, label)  # after the fields: a bad value is named as such
        return card

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
        except DocumentShapeError as err:  # too deep, an alias bomb, a cycle (neft.util.checks)
            line = err.problem_mark.line + 1
            raise DeviceCardError(f"device card {path}: refused at line {line}: {err.problem}") from None
        except yaml.YAMLError as err:
            raise DeviceCardError(f"device card {path}: not valid YAML ({err})") from None
        return cls.from_dict(data, source=str(path))

    def to_yaml(self) -> str:
        """The card's file, as ``save`` writes it (and every card.yaml of the workflow is written)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def save(self, path: str | Path) -> None:

        atomic_write_text(path, self.to_yaml())


def _check_preset_complete(data: dict, label: str) -> None:
    """A card named like a shipped preset has every key the shipped presets have (``PRESET_FIELDS`` and
    ``provenance``'s ``PRESET_PROVENANCE_KEYS``): a copy the device_card rule wrote and that was cut short still
    parses, without the keys after the cut."""
    name = data.get("name")
    if not isinstance(name, str) or name not in preset_names():
        return
    provenance = data.get("provenance")
    absent = [k for k in PRESET_FIELDS if k not in data]
    if isinstance(provenance, Mapping):
        absent += [f"provenance.{k}" for k in PRESET_PROVENANCE_KEYS if k not in provenance]
    if absent:
        raise DeviceCardError(
            f"{label}: named like the shipped preset {name}, but without its field(s) {', '.join(absent)} (every "
            f"shipped preset, and every copy of one, has {', '.join(PRESET_FIELDS)} and provenance."
            f"{', provenance.'.join(PRESET_PROVENANCE_KEYS)}); the file was probably cut short: delete it so that the "
            f"workflow writes it again (rule device_card: snakemake results/devices/{name}/card.yaml), or give a card "
            "of your own another name"
        )


def preset_names() -> list[str]:
    """Names of the cards shipped with the package (the four NeFT device types)."""
    return sorted(
        p.name[: -len(".yaml")] for p in resources.files("neft.core.cards").iterdir() if p.name.endswith(".yaml")
    )


def get(name: str | Path, search: list[str | Path] | tuple = ()) -> DeviceCard:
    """Look a card up by name (shipped presets first, then ``<dir>/<name>.yaml`` or ``<dir>/<name>/card.yaml``
    in ``search``), or load it from a path to a YAML file. ``name``: a non-empty string or a path; ``search``: a
    list or tuple of folders (strings or paths)."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str):
        raise TypeError(
            f"device name must be a string (a shipped preset's name: {', '.join(preset_names())}; a fitted device's; "
            f"or a path to a card YAML) or a pathlib.Path, got {type(name).__name__} {name!r}"[:300]
        )
    if not name.strip():
        raise DeviceCardError(f"device name is empty ({name!r}); shipped presets: {', '.join(preset_names())}")
    if not isinstance(search, (list, tuple)) or not all(isinstance(f, (str, os.PathLike)) for f in search):
        raise TypeError(
            f"search must be a list or tuple of folders (strings or paths), got {type(search).__name__} {search!r}"
            + ("; a single folder goes in a list: search=[folder]" if isinstance(search, (str, os.PathLike)) else "")
        )
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
