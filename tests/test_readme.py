"""The README's front page: short, result first, its picture made by a run, one run time everywhere."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re

import pytest

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
FIGURES = REPO / "docs/figures"

_spec = importlib.util.spec_from_file_location("publish_figure", REPO / "tools/publish_figure.py")
publish_figure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publish_figure)


def test_the_front_page_is_short_and_says_what_neft_is_before_how_to_run_it():
    assert len(README.splitlines()) <= 120, "README.md grew past a front page: move detail into docs/"
    order = ["## What NeFT is", "## What the default run shows", "## Quick start", "## What `reproduce_all` builds"]
    order += ["## Scales", "## Deviations from the paper"]
    at = [README.find(h) for h in order]
    assert -1 not in at and at == sorted(at), dict(zip(order, at))
    intro = README.split("## What NeFT is", 1)[1].split("\n## ", 1)[0]
    assert "OVF" in intro and "IRS" in intro


def test_the_readme_picture_is_the_figure_a_run_made():
    """docs/figures/accuracy.png is the bytes tools/publish_figure.py copied (its JSON), not a picture drawn by hand."""
    assert "](docs/figures/accuracy.png)" in README
    record = json.loads((FIGURES / "accuracy.json").read_text())
    assert hashlib.sha256((FIGURES / "accuracy.png").read_bytes()).hexdigest() == record["sha256"]
    assert record["scale"] == "mini" and record["source"] == "results/figures/accuracy.png"


def test_publish_figure_copies_a_runs_figure_and_records_its_digest(tmp_path):
    results = tmp_path / "results"
    (results / "figures").mkdir(parents=True)
    (results / "tables").mkdir()
    (results / "figures/accuracy.png").write_bytes(b"\x89PNG not really")
    (results / "tables/summary.md").write_text("# What this run shows (test scale)\n\ntext\n")
    out = tmp_path / "docs"
    target = publish_figure.publish(results, "accuracy", out)
    assert target.read_bytes() == b"\x89PNG not really"
    record = json.loads((out / "accuracy.json").read_text())
    assert record["sha256"] == hashlib.sha256(b"\x89PNG not really").hexdigest() and record["scale"] == "test"


@pytest.mark.parametrize("missing", ["figures/accuracy.png", "tables/summary.md"])
def test_publish_figure_names_what_is_missing(tmp_path, missing, capsys):
    results = tmp_path / "results"
    (results / "figures").mkdir(parents=True)
    (results / "tables").mkdir()
    (results / "figures/accuracy.png").write_bytes(b"png")
    (results / "tables/summary.md").write_text("# What this run shows (mini scale)\n")
    (results / missing).unlink()
    assert publish_figure.main(["--results", str(results), "--out", str(tmp_path / "docs")]) == 1
    assert missing in capsys.readouterr().err
    assert not (tmp_path / "docs/accuracy.png").exists()


def test_one_run_time_for_the_default_everywhere():
    """The default run's time is measured once (docs/performance.md) and quoted as the same number elsewhere."""
    perf = (REPO / "docs/performance.md").read_text(encoding="utf-8")
    section = perf.split("## The default run's time", 1)[1].split("\n## ", 1)[0]
    (time,) = set(re.findall(r"\*\*(\d+ min \d+ s)\*\*", section))
    assert time in README
    scales = README.split("## Scales", 1)[1].split("\n## ", 1)[0]
    mini = next(row for row in scales.splitlines() if row.startswith("| mini"))
    assert time in mini
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        assert not re.search(r"\d+-\d+ minutes on 2 cores", text), f"{doc.name} quotes a range, not the measured time"
