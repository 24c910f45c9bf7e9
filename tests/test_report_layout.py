"""The report a person opens: the headline figure and the verdict table before any prose, and captions that say what
their figures draw."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from neft.analysis import conclusions
from neft.experiment.config import validate_config
from neft.report import plotting

from .conftest import REPO, SCHEMA, load_config

NOTEBOOK = REPO / "workflow/notebooks/report.ipynb"
CAPTIONS = REPO / "workflow/report"


def _cells():
    return [(c["cell_type"], "".join(c["source"])) for c in json.loads(NOTEBOOK.read_text())["cells"]]


def _prose_lines(markdown: str) -> list[str]:
    """The lines of a Markdown cell that a reader reads as text (not headings, not blank)."""
    return [line for line in markdown.splitlines() if line.strip() and not line.startswith("#")]


def test_the_notebook_shows_the_figure_and_the_verdict_table_before_any_prose():
    cells = _cells()
    where = {
        "figure": next(i for i, (_, s) in enumerate(cells) if 'show_figure("figures/accuracy.png"' in s),
        "verdicts": next(i for i, (_, s) in enumerate(cells) if "show_section(citing.VERDICTS" in s),
        "brief": next(i for i, (_, s) in enumerate(cells) if "show_section(citing.BRIEF" in s),
        "configuration": next(i for i, (_, s) in enumerate(cells) if s.startswith("## The configuration")),
        "evidence": next(i for i, (_, s) in enumerate(cells) if "citing.EVIDENCE" in s),
    }
    figure_cell = cells[where["figure"]][1]
    assert where["figure"] == where["verdicts"] and figure_cell.index("show_figure") < figure_cell.index("VERDICTS")
    assert where["verdicts"] < where["brief"] < where["configuration"] < where["evidence"] == len(cells) - 1
    for kind, source in cells[: where["brief"]]:  # before the text: headings, code that shows no prose
        if kind == "markdown":
            assert not _prose_lines(source), source
        else:
            assert "show_markdown(" not in source.split("def show_markdown", 1)[0], source


def report_order(html: str) -> dict[str, int]:
    """Where the rendered report (nbconvert HTML) first shows the figure, the verdict table and the short text."""
    return {
        "figure": html.index("<img"),
        "verdicts": html.index("<th>Claim</th>") if "<th>Claim</th>" in html else html.index(">Claim<"),
        "text": html.index("Read this first."),
        "configuration": html.index("The configuration of this run"),
        "evidence": html.index("Evidence: every number behind the conclusions"),
    }


def _normal(text: str) -> str:
    return " ".join(text.split())


def test_the_accuracy_caption_says_what_the_band_spans():
    """The band is two-level (training seeds, then chips: neft.analysis.results.accuracy_curves via
    neft.util.stats.two_level): the caption says the plotting module's words, not 'over chips'."""
    caption = _normal((CAPTIONS / "accuracy_figure.rst").read_text())
    assert f"band is {plotting.ACCURACY_BAND}" in caption
    assert plotting.ACCURACY_BAND_SPANS in plotting.ACCURACY_BAND
    assert "band over" not in caption and "chips per point" not in caption  # mc.chips is per training seed
    assert "Open markers: the paper's plotted points" in caption  # plot_accuracy draws them (figures.paper_points)
    notebook = "".join(s for _, s in _cells())
    assert "ACCURACY_BAND_SPANS" in notebook  # the report's first figure names the same band


def test_the_uncertainty_caption_says_what_its_band_spans():
    caption = _normal((CAPTIONS / "uncertainty.rst").read_text())
    assert f"The band is {plotting.UNCERTAINTY_BAND}" in caption
    assert "chips per point" not in caption


def test_no_caption_says_chips_per_point():
    """mc.chips is per training seed (a point has seeds x chips): a caption that calls it 'per point' is wrong."""
    for path in sorted(CAPTIONS.glob("*.rst")):
        text = _normal(path.read_text())
        assert not re.search(r'\["chips"\] \}\} (simulated )?chips per point', text), path.name
        assert "CIs over chips" not in text, path.name  # device and accuracy intervals are over seeds and chips


def install_chromium() -> None:
    """Debian's chromium with apt-get (a system test: it runs only with NEFT_SYSTEM_TESTS=1, as root)."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("no Chromium, and apt-get cannot install it here (needs root on Debian)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-2000:]}"


@pytest.mark.system
@pytest.mark.slow
def test_the_rendered_report_s_first_screen_shows_the_figure_and_the_verdict_table(tmp_path):
    """Renders the notebook on a small constructed run (papermill, nbconvert) and its first 1400x900 pixels with
    headless Chromium (tools/render_report_png.py); needs Debian's chromium."""
    import importlib.util

    import matplotlib.pyplot as plt
    import nbformat
    import papermill
    from nbconvert import HTMLExporter
    from PIL import Image

    from .test_conclusions import METHODS, _tables

    spec = importlib.util.spec_from_file_location("render_report_png", REPO / "tools/render_report_png.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    if tool.find_chromium() is None:
        install_chromium()
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "figures").mkdir()
    summary = conclusions.build(_tables(), METHODS, "mini", 0.35, epochs=2)
    conclusions.write(summary, *(results / "tables" / f for f in ("summary.md", "summary.rst", "summary_sources.csv")))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot([0, 0.07, 0.14], [97, 88, 60])
    fig.savefig(results / "figures/accuracy.png", dpi=150)
    plt.close(fig)
    out = tmp_path / "report.ipynb"
    config = validate_config(load_config(), SCHEMA, REPO)  # what render_report passes: the run's validated config
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"results_dir": str(results), "config_json": json.dumps(config, default=str)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    html, _ = HTMLExporter(exclude_input=True).from_notebook_node(nbformat.read(out, as_version=4))
    order = report_order(html)
    assert order["figure"] < order["verdicts"] < order["text"] < order["configuration"] < order["evidence"]
    page = tmp_path / "report.html"
    page.write_text(html)
    png = tool.render(page, tmp_path / "first_screen.png")
    image = Image.open(png).convert("L")
    assert image.size == (1400, 900)
    assert len(set(image.getdata())) > 20  # something is drawn, not a blank page
    # where Chromium itself lays them out: the figure and the whole verdict table end inside the first 900 pixels,
    # and the first long paragraph starts below them
    where = tool.layout(page, (1400, 900))
    assert where["figure_height"] and where["figure_height"] > 100, where
    assert where["figure"] <= 900 and where["verdicts"] <= 900, where
    assert where["verdict_rows"] == len(summary.verdicts), where
    assert where["first_long_paragraph_top"] is None or where["first_long_paragraph_top"] > where["verdicts"], where
    shutil.rmtree(results)
