"""The paper's qualitative claims as tests: every comparison a claim makes is an interval, and each claim gets one of
three verdicts, "holds", "does not hold" or "undecided" (an interval spans the decision boundary).

One code path judges both sources of numbers, through an *evidence* object that answers "A minus B at this point,
with its interval":

- :class:`SeedEvidence`, our runs: per training seed, the per-chip values of A and B on the same chips (seed i of A
  against seed i of B: same data order, initialisation and chip seeds), summarised across seeds by
  ``neft.util.stats.paired_two_level`` (a t-interval over the seeds' mean differences; with one seed, the chip-level
  interval). Expected KL is a property of a whole sweep, not of a chip: each seed contributes its sweep's value, so
  its interval is over seeds alone (none with one seed: undecided).
- :class:`PointEvidence`, the paper's plotted numbers: the difference of two points, an interval of width zero
  (a tie is undecided).

How a claim over several points is decided: it holds when every point's comparison holds, does not hold when any
point's does not hold, and is undecided otherwise. Requiring every point to hold at 95 % is an intersection-union
test, valid at 95 % without a multiplicity correction; "does not hold" on one point of many is not corrected for
the number of points (docs/methods.md).

Where a claim compares groups ("the best of OVF and IRS" against "the best baseline"), the best member of each group
is chosen by its mean, and the chosen pair is tested.

Each claim is also *judged* (:class:`Judged`: the verdict with the comparisons it rests on), so that
``neft.analysis.stability`` can redo it on resamples of the training seeds (:meth:`SeedEvidence.resampled`) and say how
stable the verdict is, and how many seeds would decide an undecided one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neft.analysis.ablation import by_seed
from neft.analysis.tables import count_span
from neft.experiment.grid import point_source
from neft.report.labels import DATASET_NAMES, MODEL_NAMES
from neft.util.sigma import to_paper_sigma
from neft.util.stats import newcombe_difference, paired_two_level, verdict

BASELINE_KINDS = ("plain", "noise_injection", "correctnet")
NEFT_KINDS = ("ovf", "irs")
#: the paper's names of its methods (the kinds), as the claims name them
PAPER_NAMES = {
    "plain": "W/O Noise",
    "noise_injection": "W/ Noise",
    "correctnet": "CorrectNet",
    "ovf": "OVF",
    "irs": "IRS",
}
HOLDS, FAILS, UNDECIDED = "holds", "does not hold", "undecided"
#: what every claim's result carries: (claim, verdict or None when no point matched, evidence, test, n)
Result = tuple[str, "str | None", str, str, str]


# -- evidence --------------------------------------------------------------------------------------------------------
@dataclass
class PointEvidence:
    """Point values (model, dataset, kind, sigma, value), sigma on the paper's scale: differences without intervals."""

    table: pd.DataFrame

    def panels(self) -> list[tuple[str, str]]:
        return list(self.table[["model", "dataset"]].drop_duplicates().itertuples(index=False, name=None))

    def sigmas(self, model: str, dataset: str) -> list[str]:
        t = self.table
        return sorted(t[(t.model == model) & (t.dataset == dataset)]["sigma"].unique(), key=float)

    def mean(self, model: str, dataset: str, kind: str, sigma: str) -> float | None:
        t = self.table
        g = t[(t.model == model) & (t.dataset == dataset) & (t.kind == kind) & (t.sigma == sigma)]
        return None if g.empty else float(g["value"].iloc[0])

    def compare(self, model: str, dataset: str, sigma: str, a: str, b: str) -> dict:
        d = self.mean(model, dataset, a, sigma) - self.mean(model, dataset, b, sigma)
        return {"diff": d, "ci_low": d, "ci_high": d, "seeds": 1, "chips": 1}


@dataclass
class SeedEvidence:
    """Our Monte-Carlo rows, paired per training seed and chip.

    ``chips``: mc_chips.csv rows (one per chip); ``summary``: mc_summary.csv rows (one per sweep: expected KL);
    ``kinds``: method -> kind for the methods the claims read; ``methods``: the config's method specs (which
    experiment stands for a point: ``neft.experiment.grid.point_source``); ``metric``: a chip column (``accuracy``,
    ``confidence_correct``) or ``ekl`` (per sweep, in units of 1e-2 nats like the paper's figure)."""

    chips: pd.DataFrame
    summary: pd.DataFrame
    kinds: dict
    methods: dict
    sigma_scale: float
    metric: str = "accuracy"
    device: str | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._draw, self._parent = None, None  # a resample (``resampled``): its draw of seeds and the full evidence
        source = self.summary if self.metric == "ekl" else self.chips
        if self.device is not None:
            source = source[source.device == self.device]
        self._rows = source
        self._ours = {}  # (model, dataset, kind, paper sigma) -> our sigma
        for model, dataset in source[["model", "dataset"]].drop_duplicates().itertuples(index=False, name=None):
            for s in source[(source.model == model) & (source.dataset == dataset)]["sigma_test"].unique():
                for method, kind in self.kinds.items():
                    if not self._values(model, dataset, method, s).empty:
                        self._ours[(model, dataset, kind, to_paper_sigma(s, self.sigma_scale))] = (method, s)

    def _values(self, model: str, dataset: str, method: str, sigma: str) -> pd.Series:
        """Per (seed, chip) values of the experiment standing for ``method``'s point at ``sigma``."""
        key = (model, dataset, method, sigma)
        if self._draw is not None and key not in self._cache:  # a resample: draw i of the full data is seed i
            parts = self._parent._values(*key)
            present = set(parts.index.get_level_values("seed"))
            draws = {i: parts.xs(s, level="seed") for i, s in enumerate(self._draw) if s in present}
            self._cache[key] = (pd.concat(draws, names=["seed", "chip"]) if draws else parts.iloc[:0]).sort_index()
        if key not in self._cache:
            source, train_sigma = point_source(self.methods, method, sigma)
            r = self._rows
            g = r[
                (r.model == model)
                & (r.dataset == dataset)
                & (r.method == source)
                & (r.sigma_train == train_sigma)
                & (r.sigma_test == sigma)
            ]
            if self.metric == "ekl":
                values = g.assign(chip=0).set_index(["seed", "chip"])["ekl"] * 100.0
            else:
                values = g.set_index(["seed", "chip"])[self.metric]
            self._cache[key] = values.dropna().sort_index()
        return self._cache[key]

    # -- resampling the training seeds (neft.analysis.stability) -------------------------------------------------------
    def seeds(self) -> list:
        """The training seeds of the rows (of a resample: its draws, 0 .. n-1)."""
        if self._draw is not None:
            return list(range(len(self._draw)))
        return sorted(self._rows["seed"].unique().tolist())

    def resampled(self, seed_draw) -> SeedEvidence:
        """The same evidence on a resample of its training seeds: ``seed_draw`` lists seeds of this evidence (with
        repeats), and draw i becomes seed i of the copy, so a seed drawn twice is two groups. Every method and point
        sees the same draw (seeds pair the methods). The copy shares the rows and the points (which method stands
        for which point) and reads its values from this evidence's per-seed values: nothing is filtered again."""
        root = self if self._draw is None else self._parent
        draw = tuple(seed_draw) if self._draw is None else tuple(self._draw[int(i)] for i in seed_draw)
        new = copy.copy(self)  # shallow: rows, summary and _ours shared
        new._cache, new._draw, new._parent = {}, draw, root
        return new

    def _seed_parts(self, key: tuple) -> dict:
        """(full evidence) seed -> chip-ordered values (numpy) of ``key``'s point."""
        ck = ("seed parts", *key)
        if ck not in self._cache:
            v = self._values(*key)
            self._cache[ck] = {s: g.to_numpy() for s, g in v.groupby(level="seed", sort=True)}
        return self._cache[ck]

    def _pair_parts(self, ka: tuple, kb: tuple) -> dict:
        """(full evidence) seed -> (values of A, values of B) on the chips both have, chip-ordered."""
        ck = ("pair parts", ka, kb)
        if ck not in self._cache:
            va, vb = self._values(*ka), self._values(*kb)
            common = va.index.intersection(vb.index)
            va, vb = va[common], vb[common]
            self._cache[ck] = dict(zip(sorted(set(common.get_level_values("seed"))), zip(by_seed(va), by_seed(vb))))
        return self._cache[ck]

    def panels(self) -> list[tuple[str, str]]:
        return sorted({(m, d) for m, d, _, _ in self._ours})

    def sigmas(self, model: str, dataset: str) -> list[str]:
        return sorted({s for m, d, _, s in self._ours if (m, d) == (model, dataset)}, key=float)

    def mean(self, model: str, dataset: str, kind: str, sigma: str) -> float | None:
        """The two-level point estimate: the mean over seeds of the seeds' chip means."""
        if (model, dataset, kind, sigma) not in self._ours:
            return None
        key = (model, dataset, *self._ours[(model, dataset, kind, sigma)])
        if self._draw is not None:
            parts = self._parent._seed_parts(key)
            means = [parts[s].mean() for s in self._draw if s in parts]
            return float(np.mean(means)) if means else None
        v = self._values(*key)
        return float(v.groupby(level="seed").mean().mean())

    def compare(self, model: str, dataset: str, sigma: str, a: str, b: str) -> dict:
        if self._draw is not None:
            ka = (model, dataset, *self._ours[(model, dataset, a, sigma)])
            kb = (model, dataset, *self._ours[(model, dataset, b, sigma)])
            pairs = self._parent._pair_parts(ka, kb)
            drawn = [pairs[s] for s in self._draw if s in pairs]
            d = paired_two_level([p[0] for p in drawn], [p[1] for p in drawn])
            return d | {"chips": d["chips"] // max(d["seeds"], 1)}
        va = self._values(model, dataset, *self._ours[(model, dataset, a, sigma)])
        vb = self._values(model, dataset, *self._ours[(model, dataset, b, sigma)])
        common = va.index.intersection(vb.index)
        va, vb = va[common], vb[common]
        d = paired_two_level(by_seed(va), by_seed(vb))
        return d | {"chips": d["chips"] // max(d["seeds"], 1)}


# -- point and claim verdicts ----------------------------------------------------------------------------------------
@dataclass
class Checked:
    """The comparisons one claim made: where, the verdict of each, and how many seeds and chips stood behind them."""

    points: list[tuple[str, str, dict]] = field(default_factory=list)

    def add(self, where: str, verdict_: str, comparison: dict) -> None:
        self.points.append((where, verdict_, comparison))

    def verdict(self) -> str | None:
        verdicts = [v for _, v, _ in self.points]
        if not verdicts:
            return None
        if FAILS in verdicts:
            return FAILS
        return HOLDS if all(v == HOLDS for v in verdicts) else UNDECIDED

    def evidence(self, what: str = "(panel, σ) points") -> str:
        if not self.points:
            return "no matching points"
        counts = {v: sum(1 for _, w, _ in self.points if w == v) for v in (HOLDS, UNDECIDED, FAILS)}
        text = f"{counts[HOLDS]}/{len(self.points)} {what} hold"
        for v, label in ((HOLDS, "holds"), (UNDECIDED, "undecided"), (FAILS, "fails")):
            where = [f"{p} ({_interval(c)})" for p, w, c in self.points if w == v]
            if where:
                text += (
                    f"; {label} at " + ", ".join(where[:3]) + (f" (+{len(where) - 3} more)" if len(where) > 3 else "")
                )
        return text

    def n(self, chips_unit: str = "chips") -> str:
        if not self.points:
            return ""
        seeds = sorted({int(c["seeds"]) for _, _, c in self.points})
        chips = sorted({int(c["chips"]) for _, _, c in self.points})
        seeds_text = f"{count_span(seeds)} seed{'s' if seeds[-1] > 1 else ''}"
        if chips == [1] and chips_unit != "chips":  # one value per sweep (expected KL is a sweep's statistic)
            return f"{seeds_text}, one {chips_unit}"
        return f"{seeds_text} x {count_span(chips)} {chips_unit}"


def _interval(c: dict) -> str:
    if c["ci_low"] == c["ci_high"]:
        return f"{c['diff']:+.2f}"
    if pd.isna(c["ci_low"]) or pd.isna(c["ci_high"]):  # one seed with one sweep value: no spread to build it from
        return f"{c['diff']:+.2f}, no interval"
    return f"{c['diff']:+.2f} [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}]"


def _where(model: str, dataset: str, sigma: str) -> str:
    return f"{MODEL_NAMES.get(model, model)}/{DATASET_NAMES.get(dataset, dataset)} σ={sigma}"


def _best(ev, model, dataset, sigma, kinds, higher: bool) -> str | None:
    present = [(m, k) for k in kinds if (m := ev.mean(model, dataset, k, sigma)) is not None]
    if not present:
        return None
    return (max if higher else min)(present)[1]


def _points(ev, sigma_ok):
    """Every (model, dataset, sigma) of the evidence whose sigma (the paper's scale) a claim covers."""
    for model, dataset in ev.panels():
        for s in ev.sigmas(model, dataset):
            if sigma_ok(float(s)):
                yield model, dataset, s


def _best_vs_best(ev, better, worse, sigma_ok, higher: bool = True) -> Checked:
    """At every (panel, sigma) with ``sigma_ok``: the best of ``better`` beats the best of ``worse``."""
    checked = Checked()
    for model, dataset, s in _points(ev, sigma_ok):
        a, b = _best(ev, model, dataset, s, better, higher), _best(ev, model, dataset, s, worse, higher)
        if a is None or b is None:
            continue
        c = ev.compare(model, dataset, s, a, b)
        checked.add(_where(model, dataset, s), verdict(c["ci_low"], c["ci_high"], 0.0, holds_above=higher), c)
    return checked


def _every_pair(ev, better, worse, sigma_ok, higher: bool = True) -> Checked:
    """At every (panel, sigma) with ``sigma_ok``: each of ``better`` beats each of ``worse``."""
    checked = Checked()
    for model, dataset, s in _points(ev, sigma_ok):
        a_kinds = [k for k in better if ev.mean(model, dataset, k, s) is not None]
        b_kinds = [k for k in worse if ev.mean(model, dataset, k, s) is not None]
        if not a_kinds or not b_kinds:
            continue
        for a in a_kinds:
            for b in b_kinds:
                c = ev.compare(model, dataset, s, a, b)
                where = f"{_where(model, dataset, s)} {PAPER_NAMES.get(a, a)} vs {PAPER_NAMES.get(b, b)}"
                checked.add(where, verdict(c["ci_low"], c["ci_high"], 0.0, holds_above=higher), c)
    return checked


def _at_largest_sigma(ev, better: str, worse: str) -> Checked:
    checked = Checked()
    for model, dataset in ev.panels():
        for s in reversed(ev.sigmas(model, dataset)):
            if ev.mean(model, dataset, better, s) is not None and ev.mean(model, dataset, worse, s) is not None:
                c = ev.compare(model, dataset, s, better, worse)
                checked.add(_where(model, dataset, s), verdict(c["ci_low"], c["ci_high"]), c)
                break
    return checked


def _slightly_worse_sometimes(ev, tolerance: float, sigma_max: float) -> tuple[str | None, Checked]:
    """The paper: NeFT is sometimes slightly worse than the best baseline at small sigma. Holds when at some point
    NeFT's best is below the best baseline (interval below 0) and nowhere more than ``tolerance`` below (every
    interval above -tolerance); does not hold when NeFT is above everywhere (every interval above 0) or somewhere
    more than ``tolerance`` below (an interval below -tolerance)."""
    checked = _best_vs_best(ev, NEFT_KINDS, BASELINE_KINDS, lambda s: s <= sigma_max + 1e-9)
    comps = [c for _, _, c in checked.points]
    if not comps:
        return None, checked
    below = any(c["ci_high"] < 0 for c in comps)
    within = all(c["ci_low"] > -tolerance for c in comps)
    if below and within:
        return HOLDS, checked
    if all(c["ci_low"] > 0 for c in comps) or any(c["ci_high"] < -tolerance for c in comps):
        return FAILS, checked
    return UNDECIDED, checked


PAIRED = "paired difference per seed on the same chips, 95 % t-interval over seeds"


@dataclass
class Judged:
    """One claim judged on one evidence: its :data:`Result` and the comparisons behind it (``checked``), with the
    decision boundaries its points are judged against (``neft.analysis.stability`` reads both)."""

    claim: str
    verdict: str | None
    evidence: str
    test: str
    n: str
    checked: Checked
    boundaries: tuple[float, ...] = (0.0,)

    def result(self) -> Result:
        return self.claim, self.verdict, self.evidence, self.test, self.n


def judge_accuracy(ev) -> list[Judged]:
    """The paper's accuracy claims on an evidence object (sigma on the paper's scale), with their comparisons."""
    c1 = _best_vs_best(ev, NEFT_KINDS, BASELINE_KINDS, lambda s: s >= 0.3 - 1e-9)
    c2 = _at_largest_sigma(ev, "ovf", "noise_injection")
    c3 = _at_largest_sigma(ev, "irs", "noise_injection")
    c4 = _best_vs_best(ev, ("noise_injection",), ("plain",), lambda s: s >= 0.1 - 1e-9)
    v5, c5 = _slightly_worse_sometimes(ev, 2.0, 0.1)
    return [
        Judged(
            "NeFT (best of OVF, IRS) beats the best baseline at every σ ≥ 0.3 on every panel",
            c1.verdict(),
            c1.evidence(),
            f"best-by-mean NeFT minus best-by-mean baseline > 0 at every point; {PAIRED}",
            c1.n(),
            c1,
        ),
        Judged(
            "OVF beats W/ Noise at the largest σ of every panel",
            c2.verdict(),
            c2.evidence("panels"),
            f"OVF - W/ Noise > 0; {PAIRED}",
            c2.n(),
            c2,
        ),
        Judged(
            "IRS beats W/ Noise at the largest σ of every panel",
            c3.verdict(),
            c3.evidence("panels"),
            f"IRS - W/ Noise > 0; {PAIRED}",
            c3.n(),
            c3,
        ),
        Judged(
            "W/ Noise beats W/O Noise at every σ ≥ 0.1",
            c4.verdict(),
            c4.evidence(),
            f"W/ Noise - W/O Noise > 0 at every point; {PAIRED}",
            c4.n(),
            c4,
        ),
        Judged(
            "At σ ≤ 0.1 NeFT is sometimes slightly (by at most 2 pp) below the best baseline",
            v5,
            _gap_evidence(c5),
            f"best NeFT - best baseline: some interval below 0, none below -2 pp; {PAIRED}",
            c5.n(),
            c5,
            (0.0, -2.0),
        ),
    ]


def accuracy_claims(ev) -> list[Result]:
    """The paper's accuracy claims on an evidence object (sigma on the paper's scale)."""
    return [j.result() for j in judge_accuracy(ev)]


def _gap_evidence(checked: Checked) -> str:
    if not checked.points:
        return "no matching points"
    comps = [c for _, _, c in checked.points]
    below = sum(c["ci_high"] < 0 for c in comps)
    worst = min(comps, key=lambda c: c["diff"])
    return (
        f"NeFT below the best baseline at {below}/{len(comps)} points (interval below 0); worst {_interval(worst)} pp"
    )


def judge_uncertainty(ev) -> list[Judged]:
    c = _every_pair(ev, NEFT_KINDS, ("noise_injection", "correctnet"), lambda s: s >= 0.2 - 1e-9, higher=False)
    return [
        Judged(
            "OVF and IRS have lower expected KL than W/ Noise and CorrectNet at every σ ≥ 0.2",
            c.verdict(),
            c.evidence("(point, pair) comparisons"),
            "each NeFT instance minus each baseline < 0 at every point; per-seed sweep values paired by seed, "
            "95 % t-interval over seeds",
            c.n("value per seed's sweep"),
            c,
        )
    ]


def uncertainty_claims(ev) -> list[Result]:
    return [j.result() for j in judge_uncertainty(ev)]


def judge_confidence(ev) -> list[Judged]:
    c = _every_pair(ev, NEFT_KINDS, ("noise_injection", "correctnet"), lambda s: s >= 0.2 - 1e-9)
    return [
        Judged(
            "NeFT's confident correct predictions: higher mean max-softmax (correct) than W/ Noise and "
            "CorrectNet at every σ ≥ 0.2",
            c.verdict(),
            c.evidence("(point, pair) comparisons"),
            f"each NeFT instance minus each baseline > 0 at every point; {PAIRED}",
            c.n(),
            c,
        )
    ]


def confidence_claims(ev) -> list[Result]:
    return [j.result() for j in judge_confidence(ev)]


#: metric -> the function judging its claims (the scorecard's metrics)
JUDGES = {"accuracy": judge_accuracy, "uncertainty": judge_uncertainty, "confidence": judge_confidence}


def convergence_claim(summary: pd.DataFrame, sigma_scale: float = 1.0) -> Result:
    """The abstract's 'higher convergence probability': at every (panel, sigma) of the convergence study, each NeFT
    instance converges more often than W/ Noise and CorrectNet (Newcombe's interval for a difference of two
    proportions, over the seeds; equal rates are undecided). ``sigma_scale`` puts the study's sigmas on the paper's
    scale, like every other claim's evidence."""
    checked = Checked()
    for (model, dataset, sigma), g in summary.groupby(["model", "dataset", "sigma"], sort=False):
        rows = {r.kind: r for r in g.itertuples(index=False)}
        for a in [k for k in NEFT_KINDS if k in rows]:
            for b in [k for k in ("noise_injection", "correctnet") if k in rows]:
                ra, rb = rows[a], rows[b]
                d = newcombe_difference(int(ra.converged), int(ra.runs), int(rb.converged), int(rb.runs))
                c = d | {"seeds": min(int(ra.runs), int(rb.runs)), "chips": 0}
                where = (
                    f"{_where(model, dataset, to_paper_sigma(sigma, sigma_scale))} "
                    f"{PAPER_NAMES.get(a, a)} vs {PAPER_NAMES.get(b, b)}"
                )
                checked.add(where, verdict(d["ci_low"], d["ci_high"]), c)
    seeds = sorted({int(c["seeds"]) for _, _, c in checked.points})
    return (
        "NeFT converges more often than W/ Noise and CorrectNet (the abstract's 'higher convergence probability')",
        checked.verdict(),
        checked.evidence("(point, pair) comparisons"),
        "difference of convergence fractions > 0 at every point; Newcombe's 95 % interval over seeds",
        f"{count_span(seeds)} seeds per method" if seeds else "",
    )


def as_frame(results: list[Result]) -> pd.DataFrame:
    return pd.DataFrame(results, columns=["claim", "verdict", "evidence", "test", "n"])
