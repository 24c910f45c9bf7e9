"""Statistics over chips: what users of a Monte-Carlo robustness study ask for."""

from __future__ import annotations

import functools

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


# -- two levels: training seeds, then chips ---------------------------------------------------------------------
def two_level(groups, level: float = 0.95, percentiles=(1, 5)) -> dict:
    """Statistics of per-chip values measured on several trained models (one group of chips per training seed).

    The point estimate is the mean over seeds of the per-seed chip means. The interval is a Student-t interval over
    those seed means (seeds - 1 degrees of freedom): the seed is the unit of replication, and the variance of a
    seed mean already holds both sources (between-seed variance plus within-seed chip variance over the chips), so
    the interval is exact for normal, balanced data and needs no model of either part. With one seed there is
    nothing to replicate over, and the result is the chip-level interval of :func:`summarize`, exactly. The
    variance split is the one-way random-effects (method of moments) estimate: ``sd_within_seed`` from the pooled
    per-seed chip variances, ``sd_between_seeds`` from what the seed means vary beyond what their chips explain
    (0 when they vary less). Percentiles are over all chips of all seeds."""
    arrays = [np.asarray(g, dtype=np.float64) for g in groups]
    arrays = [a for a in arrays if len(a)]
    tag = f"{round(level * 100):d}"
    if not arrays:
        nan = float("nan")
        return {
            "seeds": 0,
            "chips": 0,
            "chips_per_seed": 0,
            "mean": nan,
            f"ci{tag}_low": nan,
            f"ci{tag}_high": nan,
            "sd_between_seeds": nan,
            "sd_within_seed": nan,
            **{f"p{p}": nan for p in percentiles},
        }
    pooled = np.concatenate(arrays)
    sizes = [len(a) for a in arrays]
    means = np.array([a.mean() for a in arrays])
    within = [a.var(ddof=1) for a in arrays if len(a) > 1]
    var_within = float(np.mean(within)) if within else float("nan")
    out = {
        "seeds": len(arrays),
        "chips": int(pooled.size),
        "chips_per_seed": min(sizes) if len(set(sizes)) == 1 else float(np.mean(sizes)),
    }
    if len(arrays) == 1:
        chip = summarize(arrays[0], levels=(level,), percentiles=())
        out |= {"mean": chip["mean"], f"ci{tag}_low": chip[f"ci{tag}_low"], f"ci{tag}_high": chip[f"ci{tag}_high"]}
        out["sd_between_seeds"] = float("nan")  # one seed: not estimable
    else:
        m = float(means.mean())
        h = float(stats.t.ppf(0.5 + level / 2, len(means) - 1) * means.std(ddof=1) / np.sqrt(len(means)))
        out |= {"mean": m, f"ci{tag}_low": m - h, f"ci{tag}_high": m + h}
        excess = means.var(ddof=1) - (var_within * np.mean([1.0 / n for n in sizes]) if within else 0.0)
        out["sd_between_seeds"] = float(np.sqrt(max(excess, 0.0)))
    out["sd_within_seed"] = float(np.sqrt(var_within)) if within else float("nan")
    for p in percentiles:
        out[f"p{p}"] = float(np.percentile(pooled, p))
    return out


def paired_two_level(a_groups, b_groups, level: float = 0.95) -> dict:
    """Method A minus method B, paired twice: per seed on the same chips (seed i of A against seed i of B: same data
    order, initialisation and chip seeds), then summarised across seeds by :func:`two_level`. With one seed it is
    :func:`paired_difference`. ``sd_seed_means``: the standard deviation (ddof=1) of the seeds' mean differences,
    the spread the interval over seeds is built from (NaN below two seeds)."""
    a_groups, b_groups = list(a_groups), list(b_groups)
    if len(a_groups) != len(b_groups):
        raise ValueError(f"paired seeds: {len(a_groups)} groups against {len(b_groups)}")
    diffs = []
    for i, (a, b) in enumerate(zip(a_groups, b_groups)):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"paired seeds: seed group {i} has {a.size} chips against {b.size}")
        diffs.append(a - b)
    out = two_level(diffs, level=level, percentiles=())
    tag = f"{round(level * 100):d}"
    seed_means = [d.mean() for d in diffs if d.size]
    return {
        "seeds": out["seeds"],
        "chips": out["chips"],
        "diff": out["mean"],
        "ci_low": out[f"ci{tag}_low"],
        "ci_high": out[f"ci{tag}_high"],
        "sd_between_seeds": out["sd_between_seeds"],
        "sd_within_seed": out["sd_within_seed"],
        "sd_seed_means": float(np.std(seed_means, ddof=1)) if len(seed_means) > 1 else float("nan"),
    }


def seeds_to_decide(diff: float, sd: float, boundaries=(0.0,), level: float = 0.95, cap: int = 1000) -> int | None:
    """How many training seeds would decide a comparison whose interval now spans a boundary, were the seeds' mean
    differences to keep their measured mean ``diff`` and spread ``sd`` (ddof=1): the smallest n >= 2 with
    t(0.5 + level/2, n - 1) x sd / sqrt(n) < |diff - b| for every boundary b (the t-interval over n seeds then lies
    wholly on one side of each). None where no n up to ``cap`` does: ``diff`` on a boundary, ``sd`` not estimable
    (one seed) or too large."""
    if not (np.isfinite(diff) and np.isfinite(sd)) or sd < 0:
        return None
    margin = min(abs(diff - b) for b in boundaries)
    if margin <= 0:
        return None
    n = np.arange(2, cap + 1)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
    ok = np.flatnonzero(half < margin)
    return int(n[ok[0]]) if ok.size else None


def verdict(low: float, high: float, boundary: float = 0.0, holds_above: bool = True) -> str:
    """A claim judged by an interval: 'holds' when it lies wholly on the claimed side of ``boundary``, 'does not
    hold' when wholly on the other side, 'undecided' when it spans the boundary (or is not a number)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "undecided"
    above, below = low > boundary, high < boundary
    if above or below:
        return "holds" if above == holds_above else "does not hold"
    return "undecided"


# -- proportions (convergence over seeds) ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _normal_quantile(q: float) -> float:
    return float(stats.norm.ppf(q))


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a binomial proportion: unlike the normal interval it stays inside [0, 1] and is
    not empty at 0 or n successes, which matters at a handful of seeds."""
    if n <= 0:
        return float("nan"), float("nan")
    z = _normal_quantile(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(centre - half, 0.0)
    high = 1.0 if successes == n else min(centre + half, 1.0)
    return float(low), float(high)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> dict:
    """p1 - p2 with Newcombe's hybrid score interval (his method 10: built from the two Wilson intervals), the
    standard small-sample interval for a difference of two independent proportions."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, level)
    l2, u2 = wilson_interval(x2, n2, level)
    d = p1 - p2
    return {
        "diff": d,
        "ci_low": d - float(np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
        "ci_high": d + float(np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)),
    }


def bootstrap_mean_interval(values, standard_errors, level: float = 0.95) -> tuple[float, float]:
    """Normal interval for the mean of per-seed estimates, each with a chip-bootstrap standard error: the band
    says how much the chips drawn move the mean (conditional on the trained seeds), clipped at 0 for quantities
    that cannot be negative. NaN where any seed has no standard error."""
    values = np.asarray(values, dtype="float64")
    se = np.asarray(standard_errors, dtype="float64")
    if len(values) == 0 or not np.isfinite(se).all():
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + level / 2))
    mean = float(values.mean())
    half = z * float(np.sqrt((se**2).sum())) / len(values)
    return max(0.0, mean - half), mean + half
