"""Two-level statistics (training seeds, then chips): coverage on a simulated population with a known mean, the
one-seed case equal to the chip-only statistics, paired differences by hand, and three-way verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from neft.util.stats import paired_difference, paired_two_level, summarize, two_level, verdict


@pytest.mark.parametrize("seeds,chips,sd_between,sd_within", [(3, 50, 2.0, 5.0), (5, 20, 0.5, 8.0), (3, 200, 4.0, 1.0)])
def test_interval_covers_the_true_mean_95_percent_of_the_time(seeds, chips, sd_between, sd_within):
    rng = np.random.default_rng(12)
    true_mean, studies, hits = 80.0, 2000, 0
    for _ in range(studies):
        offsets = rng.normal(0.0, sd_between, seeds)
        groups = [true_mean + o + rng.normal(0.0, sd_within, chips) for o in offsets]
        s = two_level(groups)
        hits += s["ci95_low"] <= true_mean <= s["ci95_high"]
    assert abs(100.0 * hits / studies - 95.0) <= 2.5, hits / studies


def test_chip_only_intervals_would_undercover():
    """The reason for the second level: treating all chips as one sample ignores the seed-to-seed spread."""
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(1000):
        groups = [80.0 + rng.normal(0, 3.0) + rng.normal(0, 2.0, 100) for _ in range(3)]
        s = summarize(np.concatenate(groups), levels=(0.95,))
        hits += s["ci95_low"] <= 80.0 <= s["ci95_high"]
    assert hits / 1000 < 0.6


def test_variance_split_recovers_the_simulated_parts():
    rng = np.random.default_rng(5)
    between, within = [], []
    for _ in range(400):
        groups = [50.0 + rng.normal(0, 3.0) + rng.normal(0, 4.0, 100) for _ in range(6)]
        s = two_level(groups)
        between.append(s["sd_between_seeds"] ** 2)
        within.append(s["sd_within_seed"] ** 2)
    assert np.mean(within) == pytest.approx(16.0, rel=0.02)
    assert np.mean(between) == pytest.approx(9.0, rel=0.1)


def test_one_seed_is_exactly_the_chip_statistics():
    chips = np.random.default_rng(0).normal(70, 6, 50)
    s, c = two_level([chips]), summarize(chips, levels=(0.95,))
    for key in ("mean", "ci95_low", "ci95_high", "p1", "p5"):
        assert s[key] == c[key]
    assert s["seeds"] == 1 and s["chips_per_seed"] == 50 and np.isnan(s["sd_between_seeds"])
    p = paired_two_level([chips], [chips - 1.5])
    q = paired_difference(chips, chips - 1.5)
    assert (p["diff"], p["ci_low"], p["ci_high"]) == pytest.approx((q["diff"], q["ci_low"], q["ci_high"]))


def test_paired_difference_by_hand():
    a = [np.array([90.0, 80.0]), np.array([85.0, 75.0]), np.array([70.0, 72.0])]
    b = [np.array([88.0, 79.0]), np.array([80.0, 75.0]), np.array([71.0, 70.0])]
    # per seed: mean of chip-wise differences (2, 1) -> 1.5, (5, 0) -> 2.5, (-1, 2) -> 0.5; mean 1.5, sd 1.0
    p = paired_two_level(a, b)
    half = 4.302652729911275 * 1.0 / np.sqrt(3)  # t(0.975, 2)
    assert p["diff"] == pytest.approx(1.5)
    assert (p["ci_low"], p["ci_high"]) == pytest.approx((1.5 - half, 1.5 + half))
    assert p["seeds"] == 3 and p["chips"] == 6
    with pytest.raises(ValueError, match="seed group 0 has 2 chips against 1"):
        paired_two_level([np.zeros(2)], [np.zeros(1)])


@pytest.mark.parametrize(
    "low,high,expected",
    [
        (0.5, 2.0, "holds"),
        (-2.0, -0.1, "does not hold"),
        (-1.0, 1.0, "undecided"),
        (0.0, 0.0, "undecided"),
        (float("nan"), 1.0, "undecided"),
    ],
)
def test_verdicts(low, high, expected):
    assert verdict(low, high) == expected


def test_a_constructed_tie_is_undecided():
    same = [np.full(10, 80.0) + i for i in range(3)]
    noisy = [g + np.array([1, -1] * 5) for g in same]
    p = paired_two_level(noisy, same)
    assert p["diff"] == 0.0 and verdict(p["ci_low"], p["ci_high"]) == "undecided"
