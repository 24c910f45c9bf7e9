"""How close is the reproduction? Point-by-point comparison with the paper's plotted numbers, the paper's
qualitative claims checked on both the paper's numbers and ours, and the headline gain.

Our sigma grid may be a rescaling of the paper's (the mini scale uses 0.35 x the paper's grid): points are matched
at sigma_ours = sigma_scale x sigma_paper, and the output says plainly when the scales differ.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from neft.analysis import claims
from neft.analysis import stability as stability_module
from neft.report.labels import panel_title
from neft.report.table_writers import markdown_lines
from neft.util import sigma as sigma_module
from neft.util.checks import finite_number, read_text
from neft.util.io import atomic_write_text
from neft.util.sigma import format_sigma

BASELINE_KINDS, NEFT_KINDS = claims.BASELINE_KINDS, claims.NEFT_KINDS
#: the reference CSVs spell Tiny ImageNet without the underscore
REFERENCE_DATASETS = {"tinyimagenet": "tiny_imagenet"}


class ReferenceDataError(ValueError):
    """A reference table of the paper's numbers is unreadable or malformed (the message names the file)."""


def load_reference(path: str | Path, value_column: str = "accuracy_pct") -> pd.DataFrame:
    """The paper's plotted numbers (``resources/reference/*.csv``): columns method, sigma, ``value_column``
    (model, dataset, note where the table has them), checked: every sigma a sigma, every value a finite number."""
    text = read_text(path, "reference table", error=ReferenceDataError)
    if not text.strip():
        raise ReferenceDataError(f"reference table {path}: the file is empty (expected a CSV header and rows)")
    try:
        ref = pd.read_csv(io.StringIO(text), dtype={"sigma": str, "method": str, "model": str, "dataset": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise ReferenceDataError(f"reference table {path}: not a valid CSV ({err})") from err
    missing = [c for c in ("method", "sigma", value_column) if c not in ref.columns]
    if missing:
        raise ReferenceDataError(
            f"reference table {path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, ref.columns))}"
        )
    value = pd.to_numeric(ref[value_column], errors="coerce")
    bad = value.isna() | ~np.isfinite(value.astype(float))
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:5])
        raise ReferenceDataError(
            f"reference table {path}: column {value_column} must hold finite numbers; bad value(s) in row(s) {rows}"
        )
    ref = ref.assign(**{value_column: value.astype(float)}).rename(columns={value_column: "value"})
    if "dataset" in ref:
        ref["dataset"] = ref["dataset"].replace(REFERENCE_DATASETS)

    def sigma(v, row):
        try:
            return format_sigma(v)
        except ValueError as err:
            raise ReferenceDataError(f"reference table {path}: row {row + 1}, column sigma: {err}") from None

    ref["sigma"] = [sigma(v, i) for i, v in enumerate(ref["sigma"])]
    return ref


def _check_scale(sigma_scale) -> float:
    """The ratio of our sigma grid to the paper's: a finite number > 0."""
    return finite_number(sigma_scale, "sigma_scale (our sigma / the paper's sigma)", above=0)


def to_paper_sigma(sigma: str, sigma_scale: float) -> str:
    return sigma_module.to_paper_sigma(sigma, _check_scale(sigma_scale))


def values(curves: pd.DataFrame, column: str, kinds: dict, sigma_scale: float, factor: float = 1.0) -> pd.DataFrame:
    """Our curves as (model, dataset, kind, sigma on the paper's scale, value): the shape the claims read."""
    _check_scale(sigma_scale)
    d = curves[curves["method"].isin(kinds)].copy()
    d["kind"] = d["method"].map(kinds)
    d["sigma"] = d["sigma"].map(lambda s: to_paper_sigma(s, sigma_scale))
    d["value"] = d[column] * factor
    return d[["model", "dataset", "kind", "sigma", "value"]]


def point_scorecard(curves: pd.DataFrame, reference: pd.DataFrame, kinds: dict, sigma_scale: float) -> pd.DataFrame:
    """One row per plotted point of the paper: our mean and CI at the matching sigma, the difference, and
    whether the paper's value lies in our CI."""
    sigma_scale = _check_scale(sigma_scale)
    by_kind = {k: m for m, k in kinds.items()}
    rows = []
    for r in reference.itertuples(index=False):
        method = by_kind.get(r.method)
        ours_sigma = format_sigma(round(float(r.sigma) * sigma_scale, 4))
        g = curves[
            (curves.model == r.model)
            & (curves.dataset == r.dataset)
            & (curves.method == method)
            & (curves.sigma == ours_sigma)
        ]
        row = {
            "model": r.model,
            "dataset": r.dataset,
            "method": r.method,
            "sigma_paper": r.sigma,
            "sigma_ours": ours_sigma,
            "paper": r.value,
            "paper_note": "" if pd.isna(getattr(r, "note", np.nan)) else r.note,
        }
        if g.empty:
            row |= {
                "ours": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "diff": np.nan,
                "paper_in_ci": "",
                "status": "not run",
            }
        else:
            g = g.iloc[0]
            inside = bool(g.ci_low <= r.value <= g.ci_high)
            row |= {
                "ours": g["mean"],
                "ci_low": g.ci_low,
                "ci_high": g.ci_high,
                "diff": g["mean"] - r.value,
                "paper_in_ci": "yes" if inside else "no",
                "status": "compared",
            }
        rows.append(row)
    return pd.DataFrame(rows)


# -- qualitative claims (neft.analysis.claims) -------------------------------------------------------------------------
CLAIM_CHECKS = {
    "accuracy": claims.accuracy_claims,
    "uncertainty": claims.uncertainty_claims,
    "confidence": claims.confidence_claims,
}


def _panels(t: pd.DataFrame):
    return list(t[["model", "dataset"]].drop_duplicates().itertuples(index=False))


def headline(curves: pd.DataFrame, kinds: dict, evidence=None, sigma_scale: float = 1.0) -> pd.DataFrame:
    """Per panel and NeFT instance: the largest gain over the best baseline and over W/ Noise, and where. With
    ``evidence`` (``neft.analysis.claims.SeedEvidence`` on accuracy), each gain also gets its two-level 95 % interval
    (paired per seed on the same chips, a t-interval over seeds) and the seeds and chips behind it."""
    rows = []
    for model, dataset in _panels(curves):
        p = curves[(curves.model == model) & (curves.dataset == dataset)]
        wide = p.pivot(index="sigma", columns="method", values="mean")
        base = [m for m, k in kinds.items() if k in BASELINE_KINDS and m in wide]
        ni = next((m for m, k in kinds.items() if k == "noise_injection" and m in wide), None)
        for inst in [m for m, k in kinds.items() if k in NEFT_KINDS and m in wide]:
            row = {"model": model, "dataset": dataset, "instance": inst}
            for tag, ref in (
                ("best_baseline", wide[base].max(axis=1) if base else None),
                ("noise_injection", wide[ni] if ni else None),
            ):
                if ref is None:
                    continue
                gain = (wide[inst] - ref).dropna()
                if gain.empty:
                    continue
                s = gain.idxmax()
                row |= {
                    f"gain_vs_{tag}": gain[s],
                    f"sigma_vs_{tag}": s,
                    f"{inst}_at_sigma_vs_{tag}": wide.loc[s, inst],
                    f"{tag}_at_sigma": ref[s],
                }
                against = wide.loc[s, base].idxmax() if tag == "best_baseline" else ni
                if tag == "best_baseline":
                    row["best_baseline_method"] = against
                if evidence is not None:
                    paper_sigma = to_paper_sigma(s, sigma_scale)
                    c = evidence.compare(model, dataset, paper_sigma, kinds[inst], kinds[against])
                    row |= {
                        f"gain_vs_{tag}_ci_low": c["ci_low"],
                        f"gain_vs_{tag}_ci_high": c["ci_high"],
                        f"gain_vs_{tag}_seeds": c["seeds"],
                        f"gain_vs_{tag}_chips_per_seed": c["chips"],
                    }
            rows.append(row)
    return pd.DataFrame(rows)


#: the columns the scorecard's claims table appends for each verdict's stability (neft.analysis.stability)
STABILITY_COLUMNS = ("our_stability", "our_seeds_to_decide", "our_resamples")


def _stability_cells(st: stability_module.Stability) -> dict:
    return {
        "our_stability": st.share,
        "our_seeds_to_decide": st.seeds_to_decide,
        "our_resamples": st.resamples,
    }


def claims_table(ours: dict, paper: dict, extra: list | None = None) -> pd.DataFrame:
    """Each claim judged on the paper's numbers and on ours. ``ours``/``paper`` map a metric ("accuracy",
    "uncertainty", "confidence") to its evidence (``neft.analysis.claims``: seed-level for ours, points for the
    paper's); a missing paper entry means the paper gives no numbers for that metric. ``extra``: further claims of ours,
    each a ``neft.analysis.claims.Result``, optionally followed by its ``neft.analysis.stability.Stability``.

    Every verdict of ours carries its stability (``neft.analysis.stability``): ``our_stability``, the share of seed
    resamples giving the same verdict (NaN where there is none: one seed, the paper's points, not evaluable),
    ``our_resamples``, how many resamples, and ``our_seeds_to_decide``, for an undecided claim the seeds that would
    decide it (empty otherwise)."""
    rows = []
    for metric, check in CLAIM_CHECKS.items():
        if metric in ours:
            judged = claims.JUDGES[metric](ours[metric])
            stable = stability_module.claim_stability(claims.JUDGES[metric], ours[metric], judged)
            mine = [j.result() for j in judged]
        else:
            mine, stable = [], []
        theirs = (
            check(paper[metric]) if metric in paper else [(c, None, "the paper gives no numbers") for c, *_ in mine]
        )
        for (claim, held, evidence, test, n), (_, p_held, p_evidence, *_), st in zip(mine, theirs, stable):
            rows.append(
                {
                    "metric": metric,
                    "claim": claim,
                    "paper": _verdict(p_held, metric in paper),
                    "ours": _verdict(held, True),
                    "paper_evidence": p_evidence,
                    "our_evidence": evidence,
                    "our_test": test,
                    "our_n": n,
                }
                | _stability_cells(st)
            )
    for claim, held, evidence, test, n, *rest in extra or []:
        st = rest[0] if rest else stability_module.Stability(reason="not computed")
        rows.append(
            {
                "metric": "other",
                "claim": claim,
                "paper": "claimed, no numbers",
                "ours": _verdict(held, True),
                "paper_evidence": "abstract",
                "our_evidence": evidence,
                "our_test": test,
                "our_n": n,
            }
            | _stability_cells(st)
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["our_stability"] = out["our_stability"].astype("float64")
    for column in ("our_seeds_to_decide", "our_resamples"):
        out[column] = pd.array([None if pd.isna(v) else int(v) for v in out[column]], dtype="Int64")
    return out


def stability_text(r) -> str:
    """A claims row's stability as the scorecard prints it: "26/27 resamples (96 %)", and for an undecided claim
    "; ≈ N seeds would decide it"; "–" with its reason where there is none."""
    share, resamples = getattr(r, "our_stability", np.nan), getattr(r, "our_resamples", np.nan)
    if pd.isna(share) or pd.isna(resamples):
        one_seed = r.ours in (claims.HOLDS, claims.FAILS, claims.UNDECIDED) and str(r.our_n).startswith("1 seed")
        return "– (one seed)" if one_seed else "–"
    text = f"{round(share * resamples):d}/{int(resamples)} resamples ({share:.0%})"
    seeds = getattr(r, "our_seeds_to_decide", np.nan)
    if pd.notna(seeds):
        text += f"; ≈ {int(seeds)} seeds would decide it"
    return text


def _verdict(held: str | None, available: bool) -> str:
    if not available:
        return "no numbers"
    return "not evaluable" if held is None else held


def scale_statement(scale: str, sigma_scale: float) -> str:
    if scale == "paper" and sigma_scale == 1.0:
        return "Scale: paper (full-width models, the paper's sigma grid): points are directly comparable."
    return (
        f"**Scale: {scale}, not the paper's.** Models, epochs and test sets are smaller than the paper's and our "
        f"sigma grid is {sigma_scale:g} x the paper's; points are matched at sigma_ours = {sigma_scale:g} x "
        "sigma_paper for orientation only. Differences below measure the gap between the scales, not a failure to "
        "reproduce; the qualitative claims are the meaningful comparison."
    )


def _n_cell(n) -> str:
    return n if isinstance(n, str) and n.strip() else "–"


def _gain_cell(r, tag: str) -> str:
    gain = getattr(r, f"gain_vs_{tag}", np.nan)
    low, high = getattr(r, f"gain_vs_{tag}_ci_low", np.nan), getattr(r, f"gain_vs_{tag}_ci_high", np.nan)
    if pd.isna(gain):
        return "–"
    return f"{gain:+.2f}" + (f" [{low:+.2f}, {high:+.2f}]" if pd.notna(low) and pd.notna(high) else "")


def write_markdown(points, claims, head, paper_head, scale: str, sigma_scale: float, path, labels=None) -> None:
    """The scorecard as Markdown; ``labels`` maps method (and the paper's kind) names to their display labels."""

    labels = labels or {}

    lines = ["# Scorecard: reproduced vs paper", "", scale_statement(scale, sigma_scale), ""]
    lines += [
        "## Claims",
        "",
        "Each claim is a test (`docs/methods.md`, claims as tests): *holds* when every interval it rests on lies on "
        "the claimed side, *does not hold* when one lies on the other side, *undecided* when an interval spans the "
        "boundary. Ours: two-level 95 % intervals over training seeds and chips; the paper's: its plotted points. "
        "n: the training seeds x chips behind our verdict (– where no point of ours matches the claim); an interval "
        "is missing where one seed gave one value (nothing to estimate a spread from). Stability: the share of "
        "resamples of our training seeds (with replacement, the whole claim redone on each) that give our verdict, "
        "and for an undecided claim about how many seeds would decide it at the measured mean difference and "
        "spread (`docs/methods.md`, verdict stability; – with one seed, where there is nothing to resample).",
        "",
    ]
    claim_head = ["metric", "claim", "paper", "ours", "our evidence", "n", "stability", "test"]
    claim_rows = [
        [r.metric, r.claim, r.paper, r.ours, r.our_evidence, _n_cell(r.our_n), stability_text(r), r.our_test]
        for r in claims.itertuples()
    ]
    lines += markdown_lines(claim_head, claim_rows)
    lines += ["", "## Headline: largest gain of a NeFT instance (the paper's 'up to 45.08 %')", ""]
    head_rows = []
    for source, table in (("paper", paper_head), ("ours", head)):
        for r in table.itertuples():
            seeds = getattr(r, "gain_vs_best_baseline_seeds", np.nan)
            n = f"{int(seeds)} x {int(r.gain_vs_best_baseline_chips_per_seed)}" if pd.notna(seeds) else "–"
            best = getattr(r, "best_baseline_method", "–")
            head_rows.append(
                [
                    source,
                    panel_title(r.model, r.dataset),
                    labels.get(r.instance, r.instance.upper()),
                    _gain_cell(r, "best_baseline"),
                    getattr(r, "sigma_vs_best_baseline", "–"),
                    labels.get(best, best),
                    _gain_cell(r, "noise_injection"),
                    getattr(r, "sigma_vs_noise_injection", "–"),
                    n,
                ]
            )
    headline_head = ["source", "panel", "instance", "gain vs best baseline (pp) [95 % CI]", "at σ", "best baseline"]
    headline_head += ["gain vs W/ Noise (pp) [95 % CI]", "at σ", "seeds x chips"]
    lines += markdown_lines(headline_head, head_rows, "lllrrlrrr")
    lines += ["", "σ is on each source's own axis. seeds x chips: – for the paper, which states no sample size."]
    compared = points[points.status == "compared"]
    lines += ["", "## Points", ""]
    if compared.empty:
        lines.append("No plotted point of the paper was run at this scale.")
    else:
        inside = (compared.paper_in_ci == "yes").sum()
        lines.append(
            f"{len(compared)} of the paper's {len(points)} plotted points were run; the paper's value lies in our "
            f"95 % CI for {inside}; mean |difference| {compared['diff'].abs().mean():.2f} pp."
        )
        point_rows = [
            [
                panel_title(r.model, r.dataset),
                labels.get(r.method, r.method),
                f"{r.sigma_paper} ({r.sigma_ours})",
                f"{r.paper:.2f}",
                f"{r.ours:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]",
                f"{r.diff:+.2f}",
                r.paper_in_ci,
            ]
            for r in compared.itertuples()
        ]
        point_head = ["panel", "method", "σ paper (ours)", "paper", "ours [95 % CI]", "diff", "in CI"]
        lines += ["", *markdown_lines(point_head, point_rows, "llrrrrc")]
    atomic_write_text(path, "\n".join(lines) + "\n")
