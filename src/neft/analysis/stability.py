"""How stable is a claim's verdict? Each claim of ours is redone on resamples of its training seeds, and the share
of resamples that give the full data's verdict is reported with it; for an undecided claim, how many seeds would
decide it (docs/methods.md, verdict stability).

- **Seed resamples** (:func:`claim_stability`): the training seed is the unit of replication (every interval of
  ours is over seeds), so the seeds are what is resampled: n seed labels drawn with replacement, one draw for the
  whole claim (every point, every method: seed i of one method is paired with seed i of the other), a seed drawn
  twice counting as two groups (``neft.analysis.claims.SeedEvidence.resampled``). The whole claim is redone on each
  resample: the best-by-mean choices of its groups, every point's interval and verdict, and the claim-level aggregation.
  All n^n ordered draws are enumerated when n^n <= 1000 (27 for three seeds), otherwise 1000 draws are made with
  ``numpy.random.default_rng(0)``: the same inputs always give the same numbers. A draw of one seed repeated has
  no between-seed spread, so its intervals have width zero and decide on the sign of that seed's difference alone;
  such draws are kept (n of the n^n, 3 of 27 with three seeds): they side with a decided verdict whose seeds all
  differ in the claimed direction, and against an undecided one. With one seed there is nothing to resample: no
  stability ("one seed").
- **Seeds to decide** (:func:`seeds_to_decide`): for each point of an undecided claim whose interval spans a
  boundary, the smallest n >= 2 with t(0.975, n - 1) x sd / sqrt(n) < |d| (d: the mean of the seeds' mean
  differences, sd their standard deviation, ddof=1; ``neft.util.stats.seeds_to_decide``), the claim's number the largest
  over those points (all of them decided); none where a point's d is on the boundary, sd is not estimable or no n
  up to 1000 does it.
- **Convergence** (:func:`convergence_stability`): convergence.csv holds, per method and point, k converged of n
  runs (one run per seed), and Newcombe's interval treats the methods' fractions as independent; so each method's
  n runs (k ones, n - k zeros) are resampled with replacement independently of the other methods' (the ordered
  draws of its runs, not a binomial model), enumerated when the product of n^n over the claim's rows is <= 1000,
  otherwise 1000 draws with ``default_rng(0)``. Seeds to decide are not given for it (its test is not a
  t-interval over seed means).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neft.analysis import claims
from neft.util import stats as st

MAX_DRAWS = 1000
RNG_SEED = 0
#: the kinds the convergence claim compares (each NeFT instance against W/ Noise and CorrectNet)
CONVERGENCE_KINDS = (*claims.NEFT_KINDS, "noise_injection", "correctnet")


@dataclass(frozen=True)
class Stability:
    """A verdict's stability: ``share`` of ``resamples`` giving the full data's verdict (NaN and None where there is
    none, ``reason`` says why), and ``seeds_to_decide`` for an undecided claim (None where not applicable)."""

    share: float = math.nan
    resamples: int | None = None
    seeds_to_decide: int | None = None
    reason: str = ""


def seed_draws(seeds, max_draws: int = MAX_DRAWS, rng_seed: int = RNG_SEED) -> list[tuple]:
    """Resamples of ``seeds`` with replacement, as ordered draws of n labels: all n^n of them when n^n <=
    ``max_draws`` (in lexicographic order), else ``max_draws`` drawn by ``default_rng(rng_seed)``."""
    seeds = list(seeds)
    n = len(seeds)
    if n == 0:
        return []
    if n**n <= max_draws:
        return list(itertools.product(seeds, repeat=n))
    idx = np.random.default_rng(rng_seed).integers(0, n, size=(max_draws, n))
    return [tuple(seeds[i] for i in row) for row in idx]


def _open(c: dict, boundaries) -> bool:
    """A comparison not yet decided against ``boundaries``: its interval spans one of them, or is not a number."""
    low, high = c["ci_low"], c["ci_high"]
    if not (np.isfinite(low) and np.isfinite(high)):
        return True
    return any(low <= b <= high for b in boundaries)


def seeds_to_decide(judged: claims.Judged) -> int | None:
    """The seeds that would decide an undecided claim (module docstring); None for any other verdict."""
    if judged.verdict != claims.UNDECIDED:
        return None
    needed = []
    for _, _, c in judged.checked.points:
        if not _open(c, judged.boundaries):
            continue
        if int(c.get("seeds", 0)) < 2:
            return None
        n = st.seeds_to_decide(c["diff"], c.get("sd_seed_means", math.nan), judged.boundaries)
        if n is None:
            return None
        needed.append(n)
    return max(needed) if needed else None


def claim_stability(judge, ev, judged: list[claims.Judged] | None = None) -> list[Stability]:
    """For each claim ``judge`` (``neft.analysis.claims.JUDGES``) makes on ``ev``: its stability over seed resamples and
    the seeds that would decide it. ``judged``: ``judge(ev)`` when already computed. Evidence without seeds (the
    paper's points) has none."""
    judged = judge(ev) if judged is None else judged
    if not hasattr(ev, "resampled"):
        return [Stability(reason="no seeds") for _ in judged]
    seeds = ev.seeds()
    if len(seeds) < 2:
        return [Stability(reason="one seed" if j.verdict is not None else "not evaluable") for j in judged]
    draws = seed_draws(seeds)
    # every statistic of a claim (means over seeds, the t-interval over the seeds' means) is symmetric in the seeds,
    # so a resample's verdicts depend on how often each seed is drawn, not on the order: judge each multiset once
    agree: dict[tuple, np.ndarray] = {}
    for key in dict.fromkeys(tuple(sorted(d)) for d in draws):
        redone = judge(ev.resampled(key))
        agree[key] = np.array([r.verdict == j.verdict for r, j in zip(redone, judged, strict=True)], dtype=np.int64)
    same = np.zeros(len(judged), dtype=np.int64)
    for draw in draws:
        same += agree[tuple(sorted(draw))]
    return [
        Stability(float(k / len(draws)), len(draws), seeds_to_decide(j))
        if j.verdict is not None
        else Stability(reason="not evaluable")
        for k, j in zip(same.tolist(), judged)
    ]


def convergence_stability(summary: pd.DataFrame, sigma_scale: float = 1.0) -> Stability:
    """The convergence claim's stability over resamples of each method's runs (module docstring); ``summary`` as
    ``neft.analysis.claims.convergence_claim`` reads it (convergence.csv with a ``kind`` column)."""
    full = claims.convergence_claim(summary, sigma_scale)[1]
    if full is None:
        return Stability(reason="not evaluable")
    rows = np.flatnonzero(summary["kind"].isin(CONVERGENCE_KINDS).to_numpy())
    runs = summary["runs"].to_numpy(dtype=np.int64)[rows]
    converged = summary["converged"].to_numpy(dtype=np.int64)[rows]
    if (runs <= 1).all():
        return Stability(reason="one seed")
    outcomes = [np.r_[np.ones(k, dtype=np.int64), np.zeros(n - k, dtype=np.int64)] for k, n in zip(converged, runs)]
    total = 1
    for n in runs.tolist():
        total *= n**n
        if total > MAX_DRAWS:
            break
    if total <= MAX_DRAWS:
        per_row = [[int(o[list(d)].sum()) for d in itertools.product(range(len(o)), repeat=len(o))] for o in outcomes]
        draws = list(itertools.product(*per_row))
    else:
        rng = np.random.default_rng(RNG_SEED)
        draws = [tuple(int(o[rng.integers(0, len(o), size=len(o))].sum()) for o in outcomes) for _ in range(MAX_DRAWS)]
    column = summary["converged"].to_numpy(dtype=np.int64).copy()
    verdicts: dict[tuple, str | None] = {}  # the claim depends on the counts alone: judge each distinct one once
    for counts in dict.fromkeys(draws):
        column[rows] = counts
        verdicts[counts] = claims.convergence_claim(summary.assign(converged=column), sigma_scale)[1]
    same = sum(verdicts[counts] == full for counts in draws)
    return Stability(same / len(draws), len(draws), None)
