"""The report's own tables: Markdown without an index, whole cells, links, units, no unexplained blank."""

import re

import pandas as pd
import yaml

from neft.report import table_writers as rt


def _rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])] for line in lines]


def test_markdown_table_has_no_index_and_keeps_whole_cells():
    long = "x" * 300
    table = pd.DataFrame({"name": ["a", "b"], "text": [long, None], "n": [1, 2]}, index=[7, 8])
    md = rt.markdown_table(table, right=("n",))
    rows = _rows(md)
    assert rows[0] == ["name", "text", "n"] and rows[1] == ["---", "---", "---:"]  # header, alignment
    assert rows[2] == ["a", long, "1"] and rows[3] == ["b", "–", "2"]  # no index column, nothing truncated
    assert "7" not in md and "8" not in md


def test_cells_escape_pipes_and_stay_on_one_line():
    md = rt.markdown_table(pd.DataFrame({"a": ["x | y\nz"]}))
    assert md.splitlines()[2] == r"| x \| y z |"


def test_links():
    assert rt.linkify("see https://example.org/a, then") == "see [https://example.org/a](https://example.org/a), then"
    assert rt.linkify("code, github.com/o/r (MIT)") == "code, [github.com/o/r](https://github.com/o/r) (MIT)"
    assert rt.linkify("Nature (2022), doi:10.1038/s41586-022-04992-8") == (
        "Nature (2022), [doi:10.1038/s41586-022-04992-8](https://doi.org/10.1038/s41586-022-04992-8)"
    )
    assert rt.linkify("resources/device_data/x.csv") == "resources/device_data/x.csv"


def test_configuration_table_names_units_and_leaves_no_blank():
    config = {
        "scale": "test",
        "experiments": {
            "pairs": [{"model": "vgg8", "dataset": "mnist"}],
            "methods": ["plain", "ovf"],
            "devices": ["RRAM1"],
            "seeds": [0, 1],
        },
        "sigmas": ["0", "0.1"],
        "models": {"vgg8": {"width": 0.0625}},
        "training": {"epochs": 2, "selection": {"split": "val", "metric": "noisy"}},
        "mc": {"chips": 3},
        "data": {"test_subset": None},
    }
    table = rt.configuration_table(config)
    values = dict(zip(table.setting, table.value))
    assert values["training seeds"] == "0, 1" and values["checkpoint selection"] == "split: val, metric: noisy"
    assert values["test images per dataset (all: the full test set)"] == "all"
    assert any("fraction of its range" in s for s in table.setting)  # sigma's unit is in its name
    assert table.value.notna().all() and (table.value != "").all()


def _card(tmp_path, name, **extra):
    card = {
        "name": name,
        "middle_multiplier": 2.2449,
        "description": f"{name} card",
        "provenance": {
            "source": "NeFT authors' code, github.com/YifanQin-ND/NeFT_CIM (MIT)",
            "citation": "W. Wan et al., Nature 608 (2022), doi:10.1038/s41586-022-04992-8",
        },
        **extra,
    }
    (tmp_path / "devices" / name).mkdir(parents=True)
    (tmp_path / "devices" / name / "card.yaml").write_text(yaml.safe_dump(card))


def test_device_cards_table_marks_unfitted_cards_and_links_sources(tmp_path):
    _card(tmp_path, "RRAM1")
    _card(tmp_path, "RRAM_fit", measured_sigma=0.0677675, fit={"r2": 0.68722})
    table = rt.device_cards_table(tmp_path)
    rows = _rows(rt.markdown_table(table))
    header, fitted, plain = rows[0], rows[3], rows[2]
    assert header[2].startswith("s (") and "×" in header[2] and "fraction of the range" in header[3]
    assert plain[:5] == ["RRAM1", "RRAM1 card", "2.24", "–", "–"]  # not fitted: CARD_NOTE says why
    assert fitted[:5] == ["RRAM_fit", "RRAM_fit card", "2.24", "0.06777", "0.687"]
    assert "(https://github.com/YifanQin-ND/NeFT_CIM)" in fitted[5]
    assert "(https://doi.org/10.1038/s41586-022-04992-8)" in fitted[6]
    assert all(cell for row in rows for cell in row)
    assert "σ_d and r²" in rt.CARD_NOTE
