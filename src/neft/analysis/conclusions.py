"""The run's conclusions, written from its own tables: one short paragraph per question a reader brings.

Every number and verdict in the text is *cited*: it is rendered from one cell (or one aggregate of cells) of a named
table, and the citation is kept (``Summary.sources``, written next to the text as ``summary_sources.csv``), so a test
can recompute each number from the table it came from, and a reader can find it. The sentences are the same at every
scale; what a table does not hold (a study that did not run, one training seed) is said, not left out.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from neft.analysis import brief, evidence
from neft.analysis.citing import BRIEF, LADDER_TABLES, TABLES, VERDICTS, Summary, Writer, is_empty
from neft.analysis.claims import NEFT_KINDS
from neft.report.labels import method_label
from neft.util.checks import read_text
from neft.util.io import atomic_write_text


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
    if is_empty(tables, "claims"):
        raise ValueError("the summary needs the scorecard's claims table (scorecard_claims.csv)")
    kinds = {m: spec["kind"] for m, spec in methods.items()}
    labels = {m: method_label(methods, m) for m in methods}
    labels |= {k: labels[m] for m, k in kinds.items() if k in NEFT_KINDS and k not in labels}
    summary = Summary(f"What this run shows ({scale} scale)")
    w = Writer(tables, summary)
    if not is_empty(tables, "ladder") and ladder_record:
        summary.files |= {n: f"{ladder_record['folder']}/{TABLES[n]}" for n in LADDER_TABLES}

    w.paragraph = VERDICTS
    summary.verdicts = brief.verdict_rows(w)

    short = [
        ("Read this first.", lambda: brief.scale(w, scale, sigma_scale, epochs, kinds, ladder_record)),
        ("Does NeFT beat the baselines?", lambda: brief.beats(w, kinds, labels)),
        ("Where does the gain come from?", lambda: brief.ablation(w, labels)),
        ("Uncertainty and confidence.", lambda: brief.uncertainty(w)),
        ("Convergence.", lambda: brief.convergence(w, labels)),
        ("Device types.", lambda: brief.devices(w)),
        ("How far is this from the paper?", lambda: brief.paper(w)),
    ]
    for label, write_text in short:
        w.paragraph = f"{BRIEF}: {label}"
        text = write_text()
        if text:
            summary.brief.append((label, text))

    questions = []
    if not is_empty(tables, "ladder"):
        if ladder_record:
            question = "What the scale ladder measured (a recorded run, not this one)."
        else:
            question = "What the scale ladder measured."
        questions.append((question, lambda: evidence.ladder(w, kinds, labels, ladder_record)))
    questions += [
        ("Does NeFT beat the baselines?", lambda: evidence.beats(w, kinds, labels)),
        ("How much of the gain is the temperature, how much the feedback?", lambda: evidence.ablation(w, labels)),
        ("Uncertainty and confidence.", lambda: evidence.uncertainty(w, kinds)),
        ("Convergence.", lambda: evidence.convergence(w, labels)),
        ("Device types.", lambda: evidence.devices(w)),
        ("How far is this from the paper?", lambda: evidence.scale_items(w, scale, sigma_scale)),
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
