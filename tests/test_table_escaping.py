"""Whatever a label holds stays one cell: the one Markdown and the one LaTeX table writer (neft.report.table_writers)
escape
it, the table builders go through them, and no other module builds a table row by hand."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neft.report import table_writers as rt

ROOT = Path(__file__).resolve().parents[1]

#: each of LaTeX's and Markdown's special characters, a line break, and non-ASCII that must pass unchanged
LABELS = [
    "R&D #2 {b=5}",
    "a|b",
    "50% _x_ ~y^ \\z",
    "a\\|b",  # a backslash before a pipe must not unescape the pipe's escape
    "ends in \\",
    "$x$ & $y$",
    "two\nlines",
    "é σ β 日本",
    "± → − χ²",
    "W/ Noise",
]


# -- a GitHub-flavoured Markdown row, parsed the way cmark-gfm splits it --------------------------------------------
def markdown_cells(line: str) -> list[str]:
    """The cells of one table row: split at each unescaped '|' (a backslash escapes the next character), then
    '\\|' and '\\\\' unescaped."""
    assert re.fullmatch(r"\|(?: .* |[-:|]+)\|", line), line
    cells, cell, i, body = [], "", 0, line[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            cell += body[i : i + 2]
            i += 2
            continue
        if ch == "|":
            cells.append(cell)
            cell = ""
        else:
            cell += ch
        i += 1
    cells.append(cell)
    return [re.sub(r"\\([\\|])", r"\1", c.strip()) for c in cells]


def markdown_rows(text: str) -> list[list[str]]:
    return [markdown_cells(line) for line in text.splitlines() if line.startswith("|")]


# -- a LaTeX validator: what the writer may emit, decoded back to the text -----------------------------------------
_ESCAPES = {
    r"\textasciitilde{}": "~",
    r"\textasciicircum{}": "^",
    r"\textbackslash{}": "\\",
    r"\&": "&",
    r"\#": "#",
    r"\%": "%",
    r"\_": "_",
    r"\{": "{",
    r"\}": "}",
    r"\$": "$",
    r"$\pm$": "±",
    r"$\sigma$": "σ",
}
_TOKEN = re.compile("|".join(re.escape(e) for e in _ESCAPES) + r"|[&#%_{}~^\\$]|.", re.S)


def latex_cells(text: str) -> tuple[list[str], list[str]]:
    """``text`` (a tabular row without its ``\\\\``, or a caption) decoded: the cells between unescaped '&', and the
    problems: any special character that is not part of an escape the writer emits."""
    cells, cell, problems = [], "", []
    for m in _TOKEN.finditer(text):
        tok = m[0]
        if tok in _ESCAPES:
            cell += _ESCAPES[tok]
        elif tok == "&":
            cells.append(cell)
            cell = ""
        elif tok in "#%_{}~^\\$":
            problems.append(f"unescaped {tok!r} at {m.start()} in {text!r}")
        else:
            cell += tok
    return [*cells, cell], problems


def latex_table_rows(tex: str, columns: int) -> tuple[str, list[list[str]]]:
    """A ``latex_table``'s caption and rows (header first), decoded, after checking its structure: the environments
    in order, every row ending in ' \\\\' with exactly ``columns - 1`` unescaped '&', no stray special character."""
    lines = tex.splitlines()
    assert lines[:3] == [r"\begin{table}[t]", r"\centering", r"\small"]
    assert lines[-3:] == [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    caption = re.fullmatch(r"\\caption\{(.*)\}", lines[3])
    assert caption, lines[3]
    text, problems = latex_cells(caption[1])
    assert not problems and len(text) == 1, problems or "an unescaped & in the caption"
    assert re.fullmatch(r"\\label\{[A-Za-z0-9:_.-]+\}", lines[4]), lines[4]
    assert re.fullmatch(r"\\begin\{tabular\}\{l+r*\}", lines[5]) and lines[6] == r"\toprule", lines[5:7]
    body = [lines[7], *lines[9:-3]]
    assert lines[8] == r"\midrule"
    rows = []
    for line in body:
        assert line.endswith(r" \\") and not line[:-3].endswith("\\"), line
        cells, problems = latex_cells(line[:-3])
        assert not problems, problems
        assert len(cells) == columns, f"{len(cells)} cells, not {columns}: {line}"
        rows.append([c.strip() for c in cells])
    return text[0], rows


# -- the writers ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("label", LABELS)
def test_markdown_writer_keeps_each_label_one_cell(label):
    lines = rt.markdown_lines(["method", label, "σ"], [[label, "1.00 ± 0.10", "0.1"], ["plain", label, label]], "lrr")
    assert lines[1] == "|---|---:|---:|"
    rows = [markdown_cells(line) for line in lines]
    shown = label.replace("\n", " ")
    assert [len(r) for r in rows] == [3, 3, 3, 3]
    assert rows[0] == ["method", shown, "σ"] and rows[2] == [shown, "1.00 ± 0.10", "0.1"]
    assert rows[3] == ["plain", shown, shown]
    assert "\n" not in "".join(lines)


@pytest.mark.parametrize("label", LABELS)
def test_markdown_table_of_a_dataframe_escapes_the_same_way(label):
    md = rt.markdown_table(pd.DataFrame({"method": [label], "n": [3]}), right=("n",))
    assert markdown_rows(md) == [["method", "n"], ["---", "---:"], [" ".join(label.split()), "3"]]


def test_non_ascii_and_markdown_markup_pass_unchanged():
    for text in ("± σ β → − 日本 é", "*holds*", "`code`", "[95 % CI]", "80.00<br>+1.00"):
        assert rt.escape_markdown(text) == text
    assert rt.escape_markdown("a|b\\c\r\nd") == r"a\|b\\c d"


@pytest.mark.parametrize("label", LABELS)
def test_latex_writer_escapes_each_label(label):
    tex = rt.latex_table(["Method", label, "σ"], [[label, "1.00 ± 0.10", "0.1"]], f"Caption {label}", "tab:x", 2)
    caption, rows = latex_table_rows(tex, 3)
    shown = label.replace("\n", " ")
    assert caption == f"Caption {shown}"
    assert rows == [["Method", shown, "σ"], [shown, "1.00 ± 0.10", "0.1"]]


def test_latex_keeps_the_tables_rendering_of_plus_minus_sigma_and_other_non_ascii():
    assert rt.escape_latex("90.00 ± 1.00 at σ=0.1") == r"90.00 $\pm$ 1.00 at $\sigma$=0.1"
    assert rt.escape_latex("β → − χ² é 日本") == "β → − χ² é 日本"  # UTF-8, as before
    assert rt.escape_latex("R&D #2 {b=5} 50% _x_ ~y^ \\z $") == (
        r"R\&D \#2 \{b=5\} 50\% \_x\_ \textasciitilde{}y\textasciicircum{} \textbackslash{}z \$"
    )


def test_a_row_of_the_wrong_width_is_an_error():
    with pytest.raises(ValueError, match="2 cells under a header of 3"):
        rt.markdown_lines(["a", "b", "c"], [["x", "y"]])
    with pytest.raises(ValueError, match="2 cells under a header of 3"):
        rt.latex_table(["a", "b", "c"], [["x", "y"]], "c", "tab:x")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_table_compiles(tmp_path):
    labels = [label for label in LABELS if label.isascii()] + ["é"]
    rows = [[label, f"{i}.00 ± 0.10"] for i, label in enumerate(labels)]
    table = rt.latex_table(["Method", "Accuracy (σ=0.1)"], rows, "All labels: " + "; ".join(labels), "tab:x", 1)
    doc = (
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs}\n"
        f"\\begin{{document}}\n{table}\\end{{document}}\n"
    )
    (tmp_path / "t.tex").write_text(doc)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path, capture_output=True
    )
    assert run.returncode == 0, run.stdout.decode(errors="replace")[-3000:]


# -- the table builders, end to end ---------------------------------------------------------------------------------
def _curves(label: str) -> pd.DataFrame:
    rows = []
    for method, lab in (("plain", "W/O Noise"), ("ovf", label)):
        for i, sigma in enumerate(("0.05", "0.1")):
            rows.append(
                dict(
                    model="vgg8", dataset="mnist", device="RRAM1", method=method, label=lab, sigma=sigma,
                    source_method=method, sigma_train=sigma, seeds=3, chips=90, chips_per_seed=30,
                    mean=90.0 - i, std=1.0, ci_low=89.0 - i, ci_high=91.0 - i, p1=85.0, p5=86.0,
                    sd_between_seeds=0.5, sd_within_seed=1.0,
                )
            )  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize("label", LABELS)
def test_accuracy_table_with_a_label_gives_whole_markdown_and_latex_rows(tmp_path, label):
    from neft.analysis.tables import write_accuracy_table

    out = {k: tmp_path / f"accuracy.{k}" for k in ("csv", "md", "tex")}
    write_accuracy_table(_curves(label), out["csv"], out["md"], out["tex"], device="RRAM1")
    rows = markdown_rows(out["md"].read_text())
    shown = label.replace("\n", " ")
    assert [len(r) for r in rows] == [3] * 4
    assert rows[3] == [f"VGG-8 / MNIST / {shown}", "90.00 ± 1.00", "89.00 ± 1.00"]
    caption, tex_rows = latex_table_rows(out["tex"].read_text(), 3)
    assert caption.startswith("MC mean top-1 accuracy (%) ± 95 % CI")
    assert tex_rows[0] == ["Model / dataset / method", "σ=0.05", "σ=0.1"]
    assert tex_rows[2] == [f"VGG-8 / MNIST / {shown}", "90.00 ± 1.00", "89.00 ± 1.00"]


@pytest.mark.parametrize("label", LABELS)
def test_study_table_with_a_label_in_the_labels_mapping(tmp_path, label):
    """The non-ideality study puts the labels in its header (Markdown and LaTeX) and its title."""
    from neft.analysis import nonideal_study as ns

    rows = [
        dict(
            model="vgg8", dataset="mnist", device="RRAM1", study="read_noise", level=level, time_s=np.nan,
            sigma="0.07", method=m, seeds=3, chips=90, mean=80.0, ci_low=79.0, ci_high=81.0, p1=70.0,
            baseline="noise_injection", diff=np.nan if m == "noise_injection" else 1.5, diff_ci_low=0.5,
            diff_ci_high=2.5, advantage="holds",
        )
        for level in ("off", "0.02")
        for m in ("noise_injection", "ovf")
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=list(ns.TABLE_COLUMNS))
    labels = {"noise_injection": "W/ Noise", "ovf": label}
    out = {k: tmp_path / f"nonidealities.{k}" for k in ("csv", "md", "tex")}
    ns.write_study_table(table, labels, out["csv"], out["md"], out["tex"], f"Study of {label}")
    shown = label.replace("\n", " ")
    md_rows = markdown_rows(out["md"].read_text())
    assert [len(r) for r in md_rows] == [6] * 4
    assert md_rows[0] == ["model / dataset", "non-ideality", "level", "σ", "W/ Noise", shown]
    assert md_rows[3][-1] == "80.00 [79.00, 81.00]<br>+1.50 [+0.50, +2.50]"
    caption, tex_rows = latex_table_rows(out["tex"].read_text(), 6)
    assert caption == f"Study of {shown}"
    assert tex_rows[0] == ["model / dataset", "non-ideality", "level", "σ", "W/ Noise", shown]
    assert tex_rows[2][-1] == "80.00 [79.00, 81.00] +1.50 [+0.50, +2.50]"


@pytest.mark.parametrize("label", ["R&D #2 {b=5}", "a|b", "a\\|b"])
def test_convergence_crosscheck_and_worst_chip_tables_keep_a_label_one_cell(tmp_path, label):
    from neft.analysis.crosscheck import write_crosscheck
    from neft.analysis.tables import write_convergence_tables
    from neft.analysis.worst_chips import COLUMNS, write_worst_table

    labels = {"ovf": label, "noise_injection": f"{label} (ours)"}
    summary = pd.DataFrame(
        [dict(model="vgg8", dataset="mnist", method="ovf", device="RRAM1", sigma="0.1", runs=3, converged=2,
              mean_noisy_acc=80.0, probability=2 / 3)]
    )  # fmt: skip
    write_convergence_tables(summary, summary, labels, tmp_path / "c.csv", tmp_path / "r.csv", tmp_path / "c.md")
    assert markdown_rows((tmp_path / "c.md").read_text())[2] == [
        "VGG-8 / MNIST", label, "0.1", "2/3", "0.67", "80.00"
    ]  # fmt: skip
    cross = pd.DataFrame(
        [dict(model="vgg8", dataset="mnist", device="RRAM1", sigma="0.1", ours="noise_injection", theirs="ovf",
              seeds=3, chips=90, mean_ours=80.0, ci_low_ours=79.0, ci_high_ours=81.0, mean_theirs=81.0,
              ci_low_theirs=80.0, ci_high_theirs=82.0, diff=1.0, ci_low=-0.5, ci_high=2.5, sd_between_seeds=0.1,
              agreement="contains 0")]
    )  # fmt: skip
    write_crosscheck(cross, labels, tmp_path / "x.csv", tmp_path / "x.md")
    rows = markdown_rows((tmp_path / "x.md").read_text())
    assert rows[0] == ["model / dataset / device", "σ", f"{label} (ours)", label, f"{label} − {label} (ours) (pp)",
                       "interval"]  # fmt: skip
    assert [len(r) for r in rows] == [6, 6, 6]
    worst = pd.DataFrame([dict.fromkeys(COLUMNS, 1) | dict(model="vgg8", dataset="mnist", method="ovf", sigma="0.1")])
    write_worst_table(worst, labels, 7, tmp_path / "w.csv", tmp_path / "w.md")
    rows = markdown_rows((tmp_path / "w.md").read_text())
    assert [len(r) for r in rows] == [9, 9, 9] and rows[2][3] == label


# -- the class stays fixed: no module outside neft.report.table_writers builds a table row -----------------------------
HAND_BUILT = {
    "a Markdown row joined by ' | '": re.compile(r"""["'] \| ["']\s*\.join"""),
    "a string that starts a Markdown row or alignment line": re.compile(r"""(?<![\w"'])[rfb]{0,2}["']\|[ :-]"""),
    "a LaTeX row joined by ' & '": re.compile(r"""["'] ?& ?["']\s*\.join"""),
    "a LaTeX row ending '\\\\'": re.compile(r"""r["'] ?\\\\["']|\\\\\\\\["']"""),
    "a tabular environment or booktabs rule": re.compile(r"\\(?:begin\{\{?tabular|toprule|midrule|bottomrule)"),
    "pandas' own Markdown/LaTeX writer": re.compile(r"\.(?:to_markdown|to_latex)\(|\.style\b"),
}


def hand_built_tables(source: str) -> list[str]:
    return [
        f"{what}: {line.strip()}" for line in source.splitlines() for what, p in HAND_BUILT.items() if p.search(line)
    ]


def test_the_check_finds_each_way_of_building_a_row_by_hand():
    old_code = [
        'head = "| model / dataset / method | " + " | ".join(wide.columns) + " |"',
        'sep = "|---|" + "---:|" * len(wide.columns)',
        '"|---|---|---:|---:|---:|---:|",',
        'f"| {name} | {labels.get(r.method, r.method)} | {r.sigma} | "',
        '" & ".join(tex_escape(h) for h in header) + r" \\\\",',
        'lines += [" & ".join(tex_escape(c) for c in r) + " \\\\\\\\" for r in rows]',
        r'rf"\begin{{tabular}}{{{spec}}}",',
        r'r"\midrule",',
        "text = frame.to_markdown(index=False)",
    ]
    for line in old_code:
        assert hand_built_tables(line), line
    for line in ['"|".join(re.escape(m) for m in methods)', 'text.replace("|", "/")', '"max|W|"', "x = a | b"]:
        assert not hand_built_tables(line), line


def test_no_module_outside_report_tables_builds_a_table_row_by_hand():
    files = sorted((ROOT / "src/neft").rglob("*.py")) + sorted((ROOT / "workflow/scripts").glob("*.py"))
    assert len(files) > 40
    found = {
        str(f.relative_to(ROOT)): hits
        for f in files
        if f != ROOT / "src/neft/report/table_writers.py" and (hits := hand_built_tables(f.read_text()))
    }
    assert not found, "build tables with neft.report.table_writers.markdown_lines / latex_table:\n" + "\n".join(
        f"{f}: {h}" for f, hits in found.items() for h in hits
    )
