"""Tables as CSV (tidy), Markdown and LaTeX (wide: one column per sigma), from summary tables only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neft.io import atomic_write_text
from neft.plotting import DATASET_NAMES, MODEL_NAMES


def wide_cells(curves: pd.DataFrame, digits: int = 2, plus_minus: str = "±") -> pd.DataFrame:
    """Rows (model, dataset, method), columns sigma, cells 'mean ± CI half-width'."""
    d = curves.copy()
    half = (d["ci_high"] - d["ci_low"]) / 2
    d["cell"] = [
        f"{m:.{digits}f}" + ("" if pd.isna(h) else f" {plus_minus} {h:.{digits}f}") for m, h in zip(d["mean"], half)
    ]
    d["row"] = [
        f"{MODEL_NAMES.get(a, a)} / {DATASET_NAMES.get(b, b)} / {c}" for a, b, c in zip(d.model, d.dataset, d.label)
    ]
    order = list(dict.fromkeys(d["row"]))
    sig = sorted(d["sigma"].unique(), key=float)
    wide = d.pivot(index="row", columns="sigma", values="cell").reindex(index=order, columns=sig).fillna("–")
    wide.columns = [f"σ={s}" for s in sig]
    return wide


def to_markdown(wide: pd.DataFrame, title: str) -> str:
    head = "| model / dataset / method | " + " | ".join(wide.columns) + " |"
    sep = "|---|" + "---:|" * len(wide.columns)
    lines = [f"**{title}**", "", head, sep]
    lines += ["| " + r + " | " + " | ".join(wide.loc[r]) + " |" for r in wide.index]
    return "\n".join(lines) + "\n"


def to_latex(wide: pd.DataFrame, caption: str, label: str) -> str:
    def esc(s: str) -> str:
        return s.replace("_", r"\_").replace("%", r"\%").replace("±", r"$\pm$").replace("σ", r"$\sigma$")

    cols = "l" + "r" * len(wide.columns)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{esc(caption)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{cols}}}",
        r"\toprule",
        "Model / dataset / method & " + " & ".join(esc(c) for c in wide.columns) + r" \\",
        r"\midrule",
    ]
    lines += [esc(r) + " & " + " & ".join(esc(v) for v in wide.loc[r]) + r" \\" for r in wide.index]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_accuracy_table(curves: pd.DataFrame, csv: str | Path, md: str | Path, tex: str | Path) -> None:
    from neft.results import write_csv

    cols = [
        "model",
        "dataset",
        "device",
        "method",
        "label",
        "sigma",
        "source_method",
        "sigma_train",
        "seeds",
        "chips",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "p1",
        "p5",
    ]
    write_csv(curves[cols], csv, float_format="%.4f")
    title = "MC mean top-1 accuracy (%) ± 95 % CI half-width over simulated chips"
    wide = wide_cells(curves)
    atomic_write_text(md, to_markdown(wide, title))
    atomic_write_text(tex, to_latex(wide, title, "tab:accuracy"))
