"""The report notebook's own tables (this run's configuration, the device cards it used) as Markdown.

pandas' notebook display shows the index and truncates long cells; a reader of the report needs the whole source and
citation of a device card, links to follow, units in the headers and no unexplained blank cell, so these tables are
written as Markdown here (and tested in tests/test_report_tables.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

#: What a cell shows when the value does not exist; each table says why in its note.
MISSING = "–"

_LINK = re.compile(r"(?P<url>https?://[^\s,;)]+)|(?P<bare>\bgithub\.com/[^\s,;)]+)|\bdoi:(?P<doi>10\.\S+[^\s.,;)])")


def linkify(text: str) -> str:
    """URLs, bare github.com addresses and doi:... references become Markdown links; the rest stays as it is."""

    def link(m: re.Match) -> str:
        if m["url"]:
            return f"[{m['url']}]({m['url']})"
        if m["bare"]:
            return f"[{m['bare']}](https://{m['bare']})"
        return f"[doi:{m['doi']}](https://doi.org/{m['doi']})"

    return _LINK.sub(link, text)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return MISSING
    text = " ".join(str(value).split())  # one line: a Markdown table row cannot hold a newline
    return linkify(text.replace("|", r"\|"))


def markdown_table(table: pd.DataFrame, right: tuple[str, ...] = ()) -> str:
    """``table`` as a GitHub-flavoured Markdown table: its columns as the header, no index, every cell whole (no
    truncation), "–" for a missing value; the columns named in ``right`` right-aligned (numbers)."""
    head = "| " + " | ".join(str(c) for c in table.columns) + " |"
    sep = "|" + "".join("---:|" if c in right else "---|" for c in table.columns)
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, sep, *rows]) + "\n"


def _listing(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_listing(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def configuration_table(config: dict) -> pd.DataFrame:
    """The settings a reader needs to judge the run, one row each, with the unit or meaning in the setting's name."""
    exp = config.get("experiments", {})
    data = config.get("data", {})
    training = config.get("training", {})
    mc = config.get("mc", {})
    rows = [
        ("scale (preset)", config.get("scale")),
        ("model / dataset pairs", ", ".join(f"{p['model']}/{p['dataset']}" for p in exp.get("pairs", []))),
        ("methods", exp.get("methods")),
        ("device cards", exp.get("devices")),
        ("training seeds", exp.get("seeds")),
        ("σ grid (σ_d, std of a device's conductance as a fraction of its range)", config.get("sigmas")),
        (
            "model widths (fraction of the paper's channels)",
            {m: v.get("width") for m, v in config.get("models", {}).items()},
        ),
        ("training epochs", training.get("epochs")),
        ("checkpoint selection", training.get("selection")),
        ("simulated chips per point and training seed", mc.get("chips")),
        ("test images per dataset (all: the full test set)", data.get("test_subset") or "all"),
    ]
    return pd.DataFrame(rows, columns=["setting", "value"]).assign(value=lambda t: t["value"].map(_listing))


#: the device-card table's columns, with units; where the card has no value the note below the table says why
CARD_COLUMNS = {
    "device": "device",
    "description": "what it models",
    "s": "s (middle-level std / extreme-level std, ×)",
    "measured_sigma": "σ_d reproducing the data (fraction of the range)",
    "r2": "fit r²",
    "source": "source",
    "citation": "citation",
}

CARD_NOTE = (
    f"{MISSING} in the σ_d and r² columns: the card was not fitted here (its s comes from the NeFT authors' code, "
    "whose measured data are not public), so σ_d is the swept variable, not a property of the card."
)


def device_cards_table(results_dir: str | Path) -> pd.DataFrame:
    """One row per ``results/devices/<name>/card.yaml`` (sorted by name)."""
    rows = []
    for path in sorted(Path(results_dir, "devices").glob("*/card.yaml")):
        card = yaml.safe_load(path.read_text())
        prov = card.get("provenance", {})
        rows.append(
            {
                "device": card["name"],
                "description": card.get("description"),
                "s": f"{card['middle_multiplier']:.3g}",
                "measured_sigma": f"{card['measured_sigma']:.4g}" if "measured_sigma" in card else None,
                "r2": f"{card['fit']['r2']:.3f}" if "r2" in card.get("fit", {}) else None,
                "source": prov.get("source"),
                "citation": prov.get("citation"),
            }
        )
    return pd.DataFrame(rows, columns=list(CARD_COLUMNS)).rename(columns=CARD_COLUMNS)
