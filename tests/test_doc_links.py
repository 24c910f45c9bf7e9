"""Every link into a heading of the documentation lands on a heading: moving a module renames the headings that
name it (``neft.core.mc.export_chip``), and a link left behind would open the page at its top."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import REPO

DOCS = [REPO / "README.md", REPO / "config/README.md", *sorted((REPO / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (``-`` and ``_`` kept), spaces to ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # no headings in code blocks
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.*)$", text, re.M)}


def test_slug_follows_githubs_rule():
    assert slug("A chip in hand (`neft.core.mc.export_chip`)") == "a-chip-in-hand-neftcoremcexport_chip"
    assert slug("Interrupting and resuming") == "interrupting-and-resuming"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_heading_link_resolves(doc: Path):
    broken = []
    for m in re.finditer(r"\]\(([^)#\s]*)#([^)\s]+)\)", doc.read_text(encoding="utf-8")):
        target = (doc.parent / m.group(1)).resolve() if m.group(1) else doc
        if target.suffix == ".md" and target.exists() and m.group(2) not in anchors(target):
            broken.append(f"{m.group(1) or doc.name}#{m.group(2)}")
    assert not broken, f"{doc.relative_to(REPO)}: links to headings that do not exist: {broken}"
