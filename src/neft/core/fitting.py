"""Device-model fitting: from a measured device's per-level conductance statistics to a NeFT device card.

NeFT (paper section 2) describes a 2-bit device by two numbers: the extreme levels err with std sigma', the interior
levels with std s * sigma' (both relative to the device range). The paper says its four cards were "extracted from
measured data" but publishes neither data nor fit, so this module makes that step explicit and repeatable:

    r_l          = std_l / (g_max - g_min)                          measured relative std of level l
    r_hat_l      = sigma' * k_l,   k_l = s for interior levels, else 1
    (sigma', s)  = argmin sum_l (r_l - r_hat_l)^2,   s_min <= s <= s_max     (closed form, see ``fit_two_band``)
    sigma_d      = sigma' * sqrt(f s^2 + 1 - f)                     (f = middle_fraction, NeFT's 0.4)

``sigma_d`` is stored as ``measured_sigma``: evaluating a model at that sigma with the fitted card simulates the
measured device. The free per-level multipliers m_l = r_l / sigma' are kept too, to show what the two-band model
leaves out (e.g. an asymmetry between the lowest and highest level).

Two CSV formats are read (``read_level_stats``): per-level statistics (``std_us``) or raw programmed samples
(``g_us``, one row per sample; std per level = sample std with ddof = 1). ``#`` lines carry the provenance.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from neft.core.devices import DeviceCard
from neft.util.checks import finite_number, read_text

KEY_COLUMNS = ("device", "level", "g_target_us", "g_min_us", "g_max_us")
STATS_COLUMNS = (*KEY_COLUMNS, "std_us")
RAW_COLUMNS = (*KEY_COLUMNS, "g_us")
FIT_COLUMNS = (
    "device",
    "source_device",
    "level",
    "x",
    "band",
    "g_target_us",
    "measured_rel_std",
    "model_rel_std",
    "residual",
    "level_multiplier",
)

#: The presets' layout (src/neft/core/cards/*.yaml): fitted cards differ from them only in s and the extra fields.
DEFAULT_BITS_PER_WEIGHT = 8
DEFAULT_MIDDLE_BAND = (0.25, 0.75)
DEFAULT_MIDDLE_FRACTION = 0.4

#: Largest level number a measured CSV may hold (a 16-bit device; keeps the completeness check small).
MAX_LEVEL = 2**16 - 1

_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):\s*(.*)$")


class DeviceDataError(ValueError):
    """A device-data CSV is missing, malformed or inconsistent (the message names the file)."""


# -- reading -----------------------------------------------------------------------------------------------------
def parse_comments(lines: list[str]) -> dict:
    """Provenance from the ``#`` lines: ``# key: value`` starts a field, ``#   more`` (2+ spaces) continues it;
    every line is also kept verbatim under ``text`` so nothing the data's author wrote is lost."""
    fields: dict[str, str] = {}
    text, key = [], None
    for raw in lines:
        body = raw.lstrip()[1:]  # drop the '#'
        text.append(body[1:] if body.startswith(" ") else body)
        match = _KEY_LINE.match(body.strip())
        if body.startswith("  ") and key is not None and body.strip():
            fields[key] = f"{fields[key]} {body.strip()}".strip()
        elif match and not body.startswith("  "):
            key = match.group(1).lower()
            fields[key] = match.group(2).strip()
        else:
            key = None
    return {**fields, "text": "\n".join(text).strip()}


def _fail(path, message: str) -> DeviceDataError:
    return DeviceDataError(f"device data {path}: {message}")


def _values(column: pd.Series, mask: pd.Series) -> str:
    """The first bad values of ``column`` (as written in the file) for error messages."""
    shown = [repr(v) if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else repr(v) for v in column[mask]]
    return ", ".join(shown[:5]) + (", ..." if len(shown) > 5 else "")


def _rows(mask: pd.Series) -> str:
    """1-based data-row numbers (header excluded, comments excluded) for error messages."""
    idx = [int(i) + 1 for i in np.flatnonzero(mask.to_numpy())]
    return ", ".join(map(str, idx[:5])) + (", ..." if len(idx) > 5 else "")


def read_level_stats(path: str | Path) -> pd.DataFrame:
    """Per-level statistics of every device in ``path`` (either CSV format), validated.

    Returns columns device, level, g_target_us, g_min_us, g_max_us, std_us, n_samples (NA for the statistics
    format); ``df.attrs`` holds ``source`` (the path), ``format`` ('stats' or 'raw') and ``provenance``.
    """
    path = Path(path)
    lines = read_text(path, "device data", error=DeviceDataError).splitlines()
    comments = [ln for ln in lines if ln.lstrip().startswith("#")]
    body_lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not body_lines:
        raise _fail(path, f"no header and no rows (expected columns {', '.join(STATS_COLUMNS)})")
    header = [c.strip() for c in next(csv.reader([body_lines[0]], skipinitialspace=True))]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise _fail(path, f"column(s) {', '.join(repeated)} appear more than once in the header")
    try:
        df = pd.read_csv(io.StringIO("\n".join(body_lines)), dtype={"device": str}, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as err:
        raise _fail(path, f"not a valid CSV ({err})") from err
    df.columns = [str(c).strip() for c in df.columns]

    has_std, has_raw = "std_us" in df.columns, "g_us" in df.columns
    missing = [c for c in KEY_COLUMNS if c not in df.columns]
    if has_std and has_raw:
        raise _fail(path, "has both std_us (per-level statistics) and g_us (raw samples); keep one format per file")
    if not (has_std or has_raw):
        missing.append("std_us (per-level statistics) or g_us (raw samples)")
    if missing:
        raise _fail(path, f"missing column(s) {', '.join(missing)}; found {', '.join(df.columns)}")
    if df.empty:
        raise _fail(path, "has a header but no rows")

    value_col = "std_us" if has_std else "g_us"
    df = df[[*KEY_COLUMNS, value_col]].copy()
    if df["device"].isna().any():
        raise _fail(path, f"empty device name in row(s) {_rows(df['device'].isna())}")
    df["device"] = df["device"].str.strip()
    for col in (*KEY_COLUMNS[1:], value_col):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() | ~np.isfinite(num.astype(float))
        if bad.any():
            raise _fail(
                path,
                f"column {col} must hold finite numbers; bad value(s) {_values(df[col], bad)} in row(s) {_rows(bad)}",
            )
        df[col] = num.astype(float)
    level = df["level"]
    bad = (level % 1 != 0) | (level < 0) | (level > MAX_LEVEL)
    if bad.any():
        raise _fail(
            path,
            f"column level must hold integers 0..{MAX_LEVEL} (the levels of a device of at most 16 bits); "
            f"bad value(s) {_values(level, bad)} in row(s) {_rows(bad)}",
        )
    df["level"] = df["level"].astype(int)

    if has_std:
        neg = df["std_us"] < 0
        if neg.any():
            raise _fail(path, f"column std_us must be >= 0; negative in row(s) {_rows(neg)}")
        dup = df.duplicated(["device", "level"], keep=False)
        if dup.any():
            raise _fail(path, f"duplicate (device, level) rows {_rows(dup)}; the statistics format has one row a level")
        stats = df.assign(n_samples=pd.array([pd.NA] * len(df), dtype="Int64"))
    else:
        stats = _raw_to_stats(df, path)

    _check_devices(stats, path)
    order = {d: i for i, d in enumerate(dict.fromkeys(stats["device"]))}
    stats = stats.sort_values(["device", "level"], key=lambda c: c.map(order) if c.name == "device" else c)
    stats = stats[[*STATS_COLUMNS, "n_samples"]].reset_index(drop=True)
    stats.attrs = {"source": str(path), "format": "stats" if has_std else "raw", "provenance": parse_comments(comments)}
    return stats


def _raw_to_stats(df: pd.DataFrame, path) -> pd.DataFrame:
    """One row per (device, level): the sample std (ddof = 1) of the programmed conductances."""
    groups = df.groupby(["device", "level"], sort=False)
    for col in ("g_target_us", "g_min_us", "g_max_us"):
        varying = groups[col].nunique() > 1
        if varying.any():
            where = ", ".join(f"{d}/{lv}" for d, lv in varying[varying].index[:5])
            raise _fail(path, f"column {col} must be constant within each (device, level) of raw samples: {where}")
    n = groups["g_us"].size()
    if (n < 2).any():
        where = ", ".join(f"{d}/{lv}" for d, lv in n[n < 2].index[:5])
        raise _fail(path, f"column g_us needs >= 2 samples per (device, level) for a std; too few for {where}")
    out = groups.agg(
        g_target_us=("g_target_us", "first"),
        g_min_us=("g_min_us", "first"),
        g_max_us=("g_max_us", "first"),
        std_us=("g_us", lambda g: float(np.std(g.to_numpy(), ddof=1))),
        n_samples=("g_us", "size"),
    ).reset_index()
    out["n_samples"] = out["n_samples"].astype("Int64")
    return out


def _check_devices(stats: pd.DataFrame, path) -> None:
    """Each device: levels 0..2^K-1 all present, one (g_min, g_max) with g_max > g_min, targets rising inside it."""
    for device, d in stats.groupby("device", sort=False):
        levels = sorted(d["level"])
        bits = max(1, math.ceil(math.log2(levels[-1] + 1)))
        expected = list(range(2**bits))
        absent = sorted(set(expected) - set(levels))
        if absent:
            raise _fail(
                path,
                f"device {device!r}: level(s) {absent} missing (column level has {levels}; "
                f"expected 0..{expected[-1]} of a {bits}-bit device)",
            )
        for col in ("g_min_us", "g_max_us"):
            if d[col].nunique() > 1:
                raise _fail(path, f"device {device!r}: column {col} differs between levels")
        g_min, g_max = float(d["g_min_us"].iloc[0]), float(d["g_max_us"].iloc[0])
        if not g_max > g_min:
            raise _fail(path, f"device {device!r}: g_max_us ({g_max}) must exceed g_min_us ({g_min})")
        target = d.sort_values("level")["g_target_us"].to_numpy()
        tol = 1e-6 * (g_max - g_min)
        if (target < g_min - tol).any() or (target > g_max + tol).any() or (np.diff(target) <= 0).any():
            raise _fail(
                path,
                f"device {device!r}: column g_target_us must rise with level inside [g_min_us, g_max_us], "
                f"got {target.tolist()}",
            )


def select_device(stats: pd.DataFrame, device: str) -> pd.DataFrame:
    """The rows of one device, with the file's attrs; an unknown name lists the ones there are."""
    names = list(dict.fromkeys(stats["device"]))
    if device not in names:
        raise DeviceDataError(
            f"device data {stats.attrs.get('source', '<table>')}: no device {device!r}; it has {', '.join(names)}"
        )
    out = stats[stats["device"] == device].reset_index(drop=True)
    out.attrs = dict(stats.attrs)
    return out


# -- fitting -----------------------------------------------------------------------------------------------------
def fit_two_band(rel_std, middle, s_min: float = 1e-2, s_max: float = 1e2) -> tuple[float, float]:
    """Least-squares (sigma', s) of r_l ~ sigma' * (s if middle_l else 1), s in [s_min, s_max].

    Unconstrained, the problem is linear in (a, b) = (sigma', s * sigma'): a and b are the means of the extreme and
    the middle r_l. If b / a falls outside the bounds, the convex optimum lies on the nearer bound ray b = s_b * a,
    where sigma' = sum(k r) / sum(k^2) (the 1-D least squares along that ray).
    """
    r = np.asarray(rel_std, dtype=float)
    mid = np.asarray(middle, dtype=bool)
    if r.shape != mid.shape or r.ndim != 1:
        raise ValueError(f"rel_std and middle must be 1-D and of one length, got shapes {r.shape} and {mid.shape}")
    if not (np.isfinite(r).all() and (r >= 0).all()):
        raise ValueError(f"every relative std must be a finite number >= 0, got {r.tolist()}")
    if not (mid.any() and (~mid).any()):
        raise ValueError("the two-band model needs at least one middle and one extreme level")
    s_min = finite_number(s_min, "s_min", above=0)
    s_max = finite_number(s_max, "s_max", allow_inf=True)
    if not s_min <= s_max:
        raise ValueError(f"need 0 < s_min <= s_max, got {s_min}, {s_max}")
    if not (r > 0).any():
        raise ValueError("every level has zero std: a noise-free device has no sigma' or s to fit")
    a, b = r[~mid].mean(), r[mid].mean()
    if a > 0 and s_min <= b / a <= s_max:
        return float(a), float(b / a)
    s = s_min if a > 0 and b / a < s_min else s_max
    k = np.where(mid, s, 1.0)
    return float((k * r).sum() / (k * k).sum()), float(s)


def fit_device(
    stats: pd.DataFrame,
    name: str,
    *,
    source: str | None = None,
    provenance: dict | None = None,
    bits_per_weight: int = DEFAULT_BITS_PER_WEIGHT,
    middle_band: tuple[float, float] = DEFAULT_MIDDLE_BAND,
    middle_fraction: float = DEFAULT_MIDDLE_FRACTION,
    s_bounds: tuple[float, float] = (1e-2, 1e2),
) -> tuple[DeviceCard, pd.DataFrame]:
    """Fit one device's per-level statistics (rows of ``read_level_stats``) to a NeFT card named ``name``.

    Middle levels are those whose nominal position l / (L - 1) lies strictly inside ``middle_band`` (levels 1 and 2
    of a 2-bit device), the same rule the card applies to |w| / max|W|. ``source``/``provenance`` default to what
    ``read_level_stats`` stored in ``stats.attrs``. ``s_bounds``: the range the middle-level multiplier s is fitted
    in. Returns the card and the per-level fit table.
    """
    s_min, s_max = s_bounds
    source = source if source is not None else stats.attrs.get("source", "<table>")
    provenance = provenance if provenance is not None else stats.attrs.get("provenance", {})
    missing = [c for c in STATS_COLUMNS if c not in stats.columns and c != "device"]
    if missing:
        raise DeviceDataError(f"device data {source}: missing column(s) {', '.join(missing)}")
    devices = list(dict.fromkeys(stats["device"])) if "device" in stats.columns else [name]
    if len(devices) != 1:
        raise DeviceDataError(f"device data {source}: fit one device at a time, got {', '.join(map(str, devices))}")
    source_device = str(devices[0])
    d = stats.sort_values("level").reset_index(drop=True)
    n_levels = len(d)
    if d["level"].tolist() != list(range(n_levels)) or n_levels < 2 or n_levels & (n_levels - 1):
        raise DeviceDataError(
            f"device data {source}: device {source_device!r} needs levels 0..2^K-1, got {d['level'].tolist()}"
        )
    for col in ("g_min_us", "g_max_us", "std_us"):
        values = pd.to_numeric(d[col], errors="coerce").astype(float)
        if not np.isfinite(values).all():
            raise DeviceDataError(
                f"device data {source}: device {source_device!r}: column {col} must hold finite numbers, "
                f"got {d[col].tolist()}"
            )
    if (d["std_us"] < 0).any():
        raise DeviceDataError(f"device data {source}: device {source_device!r}: column std_us must be >= 0")
    bits_per_device = int(math.log2(n_levels))

    g_range = float(d["g_max_us"].iloc[0] - d["g_min_us"].iloc[0])
    if not g_range > 0:
        raise DeviceDataError(
            f"device data {source}: device {source_device!r}: g_max_us must exceed g_min_us, got a range of {g_range}"
        )
    rel = (d["std_us"] / g_range).to_numpy(dtype=float)
    x = d["level"].to_numpy(dtype=float) / (n_levels - 1)
    lo, hi = middle_band
    middle = (x > lo) & (x < hi)
    try:
        sigma_p, s = fit_two_band(rel, middle, s_min=s_min, s_max=s_max)
    except ValueError as err:
        raise DeviceDataError(f"device data {source}: device {source_device!r}: {err}") from err

    model = sigma_p * np.where(middle, s, 1.0)
    residual = rel - model
    rmse = float(np.sqrt(np.mean(residual**2)))
    ss_tot = float(((rel - rel.mean()) ** 2).sum())
    ss_res = float((residual**2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    pos = rel > 0
    max_rel_error = float(np.max(np.abs(residual[pos]) / rel[pos]))
    multipliers = rel / sigma_p
    measured_sigma = sigma_p * math.sqrt(middle_fraction * s * s + 1.0 - middle_fraction)

    table = pd.DataFrame(
        {
            "device": name,
            "source_device": source_device,
            "level": d["level"].astype(int),
            "x": x,
            "band": np.where(middle, "middle", "extreme"),
            "g_target_us": d["g_target_us"].astype(float),
            "measured_rel_std": rel,
            "model_rel_std": model,
            "residual": residual,
            "level_multiplier": multipliers,
        }
    )[list(FIT_COLUMNS)]

    citation = provenance.get("citation") or provenance.get("text") or "not given in the data file"
    at_bound = s in (s_min, s_max) and not (s_min == s_max)
    # the card's description names the module as it was called when the fitted cards were first written
    # (neft.fitting, now neft.core.fitting), so a refitted card, and every checkpoint recording its sha256, stays
    # byte-identical
    notes = (
        f"Fitted by neft.fitting from the per-level std of device {source_device!r} ({n_levels} levels, "
        f"{stats.attrs.get('format', 'stats')} format): least squares of r_l = std_l / (g_max - g_min) against "
        f"sigma' (levels outside the middle band {list(middle_band)}) and s * sigma' (inside), closed form"
        + (f", s held at its bound {s:g}" if at_bound else "")
        + f". measured_sigma = sigma' * sqrt({middle_fraction:g} s^2 + {1 - middle_fraction:g}) is the sigma_d at "
        "which this card reproduces the device; level_multipliers are the free per-level r_l / sigma'."
    )
    card_provenance = {"source": str(source), "source_device": source_device, "citation": citation, "notes": notes}
    data_notes = {k: v for k, v in provenance.items() if k not in ("citation", "text")}
    if data_notes:
        card_provenance["data"] = data_notes
    card = DeviceCard(
        name=name,
        bits_per_weight=bits_per_weight,
        bits_per_device=bits_per_device,
        middle_multiplier=float(s),
        middle_band=(float(lo), float(hi)),
        middle_fraction=float(middle_fraction),
        provenance=card_provenance,
        description=(
            f"fitted to {source_device}: middle levels {s:.3g}x noisier than the extreme ones; "
            f"sigma_d = {measured_sigma:.4g} reproduces the measured variation"
        ),
        sigma_scale=1.0,
        extra={
            "measured_sigma": float(measured_sigma),
            "level_multipliers": [float(m) for m in multipliers],
            "fit": {
                "sigma_prime": float(sigma_p),
                "s": float(s),
                "s_at_bound": bool(at_bound),
                "rmse": rmse,
                "r2": float(r2),
                "max_rel_error": max_rel_error,
                "n_levels": int(n_levels),
                "measured_rel_std": [float(v) for v in rel],
            },
        },
    )
    return card, table


def fit_file(path: str | Path, source_device: str, name: str, **kwargs) -> tuple[DeviceCard, pd.DataFrame]:
    """Read ``path``, pick ``source_device`` and fit it: what the workflow's fit_device rule runs."""
    return fit_device(select_device(read_level_stats(path), source_device), name, **kwargs)


def read_fit_table(path: str | Path) -> pd.DataFrame:
    text = read_text(path, "fit table", error=DeviceDataError)
    try:
        table = pd.read_csv(io.StringIO(text), dtype={"device": str, "source_device": str, "band": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise DeviceDataError(f"fit table {path}: not a valid CSV ({err})") from err
    missing = [c for c in FIT_COLUMNS if c not in table.columns]
    if missing:
        raise DeviceDataError(f"fit table {path}: missing column(s) {', '.join(missing)}")
    return table


# -- figure ------------------------------------------------------------------------------------------------------
_TIME_SUFFIX = re.compile(r"_(\d+(?:\.\d+)?)(s|min|h|d)$")
_TIME_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def time_since_programming(name: str, card: DeviceCard | None = None) -> float | None:
    """Seconds since programming that a card's name (or its source device's) ends in, e.g. RRAM_Wan2022_1d ->
    86400; None for a card without one."""
    candidates = [name, *([card.provenance.get("source_device", "")] if card is not None else [])]
    for text in candidates:
        match = _TIME_SUFFIX.search(str(text))
        if match:
            return float(match.group(1)) * _TIME_UNITS[match.group(2)]
    return None
