"""Every table's Markdown and LaTeX writer, and the report notebook's own tables (this run's configuration, the device
cards it used).

One writer per format, so that whatever a cell holds (a method's free-text ``label``: ``R&D #2 {b=5}``, ``a|b``)
stays one cell: ``markdown_lines`` (``markdown_table`` for a DataFrame) escapes each cell with ``escape_markdown``,
``latex_table`` each cell and the caption with ``escape_latex``. No other module builds a table row by hand
(tests/test_table_escaping.py checks both the escaping and that).

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


def escape_markdown(text) -> str:
    """``text`` as the content of one Markdown table cell: a backslash doubled (so that ``\\|`` in the text cannot
    unescape the pipe after it), ``|`` as ``\\|``, each line break a space. Everything else, Markdown inline markup
    and non-ASCII (``±``, ``σ``, ``β``, ``→``) included, stays as it is."""
    return _LINE_BREAK.sub(" ", str(text).replace("\\", "\\\\").replace("|", r"\|"))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MARKDOWN_ALIGN = {"l": "---", "r": "---:", "c": ":-:"}


def markdown_lines(header, rows, align: str = "") -> list[str]:
    """The one Markdown table writer: a GitHub-flavoured table's lines, the header, the alignment row and one line
    per row, every cell (header included) through ``escape_markdown``. ``align``: one letter per column, ``l``
    (default), ``r`` or ``c``. A row of another width than the header is an error, not a shifted table."""
    header = list(header)
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - set(_MARKDOWN_ALIGN):
        raise ValueError(f"alignment {align!r} for {len(header)} columns: one of l, r, c per column")
    lines = ["| " + " | ".join(escape_markdown(c) for c in header) + " |"]
    lines.append("|" + "".join(_MARKDOWN_ALIGN[a] + "|" for a in align))
    for row in rows:
        row = list(row)
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells under a header of {len(header)}: {row}")
        lines.append("| " + " | ".join(escape_markdown(c) for c in row) + " |")
    return lines


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return MISSING
    return linkify(" ".join(str(value).split()))  # one line; markdown_lines escapes it


def markdown_table(table: pd.DataFrame, right: tuple[str, ...] = ()) -> str:
    """``table`` as a GitHub-flavoured Markdown table: its columns as the header, no index, every cell whole (no
    truncation), "–" for a missing value, links (``linkify``); the columns named in ``right`` right-aligned
    (numbers)."""
    align = "".join("r" if c in right else "l" for c in table.columns)
    rows = ([_cell(v) for v in row] for row in table.itertuples(index=False))
    return "\n".join(markdown_lines(table.columns, rows, align)) + "\n"


#: free text's LaTeX special characters, and the two symbols the tables have always set in math mode
_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "σ": r"$\sigma$",
}
_LATEX_SPECIAL = re.compile("|".join(re.escape(c) for c in _LATEX))


def escape_latex(text) -> str:
    """``text`` as LaTeX that typesets it: ``& # % _ { } $`` backslashed, ``~ ^ \\`` as ``\\textasciitilde{}``,
    ``\\textasciicircum{}``, ``\\textbackslash{}`` (in one pass, so no escape is escaped again); ``±`` and ``σ`` as
    ``$\\pm$`` and ``$\\sigma$``. Other non-ASCII (``β``, ``→``, ``−``) is left as UTF-8 for the document's
    encoding, as the tables always have; ``|``, ``<`` and ``>`` too (right under T1 font encoding). Each line
    break becomes a space: a blank line would end the paragraph inside the tabular."""
    return _LATEX_SPECIAL.sub(lambda m: _LATEX[m[0]], _LINE_BREAK.sub(" ", str(text)))


def latex_table(header, rows, caption: str, label: str, left_columns: int = 3) -> str:
    """The one LaTeX table writer: a booktabs ``table`` with ``left_columns`` left-aligned label columns and the
    rest right-aligned; the caption, header and every cell through ``escape_latex``. ``label`` is the ``\\label``
    key (``tab:...``), not text, and is written as it is."""
    header = list(header)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{escape_latex(caption)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{'l' * left_columns + 'r' * (len(header) - left_columns)}}}",
        r"\toprule",
        _latex_row(header, len(header)),
        r"\midrule",
    ]
    lines += [_latex_row(row, len(header)) for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _latex_row(cells, width: int) -> str:
    cells = list(cells)
    if len(cells) != width:
        raise ValueError(f"a row of {len(cells)} cells under a header of {width}: {cells}")
    return " & ".join(escape_latex(c) for c in cells) + r" \\"


def _listing(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_listing(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def configuration_table(config: dict) -> pd.DataFrame:
    """The settings a reader needs to judge the run, one row each, with the unit or meaning in the setting's name.
    ``config``: the run's validated config (every key present, the schema's defaults filled in)."""
    exp, data, training, mc = config["experiments"], config["data"], config["training"], config["mc"]
    rows = [
        ("scale (preset)", config["scale"]),
        ("model / dataset pairs", ", ".join(f"{p['model']}/{p['dataset']}" for p in exp["pairs"])),
        ("methods", exp["methods"]),
        ("device cards", exp["devices"]),
        ("training seeds", exp["seeds"]),
        ("σ grid (σ_d, std of a device's conductance as a fraction of its range)", config["sigmas"]),
        ("model widths (fraction of the paper's channels)", {m: v["width"] for m, v in config["models"].items()}),
        ("training epochs", training["epochs"]),
        ("checkpoint selection", training["selection"]),
        ("simulated chips per point and training seed", mc["chips"]),
        ("test images per dataset (all: the full test set)", data["test_subset"] or "all"),
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
