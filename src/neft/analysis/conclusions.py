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

from neft.analysis.claims import NEFT_KINDS
from neft.report.labels import method_label, panel_title
from neft.report.table_writers import markdown_table
from neft.util.checks import read_text
from neft.util.io import atomic_write_text
from neft.util.stats import wilson_interval

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
#: the scale ladder's tables (neft.analysis.ladder), this run's or a recorded run's (``scale_study.recorded``)
LADDER_TABLES = ("ladder", "ladder_decomposition", "ladder_claims")
#: what a cited number is, computed from the cited cells (the test applies the same operation)
OPERATIONS = {
    "value": lambda v: v.iloc[0],
    "count": lambda v: len(v),
    "mean_abs": lambda v: float(np.abs(v.astype(float)).mean()),
    "wilson_low": lambda v: 100 * wilson_interval(int(v.iloc[0]), int(v.iloc[1]))[0],
    "wilson_high": lambda v: 100 * wilson_interval(int(v.iloc[0]), int(v.iloc[1]))[1],
    "share_count": lambda v: round(float(v.iloc[0]) * int(v.iloc[1])),  # (share, resamples): how many resamples
}
#: operations over several columns of one row (``column`` names them joined by '/')
ROW_OPERATIONS = ("wilson_low", "wilson_high", "share_count")


@dataclass
class Source:
    """One cited number: ``operation`` over ``table``'s ``column`` at data rows ``rows`` (0-based), rendered as
    ``text`` with ``fmt``. For ``wilson_*`` the cells are (converged, runs) of one row, for ``share_count``
    (share, resamples) of one row."""

    paragraph: str
    table: str
    rows: tuple[int, ...]
    column: str
    operation: str
    fmt: str
    text: str


#: the summary's sections, in order (``## heading`` in summary.md): what a reader looks at first, then reads
VERDICTS = "The paper's claims: its verdict and ours"
BRIEF = "What this run shows, in short"
EVIDENCE = "Evidence: every number behind the text"
VERDICT_COLUMNS = ("Claim", "Paper's verdict", "Our verdict", "n (ours)", "Stability of ours")
VERDICT_NOTE = (
    "Ours are seed-level tests (n: training seeds x chips per seed). Stability: how many resamples (with "
    "replacement) of the training seeds, or for the convergence claim of each method's runs, give the same verdict; "
    "for an undecided claim, about how many seeds would decide it."
)
EVIDENCE_NOTE = (
    "The full evidence, per question: every interval, each σ and claim, the scale ladder's trajectories. Each "
    "number is cited from one table cell (results/tables/summary_sources.csv names the table, rows and column)."
)


@dataclass
class Summary:
    title: str
    verdicts: list[list[str]] = field(default_factory=list)  # one row per claim, VERDICT_COLUMNS
    brief: list[tuple[str, str]] = field(default_factory=list)  # (label, short paragraph)
    evidence: list[tuple[str, list[str]]] = field(default_factory=list)  # (question, its items)
    sources: list[Source] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # a table's file where it is not results/tables/TABLES[name]

    def verdict_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.verdicts, columns=list(VERDICT_COLUMNS))

    def markdown(self) -> str:

        parts = [f"# {self.title}", "", f"## {VERDICTS}", "", markdown_table(self.verdict_frame()), VERDICT_NOTE, ""]
        parts += [f"## {BRIEF}", ""]
        for label, text in self.brief:
            parts += [f"**{label}** {text}", ""]
        parts += [f"## {EVIDENCE}", "", EVIDENCE_NOTE, ""]
        for question, items in self.evidence:
            parts += [f"### {question}", ""] + [f"- {item}" for item in items] + [""]
        return "\n".join(parts)

    def rst(self) -> str:
        """The same text for Snakemake's report front page (reStructuredText: ``**bold**`` reads the same)."""
        parts = [self.title, "=" * len(self.title), "", VERDICTS, "-" * len(VERDICTS), ""]
        parts += [".. list-table::", "   :header-rows: 1", ""]
        for row in [list(VERDICT_COLUMNS), *self.verdicts]:
            parts += [f"   {'*' if i == 0 else ' '} - {_rst_escape(cell)}" for i, cell in enumerate(row)]
        parts += ["", VERDICT_NOTE, "", BRIEF, "-" * len(BRIEF), ""]
        for label, text in self.brief:
            parts += [f"**{label}** {_rst_escape(text)}", ""]
        parts += [EVIDENCE, "-" * len(EVIDENCE), "", EVIDENCE_NOTE, ""]
        for question, items in self.evidence:
            parts += [question, "~" * len(question), ""] + [f"- {_rst_escape(item)}" for item in items] + [""]
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


def sections(markdown: str) -> dict[str, str]:
    """summary.md split at its ``## `` headings: {"title": the first line, VERDICTS: ..., BRIEF: ..., EVIDENCE: ...}
    (each section's body, without its heading), so the report can show the verdicts and the text first and the
    evidence last."""
    out, key, lines = {}, "title", []
    for line in markdown.splitlines():
        if line.startswith("## "):
            out[key] = "\n".join(lines).strip() + "\n"
            key, lines = line[3:].strip(), []
        else:
            lines.append(line)
    out[key] = "\n".join(lines).strip() + "\n"
    return out


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
        if operation in ROW_OPERATIONS:
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


# -- the evidence: one list of items per question ----------------------------------------------------------------
def _beats(w: _Writer, kinds: dict, labels: dict) -> list[str]:
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
    return out or ["No accuracy table was built in this run."]


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
    """How stable claim row ``i``'s verdict is over seed resamples (neft.analysis.stability), cited from the claims
    table; nothing where the table has no stability columns or the claim no verdict."""
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


def _ablation(w: _Writer, labels: dict) -> list[str]:
    t = w.tables
    if _empty(t, "ablation"):
        return ["The ablation did not run (ablation.enabled is off)."]
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
    return out + ["Paired differences on the same chips; the shares are of the NeFT − W/ Noise mean."]


def _uncertainty(w: _Writer, kinds: dict) -> list[str]:
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
    return out or ["No uncertainty or confidence claims were checked."]


def _convergence(w: _Writer, labels: dict) -> list[str]:
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
    return out


def _devices(w: _Writer) -> list[str]:
    t = w.tables
    if _empty(t, "devices"):
        return ["The device study did not run."]
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
    return out


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


def _ladder(w: _Writer, kinds: dict, labels: dict, record: dict | None = None) -> list[str]:
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
    return out


def _scale_sentence(scale: str, sigma_scale: float) -> str:
    return (
        f"This is the {scale} scale, not the paper's: smaller models, data and chip counts, and a σ grid "
        f"{sigma_scale:g} x the paper's."
    )


def _scale(w: _Writer, scale: str, sigma_scale: float) -> list[str]:
    t = w.tables
    out = []
    if scale != "paper":
        out.append(
            _scale_sentence(scale, sigma_scale)
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
    return out


# -- the verdict table: one row per claim ----------------------------------------------------------------------------
def _verdict_rows(w: _Writer) -> list[list[str]]:
    c = w.tables["claims"]
    rows = []
    for i in range(len(c)):
        r = c.iloc[i]
        n = w.cite("claims", i, "our_n") if isinstance(r["our_n"], str) and r["our_n"].strip() else "–"
        rows.append(
            [
                w.cite("claims", i, "claim"),
                w.cite("claims", i, "paper"),
                w.cite("claims", i, "ours"),
                n,
                _stability_cell(w, i),
            ]
        )
    return rows


def _stability_cell(w: _Writer, i: int) -> str:
    """Claim row ``i``'s stability as the scorecard writes it (``neft.analysis.scorecard.stability_text``), cited."""
    r = w.tables["claims"].iloc[i]
    if "our_stability" not in r or pd.isna(r["our_stability"]) or pd.isna(r.get("our_resamples")):
        judged = r["ours"] in ("holds", "does not hold", "undecided")
        return "– (one seed)" if judged and str(r["our_n"]).startswith("1 seed") else "–"
    text = (
        f"{w.cite('claims', i, 'our_stability/our_resamples', '{:d}', 'share_count')}/"
        f"{w.cite('claims', i, 'our_resamples', '{:.0f}')} resamples "
        f"({w.cite('claims', i, 'our_stability', '{:.0%}')})"
    )
    if pd.notna(r.get("our_seeds_to_decide")):
        text += f"; ≈ {w.cite('claims', i, 'our_seeds_to_decide', '{:.0f}')} seeds would decide it"
    return text


# -- the short text: one point a sentence, an interval only where it carries the point ------------------------------
def _brief_scale(w: _Writer, scale: str, sigma_scale: float, epochs, kinds: dict, record: dict | None) -> str:
    """What to keep in mind before any number: the scale, the training length, and what the scale ladder says
    longer training does to the headline gain and to the worst case."""
    t = w.tables
    out = []
    if scale != "paper":
        out.append(_scale_sentence(scale, sigma_scale))
    if epochs is not None and scale != "paper":
        out.append(f"Each model trained for only {epochs} {'epoch' if epochs == 1 else 'epochs'}.")
    if not _empty(t, "ladder") and not _empty(t, "ladder_decomposition"):
        out += _ladder_brief(w, kinds, record)
    elif scale != "paper":
        out.append(
            "No scale ladder ran or was recorded, so how these findings move with longer training is not measured."
        )
    return " ".join(out)


def _ladder_brief(w: _Writer, kinds: dict, record: dict | None) -> list[str]:
    acc, dec = w.tables["ladder"], w.tables["ladder_decomposition"]
    names = _rung_names(acc)
    labels = dict(zip(acc["method"], acc["label"]))
    gains = [i for i in range(len(dec)) if dec.iloc[i]["comparison"] == "gain"]
    if not gains:
        return []
    instances = list(dict.fromkeys(str(dec.iloc[i]["instance"]) for i in gains))
    inst = next((x for x in instances if kinds.get(x, x) == "ovf"), instances[0])
    ps = max({str(dec.iloc[i]["paper_sigma"]) for i in gains}, key=float)  # the largest paper sigma: the headline's
    rows = [i for i in gains if str(dec.iloc[i]["instance"]) == inst and str(dec.iloc[i]["paper_sigma"]) == ps]
    first, last = rows[0], rows[-1]
    a, b = str(dec.iloc[first]["method_a"]), str(dec.iloc[first]["method_b"])
    la, lb = labels.get(a, a), labels.get(b, b)

    def rung(table, r):
        x = w.tables[table].iloc[r]
        return names[(str(x["width"]), int(x["epochs"]))]

    where = (
        f"The recorded scale ladder ({record['folder']}; a separate run, see “What the scale ladder measured (a "
        f"recorded run, not this one)” under Evidence)"
        if record
        else "The scale ladder (see “What the scale ladder measured” under Evidence)"
    )
    g0, g1 = float(dec.iloc[first]["diff"]), float(dec.iloc[last]["diff"])
    verb = "shrinks" if abs(g1) < abs(g0) else "grows"
    text = (
        f"{where} trained the same methods longer, for {_join(list(dict.fromkeys(names.values())))}. "
        f"Longer training {verb} {la}'s gain over {lb} from {w.cite('ladder_decomposition', first, 'diff', '{:+.0f}')}"
        f" pp ({rung('ladder_decomposition', first)}) to {w.cite('ladder_decomposition', last, 'diff', '{:+.0f}')} pp "
        f"({rung('ladder_decomposition', last)})"
    )
    pa = _rows(acc, paper_sigma=ps, method=a)
    pb = _rows(acc, paper_sigma=ps, method=b)
    if len(pa) < 2 or len(pb) < 2:
        return [text + "."] + (["Read the gains below as those of short training."] if verb == "shrinks" else [])
    before = float(acc.iloc[pa[0]]["p1"]) - float(acc.iloc[pb[0]]["p1"])
    after = float(acc.iloc[pa[-1]]["p1"]) - float(acc.iloc[pb[-1]]["p1"])

    def p1(r):
        return w.cite("ladder", r, "p1", "{:.2f}")

    text += "."
    if (before > 0) != (after > 0):
        up, down = (pb[-1], pa[-1]) if before > 0 else (pa[-1], pb[-1])
        first_up = pa[0] if before > 0 else pb[0]
        worst = (
            f"It also reverses the worst case: at {rung('ladder', pa[-1])} "
            f"{labels.get(str(acc.iloc[up]['method']))}'s worst chips (1st percentile) beat "
            f"{labels.get(str(acc.iloc[down]['method']))}'s, {p1(up)} % against {p1(down)} %; at "
            f"{rung('ladder', pa[0])} {labels.get(str(acc.iloc[first_up]['method']))}'s were the better ones."
        )
    else:
        top = pa if before > 0 else pb
        worst = (
            f"The worst case keeps its order: {labels.get(str(acc.iloc[top[0]]['method']))}'s worst chips (1st "
            f"percentile) are the better ones at every rung ({p1(top[-1])} % at {rung('ladder', top[-1])})."
        )
    return [text, worst] + (["Read the gains below as those of short training."] if verb == "shrinks" else [])


def _claims_brief(w: _Writer, metrics: tuple[str, ...], what: str) -> list[str]:
    """How many of the claims about ``what`` hold here, and each one that does not, in plain words."""
    c = w.tables["claims"]
    rows = [i for i in range(len(c)) if c.iloc[i]["metric"] in metrics]
    if not rows:
        return []
    held = [i for i in rows if c.iloc[i]["ours"] == "holds"]
    out = []
    if len(rows) > 1:
        n_held = w.cite("claims", held, "ours", "{}", "count")
        n_all = w.cite("claims", rows, "ours", "{}", "count")
        out.append(f"{n_held} of the paper's {n_all} claims about {what} {'holds' if len(held) == 1 else 'hold'} here.")
    for i in rows:
        r = c.iloc[i]
        if r["ours"] == "holds" and len(rows) > 1:
            continue
        claim = f"“{w.cite('claims', i, 'claim')}”"
        if r["ours"] == "holds":
            text = f"{claim} holds here"
        elif r["ours"] == "undecided":
            text = f"{claim} is undecided: our interval spans the boundary"
            if pd.notna(r.get("our_seeds_to_decide")):
                text += f"; about {w.cite('claims', i, 'our_seeds_to_decide', '{:.0f}')} seeds would decide it"
        elif r["ours"] == "does not hold":
            text = f"{claim} does not hold here"
            if r["paper"] == "holds":
                text += ", though it holds on the paper's own numbers"
        else:
            text = f"{claim} could not be tested here"
        out.append(text + ".")
    return out


def _brief_beats(w: _Writer, kinds: dict, labels: dict) -> str:
    t = w.tables
    out = []
    if not _empty(t, "headline"):
        h = t["headline"]
        panels = h[["model", "dataset"]].drop_duplicates()
        for k, inst in enumerate(dict.fromkeys(h["instance"])):
            rows = [i for i in range(len(h)) if h.iloc[i]["instance"] == inst]
            i = max(rows, key=lambda r: float(h.iloc[r]["gain_vs_noise_injection"]))
            name = labels.get(inst, str(inst).upper())
            on = f" on {w.panel('headline', i)}" + (
                f" (the largest of {len(panels)} panels)" if len(panels) > 1 else ""
            )
            gain = f"{w.cite('headline', i, 'gain_vs_noise_injection', '{:+.2f}')} pp"
            if k == 0:  # the headline: its interval carries the point
                gain += " " + w.interval(
                    "headline", i, "gain_vs_noise_injection_ci_low", "gain_vs_noise_injection_ci_high"
                )
                base = labels.get(h.iloc[i]["best_baseline_method"], h.iloc[i]["best_baseline_method"])
                out.append(
                    f"{name}'s largest gain over W/ Noise is {gain}, at σ = "
                    f"{w.cite('headline', i, 'sigma_vs_noise_injection')}{on}."
                )
                if kinds.get(h.iloc[i]["best_baseline_method"]) != "noise_injection":  # else the same number
                    out.append(
                        f"Over the best baseline ({base}) its largest gain is "
                        f"{w.cite('headline', i, 'gain_vs_best_baseline', '{:+.2f}')} pp."
                    )
            else:
                out.append(f"{name}'s is {gain}, at σ = {w.cite('headline', i, 'sigma_vs_noise_injection')}{on}.")
    if not _empty(t, "accuracy"):
        a = t["accuracy"]
        tops, best = [], []
        for model, dataset in a[["model", "dataset"]].drop_duplicates().itertuples(index=False):
            rows = _rows(a, model=model, dataset=dataset)
            for s in sorted(dict.fromkeys(a.iloc[rows]["sigma"].astype(str)), key=float):
                at = [r for r in rows if str(a.iloc[r]["sigma"]) == s and a.iloc[r]["method"] in kinds]
                if at:
                    top = max(at, key=lambda r: float(a.iloc[r]["mean"]))
                    tops.append(top)
                    best += [top] if kinds[a.iloc[top]["method"]] in NEFT_KINDS else []
        if tops:
            out.append(
                f"A NeFT method has the highest mean accuracy at {w.cite('accuracy', best, 'sigma', '{}', 'count')} of "
                f"{w.cite('accuracy', tops, 'sigma', '{}', 'count')} σ points."
            )
    out += _claims_brief(w, ("accuracy",), "accuracy")
    return " ".join(out)


def _brief_ablation(w: _Writer, labels: dict) -> str | None:
    t = w.tables
    if _empty(t, "ablation"):
        return None
    d = t["ablation"]
    first = d[["model", "dataset"]].drop_duplicates().iloc[0]
    rows = _rows(d, model=first["model"], dataset=first["dataset"])
    top = max({str(d.iloc[r]["sigma"]) for r in rows}, key=float)
    here = {
        (str(d.iloc[r]["instance"]), str(d.iloc[r]["comparison"])): r for r in rows if str(d.iloc[r]["sigma"]) == top
    }
    instances = list(dict.fromkeys(i for i, _ in here))
    temp = [
        f"{w.cite('ablation', here[(i, 'temp')], 'share_of_gain', '{:.0%}')} of {labels.get(i, i.upper())}'s gain"
        for i in instances
        if (i, "temp") in here and pd.notna(d.iloc[here[(i, "temp")]]["share_of_gain"])
    ]
    feedback = [
        f"{_sign_words(d.iloc[here[(i, 'feedback')]]['ci_low'], d.iloc[here[(i, 'feedback')]]['ci_high'])} for "
        f"{labels.get(i, i.upper())}"
        for i in instances
        if (i, "feedback") in here
    ]
    anchor = next(iter(here.values()))
    out = []
    if temp:
        out.append(
            f"At σ = {w.cite('ablation', anchor, 'sigma')}, the temperature alone recovers {_join(temp)} over W/ Noise."
        )
    if feedback:
        out.append(f"The feedback term's part is {_join(feedback)}.")
    return " ".join(out) or None


def _brief_uncertainty(w: _Writer) -> str | None:
    return " ".join(_claims_brief(w, ("uncertainty", "confidence"), "uncertainty and confidence")) or None


def _brief_convergence(w: _Writer, labels: dict) -> str | None:
    t = w.tables
    out = []
    if not _empty(t, "convergence"):
        c = t["convergence"]
        first = c[["model", "dataset"]].drop_duplicates().iloc[0]
        rows = _rows(c, model=first["model"], dataset=first["dataset"])
        top = max({str(c.iloc[r]["sigma"]) for r in rows}, key=float)
        rows = sorted(
            (r for r in rows if str(c.iloc[r]["sigma"]) == top),
            key=lambda r: -float(c.iloc[r]["converged"]) / max(float(c.iloc[r]["runs"]), 1.0),
        )
        parts = [
            f"{labels.get(c.iloc[r]['method'], c.iloc[r]['method'])} {w.cite('convergence', r, 'converged', '{:.0f}')}"
            f" of {w.cite('convergence', r, 'runs', '{:.0f}')}"
            for r in rows
        ]
        out.append(f"At σ = {w.cite('convergence', rows[0], 'sigma')}, these runs converged: {', '.join(parts)}.")
    out += _claims_brief(w, ("other",), "convergence")
    return " ".join(out) or None


def _brief_devices(w: _Writer) -> str | None:
    """The most accurate method per device card, at the first panel and sigma (the others are under Evidence)."""
    t = w.tables
    if _empty(t, "devices"):
        return None
    d = t["devices"]
    first = d.iloc[0]
    g = _rows(d, model=first["model"], dataset=first["dataset"], sigma=first["sigma"])
    per_device = {}
    for r in g:
        per_device.setdefault(d.iloc[r]["device"], []).append(r)
    wins = {}
    for rows in per_device.values():
        top = max(rows, key=lambda r: float(d.iloc[r]["mean"]))
        wins.setdefault(d.iloc[top]["label"], []).append(top)
    win_text = _join(
        [
            f"{w.cite('devices', rows[0], 'label')} on {w.cite('devices', rows, 'device', '{}', 'count')}"
            for rows in wins.values()
        ]
    )
    cards = w.cite("devices", [rows[0] for rows in per_device.values()], "device", "{}", "count")
    sigma = w.cite("devices", g[0], "sigma")
    return f"The most accurate method per device card at σ = {sigma}: {win_text} of {cards} cards."


def _brief_paper(w: _Writer) -> str:
    t = w.tables
    out = []
    c = t["claims"]
    tally = []
    for verdict, words in (("holds", "hold"), ("undecided", "undecided"), ("does not hold", "do not hold")):
        rows = _rows(c, ours=verdict)
        if rows:
            tally.append(f"{w.cite('claims', rows, 'ours', '{}', 'count')} {words}")
    rest = _rows(c, ours="not evaluable")
    if rest:
        tally.append(f"{w.cite('claims', rest, 'ours', '{}', 'count')} could not be tested")
    out.append(
        f"Of the paper's {w.cite('claims', list(range(len(c))), 'ours', '{}', 'count')} claims: "
        + ", ".join(tally)
        + "."
    )
    if not _empty(t, "points"):
        p = t["points"]
        compared = _rows(p, status="compared")
        if compared:
            out.append(
                f"Of the paper's plotted points, {w.cite('points', compared, 'diff', '{}', 'count')} were run; ours "
                f"differ from them by {w.cite('points', compared, 'diff', '{:.2f}', 'mean_abs')} pp on average."
            )
    return " ".join(out)


def build(
    tables: dict[str, pd.DataFrame],
    methods: dict,
    scale: str,
    sigma_scale: float,
    ladder_record: dict | None = None,
    epochs: int | None = None,
) -> Summary:
    """The conclusions from ``tables`` (TABLES' names; read with ``read_tables``). ``methods``: the run's
    experiment methods ({name: spec with kind and label}). ``ladder_record``: where the ladder's tables come from
    when this run did not train the ladder (``neft.analysis.ladder.read_record``: its folder and provenance).
    ``epochs``: the run's training epochs (config training.epochs), said first when the scale is not the paper's.

    The summary has three parts: the verdict table (one row per claim), a short text (one point a sentence, an
    interval only for the headline gain) and the evidence (every number, per question)."""
    if _empty(tables, "claims"):
        raise ValueError("the summary needs the scorecard's claims table (scorecard_claims.csv)")
    kinds = {m: spec["kind"] for m, spec in methods.items()}
    labels = {m: method_label(methods, m) for m in methods}
    labels |= {k: labels[m] for m, k in kinds.items() if k in NEFT_KINDS and k not in labels}
    summary = Summary(f"What this run shows ({scale} scale)")
    w = _Writer(tables, summary)
    if not _empty(tables, "ladder") and ladder_record:
        summary.files |= {n: f"{ladder_record['folder']}/{TABLES[n]}" for n in LADDER_TABLES}

    w.paragraph = VERDICTS
    summary.verdicts = _verdict_rows(w)

    brief = [
        ("Read this first.", lambda: _brief_scale(w, scale, sigma_scale, epochs, kinds, ladder_record)),
        ("Does NeFT beat the baselines?", lambda: _brief_beats(w, kinds, labels)),
        ("Where does the gain come from?", lambda: _brief_ablation(w, labels)),
        ("Uncertainty and confidence.", lambda: _brief_uncertainty(w)),
        ("Convergence.", lambda: _brief_convergence(w, labels)),
        ("Device types.", lambda: _brief_devices(w)),
        ("How far is this from the paper?", lambda: _brief_paper(w)),
    ]
    for label, write_text in brief:
        w.paragraph = f"{BRIEF}: {label}"
        text = write_text()
        if text:
            summary.brief.append((label, text))

    questions = []
    if not _empty(tables, "ladder"):
        if ladder_record:
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
    for question, write_items in questions:
        w.paragraph = question
        summary.evidence.append((question, write_items()))
    return summary


def read_tables(paths: dict[str, str | Path]) -> dict[str, pd.DataFrame]:
    """The tables by name; a name whose path is empty or missing is left out (its study did not run)."""

    text_columns = {c: str for c in ("sigma", "sigma_vs_best_baseline", "sigma_vs_noise_injection", "our_n")}
    text_columns |= {c: str for c in ("width", "paper_sigma", "verdict")}
    # the claims' stability (neft.analysis.stability): a share, and counts that are empty where there are none
    dtypes = text_columns | {"our_stability": "float64", "our_seeds_to_decide": "Int64", "our_resamples": "Int64"}
    tables = {}
    for name, path in paths.items():
        if path:
            tables[name] = pd.read_csv(io.StringIO(read_text(path, f"summary input ({name})")), dtype=dtypes)
    return tables


def write(summary: Summary, md: str | Path, rst: str | Path, sources: str | Path) -> None:

    atomic_write_text(md, summary.markdown())
    atomic_write_text(rst, summary.rst())
    atomic_write_text(sources, summary.sources_frame().to_csv(index=False, lineterminator="\n"))
