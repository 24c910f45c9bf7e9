"""The run's conclusions, written from its own tables: one short paragraph per question a reader brings.

Every number and verdict in the text is *cited*: it is rendered from one cell (or one aggregate of cells) of a named
table, and the citation is kept (``Summary.sources``, written next to the text as ``summary_sources.csv``), so a test
can recompute each number from the table it came from, and a reader can find it. The sentences are the same at every
scale; what a table does not hold (a study that did not run, one training seed) is said, not left out.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neft.plotting import panel_title
from neft.stats import wilson_interval

NEFT_KINDS = ("ovf", "irs")
#: the tables a summary reads (name -> file under results/tables/); all but ``claims`` may be absent
TABLES = {
    "claims": "scorecard_claims.csv",
    "headline": "headline.csv",
    "accuracy": "accuracy.csv",
    "ablation": "ablation.csv",
    "variance": "variance.csv",
    "convergence": "convergence.csv",
    "devices": "devices.csv",
    "points": "scorecard_points.csv",
    "ladder": "ladder.csv",
    "ladder_decomposition": "ladder_decomposition.csv",
    "ladder_claims": "ladder_claims.csv",
}
#: the scale ladder's tables (neft.ladder), this run's or a recorded run's (``scale_study.recorded``)
LADDER_TABLES = ("ladder", "ladder_decomposition", "ladder_claims")
#: what a cited number is, computed from the cited cells (the test applies the same operation)
OPERATIONS = {
    "value": lambda v: v.iloc[0],
    "count": lambda v: len(v),
    "mean_abs": lambda v: float(np.abs(v.astype(float)).mean()),
    "wilson_low": lambda v: 100 * wilson_interval(int(v.iloc[0]), int(v.iloc[1]))[0],
    "wilson_high": lambda v: 100 * wilson_interval(int(v.iloc[0]), int(v.iloc[1]))[1],
}


@dataclass
class Source:
    """One cited number: ``operation`` over ``table``'s ``column`` at data rows ``rows`` (0-based), rendered as
    ``text`` with ``fmt``. For ``wilson_*`` the cells are (converged, runs) of one row."""

    paragraph: str
    table: str
    rows: tuple[int, ...]
    column: str
    operation: str
    fmt: str
    text: str


@dataclass
class Summary:
    title: str
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (question, text)
    sources: list[Source] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # a table's file where it is not results/tables/TABLES[name]

    def markdown(self) -> str:
        parts = [f"# {self.title}", ""]
        for question, text in self.paragraphs:
            parts += [f"**{question}** {text}", ""]
        return "\n".join(parts)

    def rst(self) -> str:
        """The same text for Snakemake's report front page (reStructuredText: ``**bold**`` reads the same)."""
        parts = [self.title, "=" * len(self.title), ""]
        for question, text in self.paragraphs:
            parts += [f"**{question}** {_rst_escape(text)}", ""]
        return "\n".join(parts)

    def sources_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "paragraph": s.paragraph,
                    "text": s.text,
                    "table": self.files.get(s.table, TABLES.get(s.table, s.table)),
                    "rows": " ".join(
                        str(r + 1) for r in s.rows
                    ),  # data rows of the CSV, 1 = the first after the header
                    "column": s.column,
                    "operation": s.operation,
                }
                for s in self.sources
            ]
        )


def _rst_escape(text: str) -> str:
    # a bare '*' or '`' inside a sentence would open rst markup; '|' opens a substitution
    return text.replace("`", "'").replace("|", "/")


class _Writer:
    """Cites cells while sentences are written: ``w.cite(table, rows, column, fmt)`` returns the rendered text."""

    def __init__(self, tables: dict[str, pd.DataFrame], summary: Summary):
        self.tables, self.summary, self.paragraph = tables, summary, ""

    def cite(self, table: str, rows, column: str, fmt: str = "{}", operation: str = "value") -> str:
        rows = tuple(int(r) for r in (rows if isinstance(rows, (list, tuple, np.ndarray, pd.Index)) else [rows]))
        df = self.tables[table]
        if operation.startswith("wilson"):
            cells = pd.Series([df.iloc[rows[0]][c] for c in column.split("/")])
        else:
            cells = df.iloc[list(rows)][column] if rows else df[column].iloc[:0]
        value = OPERATIONS[operation](cells)
        text = fmt.format(value)
        self.summary.sources.append(Source(self.paragraph, table, rows, column, operation, fmt, text))
        return text

    def panel(self, table: str, row: int) -> str:
        r = self.tables[table].iloc[row]
        text = panel_title(str(r["model"]), str(r["dataset"]))
        self.summary.sources.append(Source(self.paragraph, table, (row,), "model/dataset", "panel", "", text))
        return text

    def interval(self, table: str, row: int, low: str, high: str, fmt: str = "{:+.2f}") -> str:
        return f"[{self.cite(table, row, low, fmt)}, {self.cite(table, row, high, fmt)}]"


def _rows(df: pd.DataFrame, **where) -> list[int]:
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k].astype(str) == str(v)).to_numpy()
    return list(np.flatnonzero(mask))


def _sign_words(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval (one training seed or chip)"
    if low > 0:
        return "above 0"
    if high < 0:
        return "below 0"
    return "not distinguishable from 0"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _empty(tables, name) -> bool:
    return name not in tables or tables[name] is None or tables[name].empty


# -- the paragraphs --------------------------------------------------------------------------------------------------
def _beats(w: _Writer, kinds: dict, labels: dict) -> str:
    t = w.tables
    out = []
    if not _empty(t, "headline"):
        h = t["headline"]
        for i, r in h.iterrows():
            inst = labels.get(r["instance"], str(r["instance"]).upper())
            base = labels.get(r["best_baseline_method"], r["best_baseline_method"])
            out.append(
                f"On {w.panel('headline', i)}, {inst}'s largest gain over the best baseline is "
                f"{w.cite('headline', i, 'gain_vs_best_baseline', '{:+.2f}')} pp "
                f"{w.interval('headline', i, 'gain_vs_best_baseline_ci_low', 'gain_vs_best_baseline_ci_high')} "
                f"at σ = {w.cite('headline', i, 'sigma_vs_best_baseline')} (over {base}), and over W/ Noise "
                f"{w.cite('headline', i, 'gain_vs_noise_injection', '{:+.2f}')} pp "
                f"{w.interval('headline', i, 'gain_vs_noise_injection_ci_low', 'gain_vs_noise_injection_ci_high')} "
                f"at σ = {w.cite('headline', i, 'sigma_vs_noise_injection')} "
                f"({w.cite('headline', i, 'gain_vs_best_baseline_seeds', '{:.0f}')} training "
                f"{'seed' if r['gain_vs_best_baseline_seeds'] == 1 else 'seeds'} x "
                f"{w.cite('headline', i, 'gain_vs_best_baseline_chips_per_seed', '{:.0f}')} chips per seed)."
            )
    if not _empty(t, "accuracy"):
        a = t["accuracy"]
        for model, dataset in a[["model", "dataset"]].drop_duplicates().itertuples(index=False):
            rows = _rows(a, model=model, dataset=dataset)
            best = []
            sigmas = sorted(dict.fromkeys(a.iloc[rows]["sigma"].astype(str)), key=float)
            for s in sigmas:
                at = [r for r in rows if str(a.iloc[r]["sigma"]) == s and a.iloc[r]["method"] in kinds]
                if not at:
                    continue
                top = max(at, key=lambda r: float(a.iloc[r]["mean"]))
                if kinds[a.iloc[top]["method"]] in NEFT_KINDS:
                    best.append(top)
            where = _join([f"{w.cite('accuracy', r, 'sigma')} ({w.cite('accuracy', r, 'label')})" for r in best])
            out.append(
                f"A NeFT instance has the highest mean accuracy at {len(best)} of {len(sigmas)} σ points on "
                f"{w.panel('accuracy', rows[0])}" + (f": σ = {where}." if best else ".")
            )
    out += _claim_sentences(w, "accuracy")
    return " ".join(out) or "No accuracy table was built in this run."


def _claim_sentences(w: _Writer, metric: str) -> list[str]:
    c = w.tables["claims"]
    out = []
    for i in _rows(c, metric=metric):
        n = c.iloc[i]["our_n"]
        n_text = f"; n = {w.cite('claims', i, 'our_n')}" if isinstance(n, str) and n.strip() else ""
        out.append(
            f"Claim “{w.cite('claims', i, 'claim')}”: ours **{w.cite('claims', i, 'ours')}** "
            f"({w.cite('claims', i, 'our_evidence')}{n_text}{_stability_text(w, i)}); on the paper's own numbers: "
            f"{w.cite('claims', i, 'paper')}."
        )
    return out


def _stability_text(w: _Writer, i: int) -> str:
    """How stable claim row ``i``'s verdict is over seed resamples (neft.stability), cited from the claims table;
    nothing where the table has no stability columns or the claim no verdict."""
    r = w.tables["claims"].iloc[i]
    if "our_stability" not in r or r["ours"] not in ("holds", "does not hold", "undecided"):
        return ""
    if pd.isna(r["our_stability"]) or pd.isna(r.get("our_resamples")):
        one_seed = str(r["our_n"]).startswith("1 seed")
        return "; one training seed: no resamples to judge its stability" if one_seed else ""
    # the convergence claim (metric "other") resamples each method's runs, the others the training seeds
    unit = "resamples of each method's runs" if r["metric"] == "other" else "seed resamples"
    text = (
        f"; stable in {w.cite('claims', i, 'our_stability', '{:.0%}')} of "
        f"{w.cite('claims', i, 'our_resamples', '{:.0f}')} {unit}"
    )
    if pd.notna(r.get("our_seeds_to_decide")):
        text += f"; about {w.cite('claims', i, 'our_seeds_to_decide', '{:.0f}')} seeds would decide it"
    return text


def _ablation(w: _Writer, labels: dict) -> str:
    t = w.tables
    if _empty(t, "ablation"):
        return "The ablation did not run (ablation.enabled is off)."
    d = t["ablation"]
    out = []
    for _, g in d.groupby(["model", "dataset", "instance", "sigma"], sort=False):
        inst = g["instance"].iloc[0]
        here = dict(zip(g["comparison"], g.index))
        if "gain" not in here:
            continue
        g = here["gain"]
        parts = []
        for comp, words in (
            ("temp", "temperature alone"),
            ("structure", "the passes/heads without feedback"),
            ("feedback", "the feedback term"),
        ):
            if comp not in here:
                continue
            r = here[comp]
            share = d.iloc[r]["share_of_gain"]
            share_text = f", {w.cite('ablation', r, 'share_of_gain', '{:.0%}')} of the gain" if pd.notna(share) else ""
            parts.append(
                f"{words} {w.cite('ablation', r, 'diff', '{:+.2f}')} pp "
                f"{w.interval('ablation', r, 'ci_low', 'ci_high')} "
                f"({_sign_words(d.iloc[r]['ci_low'], d.iloc[r]['ci_high'])}{share_text})"
            )
        out.append(
            f"{labels.get(inst, str(inst).upper())} on {w.panel('ablation', g)} at σ = "
            f"{w.cite('ablation', g, 'sigma')}: NeFT − W/ Noise is {w.cite('ablation', g, 'diff', '{:+.2f}')} pp "
            f"{w.interval('ablation', g, 'ci_low', 'ci_high')}; of it, " + "; ".join(parts) + "."
        )
    return " ".join(out) + " (Paired differences on the same chips; the shares are of the NeFT − W/ Noise mean.)"


def _uncertainty(w: _Writer, kinds: dict) -> str:
    t = w.tables
    out = _claim_sentences(w, "uncertainty") + _claim_sentences(w, "confidence")
    if not _empty(t, "variance"):
        v = t["variance"]
        parts = []
        for method in [m for m, k in kinds.items() if k in ("noise_injection", "ovf")]:
            rows = _rows(v, method=method)
            if not rows:
                continue
            top = max(rows, key=lambda r: float(v.iloc[r]["sigma"]))  # the largest sigma of the first panel
            between = v.iloc[top]["sd_between_seeds"]
            between_text = (
                f"{w.cite('variance', top, 'sd_between_seeds', '{:.2f}')} pp between training seeds"
                if pd.notna(between)
                else "no between-seed std (one training seed)"
            )
            parts.append(
                f"{w.cite('variance', top, 'label')} at σ = {w.cite('variance', top, 'sigma')}: {between_text}, "
                f"{w.cite('variance', top, 'sd_within_seed', '{:.2f}')} pp between chips of one seed"
            )
        if parts:
            out.append("How much of the spread is the training seed: " + "; ".join(parts) + ".")
    return " ".join(out) or "No uncertainty or confidence claims were checked."


def _convergence(w: _Writer, labels: dict) -> str:
    t = w.tables
    out = []
    if _empty(t, "convergence"):
        out.append("The convergence study did not run (convergence.enabled is off).")
    else:
        c = t["convergence"]
        parts = [
            f"{labels.get(r['method'], r['method'])} {w.cite('convergence', i, 'converged', '{:.0f}')}/"
            f"{w.cite('convergence', i, 'runs', '{:.0f}')} at σ = {w.cite('convergence', i, 'sigma')} "
            f"[{w.cite('convergence', i, 'converged/runs', '{:.0f}', 'wilson_low')} %, "
            f"{w.cite('convergence', i, 'converged/runs', '{:.0f}', 'wilson_high')} %]"
            for i, r in c.iterrows()
        ]
        out.append("Runs that converged (Wilson 95 % intervals): " + "; ".join(parts) + ".")
    out += _claim_sentences(w, "other")
    return " ".join(out)


def _devices(w: _Writer) -> str:
    t = w.tables
    if _empty(t, "devices"):
        return "The device study did not run."
    d = t["devices"]
    out = []
    for _, g in d.groupby(["model", "dataset", "sigma"], sort=False):
        parts = []
        for method in dict.fromkeys(g["method"]):
            rows = [i for i in g.index if d.iloc[i]["method"] == method]
            if len(rows) < 2:
                continue
            lo = min(rows, key=lambda r: float(d.iloc[r]["mean"]))
            hi = max(rows, key=lambda r: float(d.iloc[r]["mean"]))
            parts.append(
                f"{w.cite('devices', lo, 'label')} {w.cite('devices', lo, 'mean', '{:.2f}')} % "
                f"({w.cite('devices', lo, 'device')}) to {w.cite('devices', hi, 'mean', '{:.2f}')} % "
                f"({w.cite('devices', hi, 'device')})"
            )
        devices = list(dict.fromkeys(g["device"]))
        wins = {}
        for dev in devices:
            rows = [i for i in g.index if d.iloc[i]["device"] == dev]
            top = max(rows, key=lambda r: float(d.iloc[r]["mean"]))
            wins.setdefault(d.iloc[top]["label"], []).append(top)
        win_text = _join(
            [
                f"{w.cite('devices', rows[0], 'label')} on {w.cite('devices', rows, 'device', '{}', 'count')}"
                for rows in wins.values()
            ]
        )
        first = g.index[0]
        out.append(
            f"On {w.panel('devices', first)} at σ = {w.cite('devices', first, 'sigma')}, from the worst to the best "
            f"device: " + "; ".join(parts) + f". The best method per device: {win_text} of "
            f"{len(devices)} devices."
        )
    return " ".join(out)


def _rung_names(acc: pd.DataFrame) -> dict[tuple[str, int], str]:
    """Each rung's short name: '8 epochs' when the ladder has one width, else 'width 0.25, 8 epochs'."""
    one_width = acc["width"].astype(str).nunique() == 1
    return {
        (str(r.width), int(r.epochs)): (f"{r.epochs} epochs" if one_width else f"width {r.width}, {r.epochs} epochs")
        for r in acc.itertuples(index=False)
    }


def _along(w: _Writer, table: str, rows: list[int], names: dict, column: str, fmt: str, ci=None) -> str:
    """One quantity along the rungs, each value with its rung's name (and interval where ``ci`` names columns)."""
    t = w.tables[table]
    parts = []
    for r in rows:
        text = w.cite(table, r, column, fmt)
        if ci and pd.notna(t.iloc[r][ci[0]]) and pd.notna(t.iloc[r][ci[1]]):
            text += " " + w.interval(table, r, ci[0], ci[1], fmt)
        parts.append(f"{text} ({names[(str(t.iloc[r]['width']), int(t.iloc[r]['epochs']))]})")
    return " → ".join(parts)


def _ladder(w: _Writer, kinds: dict, labels: dict, record: dict | None = None) -> str:
    """What the scale ladder measured (scale_study): per paper sigma, the methods' accuracy, NeFT's gain over
    W/ Noise and its split, convergence and the last doubling along the rungs; then which claims keep their verdict
    along the ladder and which change."""
    t = w.tables
    acc, dec, ver = t["ladder"], t.get("ladder_decomposition"), t.get("ladder_claims")
    labels = labels | dict(zip(acc["method"], acc["label"]))  # a recorded ladder may hold methods this run has not
    names = _rung_names(acc)
    out = []
    if record:
        out.append(
            f"These numbers come from the ladder recorded in {record['folder']} ({record['what']}), not from this run: "
            f"they say how the {record['scale']} scale's findings move with longer training."
        )
    widths = sorted({str(x) for x in acc["width"]}, key=float)
    factors = [f"{w.cite('ladder', _rows(acc, width=x)[0], 'factor', '{:g}')} at width {x}" for x in widths]
    out.append(
        f"The ladder trained each method at {len(names)} rungs ({_join(list(dict.fromkeys(names.values())))}) with "
        f"the same training seeds, on the same seeded chips; each width's σ comes from the sigma rule "
        f"(factor {_join(factors)} x the paper's σ)."
    )
    main = [m for m, k in kinds.items() if k in ("noise_injection", "correctnet", "ovf", "irs")]
    for ps in dict.fromkeys(str(x) for x in acc["paper_sigma"]):
        parts = []
        for m in main:
            rows = _rows(acc, paper_sigma=ps, method=m)
            if rows:
                ci = ("ci95_low", "ci95_high")
                parts.append(f"{labels.get(m, m)} {_along(w, 'ladder', rows, names, 'mean', '{:.2f}', ci)}")
        sig = w.cite("ladder", _rows(acc, paper_sigma=ps)[0], "sigma")
        if parts:
            out.append(f"At paper σ = {ps} (ours {sig}), accuracy (%): " + "; ".join(parts) + ".")
        worst = []
        for m in main:
            rows = _rows(acc, paper_sigma=ps, method=m)
            if rows:
                worst.append(f"{labels.get(m, m)} {_along(w, 'ladder', rows, names, 'p1', '{:.2f}')}")
        if worst:
            out.append("The 1st percentile of chips (%, the worst case): " + "; ".join(worst) + ".")
        if not _empty(t, "ladder_decomposition"):
            for inst in dict.fromkeys(dec["instance"].astype(str)):
                bits = []
                for comp, what in (
                    ("gain", "gain over W/ Noise"),
                    ("temp", "temperature alone"),
                    ("feedback", "feedback term"),
                ):
                    rows = _rows(dec, paper_sigma=ps, instance=inst, comparison=comp)
                    if rows:
                        ci = ("ci_low", "ci_high")
                        bits.append(f"{what} {_along(w, 'ladder_decomposition', rows, names, 'diff', '{:+.2f}', ci)}")
                if bits:
                    out.append(f"{labels.get(inst, inst)}'s " + "; ".join(bits) + " pp.")
        conv = []
        for m in main:
            rows = [r for r in _rows(acc, paper_sigma=ps, method=m) if pd.notna(acc.iloc[r]["runs"])]
            if rows:
                counts = [
                    f"{w.cite('ladder', r, 'converged', '{:.0f}')}/{w.cite('ladder', r, 'runs', '{:.0f}')} "
                    f"({names[(str(acc.iloc[r]['width']), int(acc.iloc[r]['epochs']))]})"
                    for r in rows
                ]
                conv.append(f"{labels.get(m, m)} " + " → ".join(counts))
        if conv:
            out.append("Runs that converged: " + "; ".join(conv) + ".")
        doubling = []
        for m in main:
            rows = [r for r in _rows(acc, paper_sigma=ps, method=m) if pd.notna(acc.iloc[r]["doubling_gain"])]
            if rows:
                r = rows[-1]
                doubling.append(
                    f"{labels.get(m, m)} {w.cite('ladder', r, 'doubling_gain', '{:+.2f}')}"
                    + (
                        f" {w.interval('ladder', r, 'doubling_ci_low', 'doubling_ci_high')}"
                        if pd.notna(acc.iloc[r]["doubling_ci_low"])
                        else ""
                    )
                )
        if doubling:
            last = acc.iloc[[r for r in _rows(acc, paper_sigma=ps) if pd.notna(acc.iloc[r]["doubling_gain"])][-1]]
            out.append(
                f"The last doubling ({int(last['doubling_from'])} → {int(last['epochs'])} epochs) still added "
                + "; ".join(doubling)
                + " pp."
            )
    if not _empty(t, "ladder_claims"):
        kept, changed = [], []
        for claim in dict.fromkeys(ver["claim"].astype(str)):
            rows = _rows(ver, claim=claim)
            verdicts = [str(ver.iloc[r]["verdict"]) for r in rows]
            if all(v == "–" for v in verdicts):
                continue
            stable = [r for r in rows if pd.notna(ver.iloc[r]["stability"])]
            shares = (
                "; stable in "
                + ", ".join(w.cite("ladder_claims", r, "stability", "{:.0%}") for r in stable)
                + " of seed resamples"
                if stable
                else ""
            )
            if len(set(verdicts)) == 1:
                kept.append(f"“{claim}” ({w.cite('ladder_claims', rows[0], 'verdict')} at every rung{shares})")
            else:
                steps = [
                    f"{w.cite('ladder_claims', r, 'verdict')} at "
                    f"{names[(str(ver.iloc[r]['width']), int(ver.iloc[r]['epochs']))]}"
                    for r in rows
                ]
                changed.append(f"“{claim}”: " + ", ".join(steps) + (f" ({shares[2:]})" if shares else ""))
        if kept:
            out.append("Verdicts that held along the ladder: " + "; ".join(kept) + ".")
        if changed:
            out.append("Verdicts that changed with training: " + "; ".join(changed) + ".")
    return " ".join(out)


def _scale(w: _Writer, scale: str, sigma_scale: float) -> str:
    t = w.tables
    out = []
    if scale != "paper":
        out.append(
            f"This is the {scale} scale, not the paper's: smaller models, data and chip counts, and a σ grid "
            f"{sigma_scale:g} x the paper's."
            + (
                " How its findings move with longer training is what the scale ladder above measured."
                if not _empty(t, "ladder")
                else ""
            )
        )
    if not _empty(t, "points"):
        p = t["points"]
        compared = _rows(p, status="compared")
        inside = _rows(p, status="compared", paper_in_ci="yes")
        if compared:
            out.append(
                f"{w.cite('points', compared, 'diff', '{}', 'count')} of the paper's "
                f"{w.cite('points', list(range(len(p))), 'diff', '{}', 'count')} plotted points were run; the "
                f"paper's value lies in our interval at {w.cite('points', inside, 'diff', '{}', 'count')}, and the "
                f"mean |ours − paper| is {w.cite('points', compared, 'diff', '{:.2f}', 'mean_abs')} pp."
            )
    c = t["claims"]
    tally = []
    for verdict in ("holds", "undecided", "does not hold", "not evaluable"):
        rows = _rows(c, ours=verdict)
        if rows:
            tally.append(f"{verdict} {w.cite('claims', rows, 'ours', '{}', 'count')}")
    out.append(
        f"Of the paper's {w.cite('claims', list(range(len(c))), 'ours', '{}', 'count')} claims checked here, "
        f"ours: " + ", ".join(tally) + "."
    )
    return " ".join(out)


def build(
    tables: dict[str, pd.DataFrame], methods: dict, scale: str, sigma_scale: float, ladder_record: dict | None = None
) -> Summary:
    """The conclusions from ``tables`` (TABLES' names; read with ``read_tables``). ``methods``: the run's
    experiment methods ({name: spec with kind and label}). ``ladder_record``: where the ladder's tables come from
    when this run did not train the ladder (``neft.ladder.read_record``: its folder and provenance)."""
    if _empty(tables, "claims"):
        raise ValueError("the summary needs the scorecard's claims table (scorecard_claims.csv)")
    kinds = {m: spec["kind"] for m, spec in methods.items()}
    labels = {m: spec.get("label", m) for m, spec in methods.items()}
    labels |= {k: labels[m] for m, k in kinds.items() if k in NEFT_KINDS and k not in labels}
    summary = Summary(f"What this run shows ({scale} scale)")
    w = _Writer(tables, summary)
    questions = []
    if not _empty(tables, "ladder"):
        if ladder_record:
            summary.files |= {n: f"{ladder_record['folder']}/{TABLES[n]}" for n in LADDER_TABLES}
            question = "What the scale ladder measured (a recorded run, not this one)."
        else:
            question = "What the scale ladder measured."
        questions.append((question, lambda: _ladder(w, kinds, labels, ladder_record)))
    questions += [
        ("Does NeFT beat the baselines?", lambda: _beats(w, kinds, labels)),
        ("How much of the gain is the temperature, how much the feedback?", lambda: _ablation(w, labels)),
        ("Uncertainty and confidence.", lambda: _uncertainty(w, kinds)),
        ("Convergence.", lambda: _convergence(w, labels)),
        ("Device types.", lambda: _devices(w)),
        ("How far is this from the paper?", lambda: _scale(w, scale, sigma_scale)),
    ]
    for question, write in questions:
        w.paragraph = question
        summary.paragraphs.append((question, write()))
    return summary


def read_tables(paths: dict[str, str | Path]) -> dict[str, pd.DataFrame]:
    """The tables by name; a name whose path is empty or missing is left out (its study did not run)."""
    from neft.checks import read_text

    text_columns = {c: str for c in ("sigma", "sigma_vs_best_baseline", "sigma_vs_noise_injection", "our_n")}
    text_columns |= {c: str for c in ("width", "paper_sigma", "verdict")}
    # the claims' stability (neft.stability): a share, and counts that are empty where there are none
    dtypes = text_columns | {"our_stability": "float64", "our_seeds_to_decide": "Int64", "our_resamples": "Int64"}
    tables = {}
    for name, path in paths.items():
        if path:
            tables[name] = pd.read_csv(io.StringIO(read_text(path, f"summary input ({name})")), dtype=dtypes)
    return tables


def write(summary: Summary, md: str | Path, rst: str | Path, sources: str | Path) -> None:
    from neft.io import atomic_write_text

    atomic_write_text(md, summary.markdown())
    atomic_write_text(rst, summary.rst())
    atomic_write_text(sources, summary.sources_frame().to_csv(index=False, lineterminator="\n"))
