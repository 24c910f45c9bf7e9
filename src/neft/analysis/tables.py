"""Tables as CSV (tidy), Markdown and LaTeX (wide: one column per sigma), from summary tables only; the Markdown and
LaTeX through neft.report.table_writers' writers (``markdown_lines``, ``latex_table``), which escape every cell."""

from __future__ import annotations

import pandas as pd

from neft.analysis.results import write_csv
from neft.report.labels import COMPARISON_LABELS, DATASET_NAMES, MODEL_NAMES, panel_title
from neft.report.table_writers import latex_table, markdown_lines
from neft.util.io import atomic_write_text


def wide_table(curves: pd.DataFrame, cell) -> pd.DataFrame:
    """Rows (model / dataset [/ device] / method), columns sigma, cells ``cell(row)``; "–" where not run."""
    d = curves.copy()
    d["cell"] = [cell(r) for r in d.itertuples(index=False)]
    several_devices = d["device"].nunique() > 1
    d["row"] = [
        " / ".join(
            [MODEL_NAMES.get(r.model, r.model), DATASET_NAMES.get(r.dataset, r.dataset)]
            + ([r.device] if several_devices else [])
            + [r.label]
        )
        for r in d.itertuples(index=False)
    ]
    order = list(dict.fromkeys(d["row"]))
    sig = sorted(d["sigma"].unique(), key=float)
    wide = d.pivot(index="row", columns="sigma", values="cell").reindex(index=order, columns=sig).fillna("–")
    wide.columns = [f"σ={s}" for s in sig]
    return wide


def mean_ci_cell(r, digits: int = 2) -> str:
    half = (r.ci_high - r.ci_low) / 2
    return f"{r.mean:.{digits}f}" + ("" if pd.isna(half) else f" ± {half:.{digits}f}")


def write_metric_table(curves, columns, cell, caption, out, float_format="%.4f", device=None) -> None:
    """Tidy CSV of ``columns`` (every device), and the wide Markdown/LaTeX view built with ``cell`` (``device``
    only, when given: the other cards are the device study's table). ``caption``: (title, LaTeX label); ``out``:
    the (CSV, Markdown, LaTeX) paths."""
    (title, label), (csv, md, tex) = caption, out
    write_csv(curves[columns], csv, float_format=float_format)
    wide = wide_table(curves if device is None else curves[curves.device == device], cell)
    atomic_write_text(md, to_markdown(wide, title))
    atomic_write_text(tex, to_latex(wide, title, label))


KEY_COLUMNS = ["model", "dataset", "device", "method", "label", "sigma", "source_method", "sigma_train", "seeds"]
VARIANCE_COLUMNS = ["seeds", "chips_per_seed", "sd_between_seeds", "sd_within_seed"]


def to_markdown(wide: pd.DataFrame, title: str) -> str:
    rows = [[r, *wide.loc[r]] for r in wide.index]
    head = ["model / dataset / method", *wide.columns]
    lines = [f"**{title}**", "", *markdown_lines(head, rows, "l" + "r" * len(wide.columns))]
    return "\n".join(lines) + "\n"


def to_latex(wide: pd.DataFrame, caption: str, label: str) -> str:
    rows = [[r, *wide.loc[r]] for r in wide.index]
    return latex_table(["Model / dataset / method", *wide.columns], rows, caption, label, left_columns=1)


def sample_size(curves: pd.DataFrame) -> str:
    """What stands behind each point: "3 training seeds x 30 chips", or the range where points differ."""
    if curves.empty:
        return "no points"
    seeds, chips = sorted(set(curves["seeds"].astype(int))), sorted(set(curves["chips_per_seed"].astype(int)))
    return f"{count_span(seeds)} training seed{'s' if seeds[-1] > 1 else ''} x {count_span(chips)} chips per point"


def count_span(values: list[int]) -> str:
    """Sorted counts as "3", or "1-3" where points differ."""
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def interval_words(curves: pd.DataFrame) -> str:
    if len(curves) and curves["seeds"].max() > 1:
        return "95 % CI half-width over training seeds and chips (a t-interval over the seeds' chip means)"
    return "95 % CI half-width over simulated chips"


def write_accuracy_table(curves: pd.DataFrame, csv, md, tex, device=None) -> None:
    columns = KEY_COLUMNS + ["chips", "mean", "std", "ci_low", "ci_high", "p1", "p5", *VARIANCE_COLUMNS[1:]]
    shown = curves if device is None else curves[curves.device == device]
    title = (
        f"MC mean top-1 accuracy (%) ± {interval_words(shown)}; {sample_size(shown)} (the CSV's std, p1 and p5 are "
        "over all chips of all seeds)"
    )
    if device:
        title += f" ({device})"
    write_metric_table(curves, columns, mean_ci_cell, (title, "tab:accuracy"), (csv, md, tex), device=device)


def write_uncertainty_table(curves: pd.DataFrame, csv, md, tex) -> None:
    columns = KEY_COLUMNS + ["chips", "chips_per_seed", "ekl", "mutual_info"]
    title = (
        "Expected KL divergence (1e-2 nats): E_x E_chip KL(mean softmax || chip softmax), per training seed over its "
        f"chips, averaged over seeds; {sample_size(curves)}"
    )
    cell = lambda r: f"{100 * r.ekl:.3f}"  # noqa: E731
    write_metric_table(curves, columns, cell, (title, "tab:uncertainty"), (csv, md, tex), float_format="%.6g")


def write_confidence_table(curves: pd.DataFrame, csv, md, tex) -> None:
    columns = KEY_COLUMNS + ["chips", "chips_per_seed", "confidence", "confidence_correct"]
    title = f"Mean max-softmax probability: all predictions / correct predictions; {sample_size(curves)}"
    write_metric_table(
        curves,
        columns,
        lambda r: f"{r.confidence:.3f} / {r.confidence_correct:.3f}",
        (title, "tab:confidence"),
        (csv, md, tex),
    )


def variance_split(curves: pd.DataFrame) -> pd.DataFrame:
    """Per point, the accuracy variance of one chip of one training split into its between-seed and within-seed
    (chip) parts (``neft.util.stats.two_level``), and the between-seed share (NaN with one seed: not estimable)."""
    missing = [c for c in VARIANCE_COLUMNS if c not in curves.columns]
    if missing:
        raise ValueError(f"accuracy curves lack {', '.join(missing)}: rebuild results/tables/accuracy_curves.csv")
    out = curves.copy()
    between, within = out.sd_between_seeds**2, out.sd_within_seed**2
    out["between_share"] = between / (between + within)
    return out


def _variance_cell(r) -> str:
    if pd.isna(r.sd_between_seeds):
        return f"– / {r.sd_within_seed:.2f} (1 seed)"
    return f"{r.sd_between_seeds:.2f} / {r.sd_within_seed:.2f} ({100 * r.between_share:.0f} %)"


def write_variance_table(curves: pd.DataFrame, csv, md, tex) -> None:
    columns = KEY_COLUMNS + ["chips", *VARIANCE_COLUMNS[1:], "between_share"]  # (seeds is a key column)
    title = (
        "Std of accuracy (points) between training seeds / within a seed over chips (between-seed share of the "
        "variance); – where one seed was trained"
    )
    write_metric_table(variance_split(curves), columns, _variance_cell, (title, "tab:variance"), (csv, md, tex))


def write_ablation_markdown(decomp: pd.DataFrame, sweep: pd.DataFrame, md, tex) -> None:
    """The ablation's decomposition and beta sweep as Markdown, and the decomposition as LaTeX."""

    def cell(d, lo, hi):
        return f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"

    head = ["model / dataset", "instance", "σ", *COMPARISON_LABELS.values(), "feedback share of gain"]
    decomp_rows = []
    if not decomp.empty:
        for (model, dataset, inst, s), g in decomp.groupby(["model", "dataset", "instance", "sigma"], sort=False):
            g = g.set_index("comparison")
            cells = [cell(g.loc[c, "diff"], g.loc[c, "ci_low"], g.loc[c, "ci_high"]) for c in COMPARISON_LABELS]
            share = g.loc["feedback", "share_of_gain"]
            share_txt = "–" if pd.isna(share) else f"{100 * share:.0f} %"
            decomp_rows.append([panel_title(model, dataset), inst.upper(), s, *cells, share_txt])
    lines = [
        "**Where NeFT's gain over W/ Noise comes from: paired accuracy differences (pp) on the same chips, [95 % CI]**",
        "",
        *markdown_lines(head, decomp_rows, "llr" + "r" * (len(COMPARISON_LABELS) + 1)),
    ]
    if not sweep.empty:
        lines += ["", "**Beta sweep: MC mean accuracy (%) [95 % CI], and paired difference to beta = 0 (pp)**", ""]
        rows = []
        for r in sweep.itertuples(index=False):
            diff = getattr(r, "diff_vs_beta0", float("nan"))
            vs = "–" if pd.isna(diff) or r.beta == 0 else cell(diff, r.diff_ci_low, r.diff_ci_high)
            acc = f"{r.mean:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]"
            rows.append([panel_title(r.model, r.dataset), r.instance.upper(), r.sigma, f"{r.beta:g}", acc, vs])
        head = ["model / dataset", "instance", "σ", "beta", "accuracy", "vs beta = 0"]
        lines += markdown_lines(head, rows, "llrrrr")
    atomic_write_text(md, "\n".join(lines) + "\n")
    header = ["Model / dataset", "Instance", "σ", *COMPARISON_LABELS.values(), "Feedback share"]
    caption = "Paired accuracy differences (pp) on the same chips"
    atomic_write_text(tex, latex_table(header, decomp_rows, caption, "tab:ablation"))


def write_device_table(curves: pd.DataFrame, csv, md, tex) -> None:
    """Accuracy per device card: rows (pair, method, sigma), one column per device."""

    columns = KEY_COLUMNS + ["chips", "mean", "std", "ci_low", "ci_high", "p1", "p5"]
    write_csv(curves[columns], csv, float_format="%.4f")
    d = curves.copy()
    mixed = d["seeds"].nunique() > 1  # e.g. the main card's points are the grid's (all seeds), the others one seed
    d["cell"] = [
        mean_ci_cell(r) + (f" ({int(r.seeds)} seed{'s' * (r.seeds > 1)})" if mixed else "")
        for r in d.itertuples(index=False)
    ]
    d["row"] = [f"{panel_title(r.model, r.dataset)} / {r.label} / σ={r.sigma}" for r in d.itertuples(index=False)]
    devices = list(dict.fromkeys(d["device"]))
    wide = (
        d.pivot(index="row", columns="device", values="cell")
        .reindex(index=list(dict.fromkeys(d["row"])), columns=devices)
        .fillna("–")
    )
    title = f"MC mean accuracy (%) ± 95 % CI half-width per device card; {sample_size(curves)}"
    if mixed:
        title += " (the interval is over seeds where a point has several, over chips where it has one)"
    atomic_write_text(md, to_markdown(wide, title))
    atomic_write_text(tex, to_latex(wide, title, "tab:devices"))


def write_convergence_tables(per_run: pd.DataFrame, summary: pd.DataFrame, labels: dict, csv, runs_csv, md) -> None:

    write_csv(summary, csv, float_format="%.4f")
    write_csv(per_run, runs_csv, float_format="%.4f")
    lines = [
        "**Convergence probability: converged runs / runs (last-epoch noisy validation accuracy at least the "
        "configured fraction of the W/O Noise model's clean accuracy)**",
        "",
    ]
    head = ["model / dataset", "method", "σ", "converged", "probability", "mean noisy val. acc. (%)"]
    rows = [
        [
            panel_title(r.model, r.dataset),
            labels.get(r.method, r.method),
            r.sigma,
            f"{int(r.converged)}/{int(r.runs)}",
            f"{r.probability:.2f}",
            f"{r.mean_noisy_acc:.2f}",
        ]
        for r in summary.itertuples(index=False)
    ]
    lines += markdown_lines(head, rows, "llrrrr")
    atomic_write_text(md, "\n".join(lines) + "\n")


def write_probe_table(table, labels: dict, csv, md) -> None:
    """The worst-case probe's table (``neft.experiment.study_handoff.read_probes``): the tidy CSV and its Markdown."""

    write_csv(table, csv, float_format="%.4f")
    head = ["model / dataset", "device", "σ", "method", "sampled chips", "sampled mean (%)", "sampled 1st pct (%)"]
    head += ["sampled worst (%)", "probe's chip (%)", "below the 1st pct (pp)", "its norm's χ² quantile"]
    rows = [
        [
            panel_title(r.model, r.dataset),
            r.device,
            r.sigma_test,
            labels.get(r.method, r.method),
            r.sampled_chips,
            f"{r.sampled_mean:.2f}",
            f"{r.sampled_p1:.2f}",
            f"{r.sampled_worst:.2f}",
            f"{r.found_accuracy:.2f}",
            f"{r.below_p1:+.2f}",
            f"{r.found_norm_quantile:.3f}",
        ]
        for r in table.itertuples(index=False)
    ]
    lines = [
        "**Worst-case probe: a chip of typical Mahalanobis norm found by projected gradient ascent from the worst "
        "sampled chip (accuracy, %)**",
        "",
        *markdown_lines(head, rows, "llrlrrrrrrr"),
    ]
    lines += [
        "",
        "A norm inside the typical shell does not make the chip probable: the probe shows that such chips exist under "
        "the device model and how bad they are, not how often they occur (docs/methods.md, 'Worst-case probe').",
    ]
    atomic_write_text(md, "\n".join(lines) + "\n")
