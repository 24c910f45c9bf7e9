"""Tables as CSV (tidy), Markdown and LaTeX (wide: one column per sigma), from summary tables only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neft.io import atomic_write_text
from neft.plotting import DATASET_NAMES, MODEL_NAMES


def tex_escape(text) -> str:
    return str(text).replace("_", r"\_").replace("%", r"\%").replace("±", r"$\pm$").replace("σ", r"$\sigma$")


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
    rows = [[r, *wide.loc[r]] for r in wide.index]
    return to_latex_rows(["Model / dataset / method", *wide.columns], rows, caption, label, left_columns=1)


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


def write_ablation_markdown(decomp: pd.DataFrame, sweep: pd.DataFrame, md, tex) -> None:
    """The ablation's decomposition and beta sweep as Markdown, and the decomposition as LaTeX."""
    from neft.plotting import COMPARISON_LABELS

    def cell(d, lo, hi):
        return f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"

    lines = [
        "**Where NeFT's gain over W/ Noise comes from: paired accuracy differences (pp) on the same chips, [95 % CI]**",
        "",
        "| model / dataset | instance | σ | " + " | ".join(COMPARISON_LABELS.values()) + " | feedback share of gain |",
        "|---|---|---:|" + "---:|" * (len(COMPARISON_LABELS) + 1),
    ]
    tex_rows = []
    if not decomp.empty:
        for (model, dataset, inst, s), g in decomp.groupby(["model", "dataset", "instance", "sigma"], sort=False):
            g = g.set_index("comparison")
            cells = [cell(g.loc[c, "diff"], g.loc[c, "ci_low"], g.loc[c, "ci_high"]) for c in COMPARISON_LABELS]
            share = g.loc["feedback", "share_of_gain"]
            share_txt = "–" if pd.isna(share) else f"{100 * share:.0f} %"
            name = f"{MODEL_NAMES.get(model, model)} / {DATASET_NAMES.get(dataset, dataset)}"
            lines.append(f"| {name} | {inst.upper()} | {s} | " + " | ".join(cells) + f" | {share_txt} |")
            tex_rows.append([name, inst.upper(), s, *cells, share_txt])
    if not sweep.empty:
        lines += ["", "**Beta sweep: MC mean accuracy (%) [95 % CI], and paired difference to beta = 0 (pp)**", ""]
        lines += ["| model / dataset | instance | σ | beta | accuracy | vs beta = 0 |", "|---|---|---:|---:|---:|---:|"]
        for r in sweep.itertuples(index=False):
            name = f"{MODEL_NAMES.get(r.model, r.model)} / {DATASET_NAMES.get(r.dataset, r.dataset)}"
            diff = getattr(r, "diff_vs_beta0", float("nan"))
            vs = "–" if pd.isna(diff) or r.beta == 0 else cell(diff, r.diff_ci_low, r.diff_ci_high)
            lines.append(
                f"| {name} | {r.instance.upper()} | {r.sigma} | {r.beta:g} | "
                f"{r.mean:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}] | {vs} |"
            )
    atomic_write_text(md, "\n".join(lines) + "\n")
    header = ["Model / dataset", "Instance", "σ", *COMPARISON_LABELS.values(), "Feedback share"]
    caption = "Paired accuracy differences (pp) on the same chips"
    atomic_write_text(tex, to_latex_rows(header, tex_rows, caption, "tab:ablation"))


def to_latex_rows(header: list[str], rows: list[list[str]], caption: str, label: str, left_columns: int = 3) -> str:
    """A booktabs table: ``left_columns`` left-aligned label columns, the rest right-aligned."""
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{tex_escape(caption)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{'l' * left_columns + 'r' * (len(header) - left_columns)}}}",
        r"\toprule",
        " & ".join(tex_escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(tex_escape(c) for c in r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
