"""One method, two implementations: does IBM's aihwkit-lightning, training the same W/ Noise on the same seeds, data
order and sigmas, reach the accuracy our ``noise_injection`` reaches on the same chips?

Per sigma, ``theirs - ours`` is paired twice, as in the ablation (``neft.analysis.ablation``): per training seed on the
same seeded chips, then across seeds with ``neft.util.stats.paired_two_level`` (a t-interval over the seeds' mean
differences; with one seed, the chip-level interval). The two trainings share the initial weights and the order of
the batches but not the noise draws (aihwkit-lightning draws its own), so the seed-to-seed spread of a difference
is real training noise, and a difference whose interval excludes 0 is a difference between the tools.
"""

from __future__ import annotations

import pandas as pd

from neft.analysis.ablation import by_seed, chip_values
from neft.analysis.results import write_csv
from neft.report.labels import DATASET_NAMES, MODEL_NAMES
from neft.report.table_writers import markdown_lines
from neft.util.io import atomic_write_text
from neft.util.sigma import format_sigma
from neft.util.stats import paired_two_level, two_level, verdict

COLUMNS = (
    "model",
    "dataset",
    "device",
    "sigma",
    "ours",
    "theirs",
    "seeds",
    "chips",
    "mean_ours",
    "ci_low_ours",
    "ci_high_ours",
    "mean_theirs",
    "ci_low_theirs",
    "ci_high_theirs",
    "diff",
    "ci_low",
    "ci_high",
    "sd_between_seeds",
    "agreement",
)
#: the interval of theirs - ours contains 0 / lies above it / below it
AGREE, THEIRS_HIGHER, OURS_HIGHER = "contains 0", "theirs higher", "ours higher"


def paired_table(chips: pd.DataFrame, ours: str, theirs: str, ci: float = 0.95) -> pd.DataFrame:
    """One row per (model, dataset, device, sigma) at which both methods were trained and tested, on the seeds and
    chips they share."""
    rows = []
    both = chips[chips.method.isin([ours, theirs]) & (chips.sigma_train == chips.sigma_test)]
    keys = both[["model", "dataset", "device", "sigma_test"]].drop_duplicates()
    keys = keys.assign(_s=keys.sigma_test.astype(float)).sort_values(["model", "dataset", "device", "_s"])
    tag = f"ci{round(ci * 100)}"
    for model, dataset, device, sigma in keys[["model", "dataset", "device", "sigma_test"]].itertuples(index=False):
        a = chip_values(chips, model, dataset, device, ours, sigma)
        b = chip_values(chips, model, dataset, device, theirs, sigma)
        common = a.index.intersection(b.index)
        if common.empty:
            continue
        a, b = a[common], b[common]
        d = paired_two_level(by_seed(b), by_seed(a), ci)
        sa, sb = two_level(by_seed(a), ci, percentiles=()), two_level(by_seed(b), ci, percentiles=())
        judged = verdict(d["ci_low"], d["ci_high"])
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "device": device,
                "sigma": format_sigma(sigma),
                "ours": ours,
                "theirs": theirs,
                "seeds": d["seeds"],
                "chips": d["chips"],
                "mean_ours": sa["mean"],
                "ci_low_ours": sa[f"{tag}_low"],
                "ci_high_ours": sa[f"{tag}_high"],
                "mean_theirs": sb["mean"],
                "ci_low_theirs": sb[f"{tag}_low"],
                "ci_high_theirs": sb[f"{tag}_high"],
                "diff": d["diff"],
                "ci_low": d["ci_low"],
                "ci_high": d["ci_high"],
                "sd_between_seeds": d["sd_between_seeds"],
                "agreement": {"holds": THEIRS_HIGHER, "does not hold": OURS_HIGHER}.get(judged, AGREE),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_crosscheck(table: pd.DataFrame, labels: dict, csv, md, ci: float = 0.95) -> None:
    """The tidy CSV, and a Markdown table with one line saying at how many sigmas the interval contains 0."""

    write_csv(table, csv, float_format="%.4f")
    pct = round(ci * 100)
    if table.empty:
        atomic_write_text(md, "**Cross-check**: no sigma at which both implementations were trained and tested.\n")
        return
    ours, theirs = table["ours"].iloc[0], table["theirs"].iloc[0]
    lo, la = labels.get(ours, ours), labels.get(theirs, theirs)
    agree = int((table.agreement == AGREE).sum())
    seeds = "/".join(map(str, sorted(set(table.seeds))))
    per_seed = "/".join(map(str, sorted({int(c // s) for c, s in zip(table.chips, table.seeds)})))
    lines = [
        f"**Cross-check: {la} minus {lo}, paired per training seed on the same chips (accuracy, %; [{pct} % CI])**",
        "",
        f"The interval contains 0 at {agree} of {len(table)} sigmas "
        f"({seeds} training seed{'' if seeds == '1' else 's'} x {per_seed} chips per seed).",
        "",
    ]
    rows = [
        [
            f"{MODEL_NAMES.get(r.model, r.model)} / {DATASET_NAMES.get(r.dataset, r.dataset)} / {r.device}",
            r.sigma,
            f"{r.mean_ours:.2f} [{r.ci_low_ours:.2f}, {r.ci_high_ours:.2f}]",
            f"{r.mean_theirs:.2f} [{r.ci_low_theirs:.2f}, {r.ci_high_theirs:.2f}]",
            f"{r.diff:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}]",
            r.agreement,
        ]
        for r in table.itertuples(index=False)
    ]
    head = ["model / dataset / device", "σ", lo, la, f"{la} − {lo} (pp)", "interval"]
    lines += markdown_lines(head, rows, "lrrrrl")
    atomic_write_text(md, "\n".join(lines) + "\n")
