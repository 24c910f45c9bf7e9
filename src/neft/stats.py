"""Statistics over chips: what users of a Monte-Carlo robustness study ask for."""

from __future__ import annotations

import numpy as np
from scipy import stats


def ci_half_width(values, level: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean (nan below two chips)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))


def summarize(values, levels=(0.95, 0.99), percentiles=(1, 5)) -> dict:
    """Mean, std (ddof=1), CIs of the mean and worst-case percentiles of per-chip values."""
    v = np.asarray(values, dtype=np.float64)
    out = {
        "chips": len(v),
        "mean": float(v.mean()) if len(v) else float("nan"),
        "std": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
    }
    for level in levels:
        h = ci_half_width(v, level)
        tag = f"{round(level * 100):d}"
        out[f"ci{tag}_low"] = out["mean"] - h
        out[f"ci{tag}_high"] = out["mean"] + h
    for p in percentiles:
        out[f"p{p}"] = float(np.percentile(v, p)) if len(v) else float("nan")
    return out


def paired_difference(a, b, level: float = 0.95) -> dict:
    """Mean of a - b over the same chips, with its Student-t CI (the chips are shared, so pairing removes the
    chip-to-chip variance both methods see)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    h = ci_half_width(d, level)
    m = float(d.mean()) if len(d) else float("nan")
    return {"chips": len(d), "diff": m, "ci_low": m - h, "ci_high": m + h}
