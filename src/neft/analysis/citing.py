"""A text whose every number is cited: the summary's document (``Summary``: verdicts, short text, evidence), the
citation of each number (``Source``: table, rows, column, operation), and the ``Writer`` that renders a number from
a table cell and records where it came from. ``neft.analysis.conclusions`` writes the run's summary with it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neft.report.labels import panel_title
from neft.report.table_writers import markdown_table
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


class Writer:
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


def rows_where(df: pd.DataFrame, **where) -> list[int]:
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k].astype(str) == str(v)).to_numpy()
    return list(np.flatnonzero(mask))


def sign_words(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval (one training seed or chip)"
    if low > 0:
        return "above 0"
    if high < 0:
        return "below 0"
    return "not distinguishable from 0"


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def is_empty(tables, name) -> bool:
    return name not in tables or tables[name] is None or tables[name].empty
