"""Issue 26, class 4: a damaged card that still parses is refused.

A card cut short (a disk filled up, a copy interrupted) often still parses as YAML: a fitted card cut inside
``measured_sigma`` keeps a shorter number and loses ``level_multipliers`` and ``fit``; a preset's copy loses the keys
after the cut. The card reader (``DeviceCard.load`` / ``from_dict``) checks completeness (a fitted card has all its
fitted fields, one entry per level in each list, fields that agree; a card named like a shipped preset has all the
preset's keys), and the preflight (``neft.workflow.preflight``) runs it on every card before any job, together with
what only the workflow knows (the folder's device, a fit.csv beside a fitted card, the bytes ``save`` writes). Every
error names the file and the field, and says how to make the card again.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from neft.core import devices
from neft.core.devices import FITTED_MARKERS, PRESET_FIELDS, PRESET_PROVENANCE_KEYS, DeviceCard, DeviceCardError
from neft.core.fitting import fit_file
from neft.experiment.inputs import check_device_fit
from neft.experiment.tablecheck import HandoffError
from neft.report.plotting import plot_fits
from neft.workflow import preflight

from .conftest import REPO

MEASURED = REPO / "resources/device_data/rram_wan2022.csv"
FITTED = "RRAM_Wan2022_1d"


def fitted_text() -> str:
    card, _ = fit_file(MEASURED, FITTED, FITTED)
    return card.to_yaml()


def preset_text(name: str = "RRAM4") -> str:
    return devices.get(name).to_yaml()


def cut_inside(text: str, anchor: str, keep: int) -> str:
    """``text`` up to ``keep`` characters past the start of ``anchor``'s value: a file cut at that byte."""
    start = text.index(anchor) + len(anchor)
    return text[: start + keep]


def cut_before(text: str, anchor: str) -> str:
    return text[: text.index(anchor)]


def edit(text: str, change) -> str:
    data = yaml.safe_load(text)
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def _drop_last_rel_std(d):
    d["fit"]["measured_rel_std"] = d["fit"]["measured_rel_std"][:-1]


def _drop_provenance_device(d):
    del d["provenance"]["source_device"]


def _drop(key):
    return lambda d: d.pop(key)


def _drop_citation_and_notes(d):
    del d["provenance"]["citation"], d["provenance"]["notes"]


def _set_n_levels(d):
    d["fit"]["n_levels"] = 3


def _digits_cut_in_last_number(text: str) -> str:
    """The last number of the file (fit.measured_rel_std[3]) cut after 4 characters: every key is there."""
    head, last = text.rstrip("\n").rsplit("- ", 1)
    return f"{head}- {last[:5]}\n"


# (id, the damaged text from the fitted card's text, the field the message names)
FITTED_CASES = [
    # the issue's example: the drift study's sigma moved, then plot_device_fits failed with KeyError: 'fit'
    ("cut inside measured_sigma", lambda t: cut_inside(t, "measured_sigma: ", 5), "level_multipliers, fit"),
    ("cut inside level_multipliers", lambda t: cut_inside(t, "level_multipliers:\n- ", 6), "but not fit"),
    ("fit section missing", lambda t: edit(t, _drop("fit")), "but not fit"),
    ("measured_sigma missing", lambda t: edit(t, _drop("measured_sigma")), "but not measured_sigma"),
    ("provenance.source_device missing", lambda t: edit(t, _drop_provenance_device), "not provenance.source_device"),
    ("cut before the fitted fields", lambda t: cut_before(t, "measured_sigma:"), "but not measured_sigma"),
    ("cut inside fit", lambda t: cut_inside(t, "rmse: ", 4), "fit: missing required key(s) r2"),
    ("measured_rel_std shorter than its levels", lambda t: edit(t, _drop_last_rel_std), "fit.measured_rel_std has 3"),
    ("n_levels not the device's", lambda t: edit(t, _set_n_levels), "fit.n_levels is 3"),
    ("last number cut short", _digits_cut_in_last_number, "fit.measured_rel_std[3]"),
]
PRESET_CASES = [
    ("cut inside provenance.notes", lambda t: cut_inside(t, "notes: ", 30), "description, sigma_scale"),
    ("cut before description", lambda t: cut_before(t, "description:"), "description, sigma_scale"),
    ("cut before sigma_scale", lambda t: cut_before(t, "sigma_scale:"), "without its field(s) sigma_scale"),
    (
        "provenance without its citation and notes",
        lambda t: edit(t, _drop_citation_and_notes),
        "provenance.citation, provenance.notes",
    ),
]


@pytest.mark.parametrize("case,damage,field", FITTED_CASES, ids=[c[0] for c in FITTED_CASES])
def test_reader_refuses_an_incomplete_fitted_card(tmp_path, case, damage, field):
    path = tmp_path / "results/devices" / FITTED / "card.yaml"
    path.parent.mkdir(parents=True)
    damaged = damage(fitted_text())
    yaml.safe_load(damaged)  # it still parses: only the completeness check can tell
    path.write_text(damaged)
    with pytest.raises(DeviceCardError) as err:
        DeviceCard.load(path)
    message = str(err.value)
    assert message.startswith(f"device card {path}: "), message
    assert field in message, f"{case}: {field!r} not in {message}"
    assert f"snakemake results/devices/{FITTED}/card.yaml" in message and "fit.csv" in message, message


@pytest.mark.parametrize("case,damage,field", PRESET_CASES, ids=[c[0] for c in PRESET_CASES])
def test_reader_refuses_a_preset_copy_cut_short(tmp_path, case, damage, field):
    path = tmp_path / "results/devices/RRAM4/card.yaml"
    path.parent.mkdir(parents=True)
    damaged = damage(preset_text())
    assert isinstance(yaml.safe_load(damaged), dict)
    path.write_text(damaged)
    with pytest.raises(DeviceCardError) as err:
        DeviceCard.load(path)
    message = str(err.value)
    assert message.startswith(f"device card {path}: named like the shipped preset RRAM4, but without"), message
    assert field in message and "snakemake results/devices/RRAM4/card.yaml" in message, message


def test_the_issue_example_no_longer_moves_the_drift_sigma(tmp_path):
    """Cut inside measured_sigma, the card read as a different device (0.06777 became 0.067); now it is refused."""
    path = tmp_path / "card.yaml"
    damaged = cut_inside(fitted_text(), "measured_sigma: ", 5)
    assert yaml.safe_load(damaged)["measured_sigma"] == 0.067
    path.write_text(damaged)
    with pytest.raises(DeviceCardError, match=r"an incomplete fitted card: it has measured_sigma, "):
        devices.get(str(path))


@pytest.mark.parametrize(
    "case,damage,field", FITTED_CASES + PRESET_CASES, ids=[c[0] for c in FITTED_CASES + PRESET_CASES]
)
def test_preflight_names_every_damaged_card(tmp_path, case, damage, field):
    device = FITTED if case in {c[0] for c in FITTED_CASES} else "RRAM4"
    folder = tmp_path / "results/devices" / device
    folder.mkdir(parents=True)
    text = fitted_text() if device == FITTED else preset_text()
    (folder / "card.yaml").write_text(text)
    if device == FITTED:
        (folder / "fit.csv").write_text("written by fit_device\n")
    assert preflight.problems(tmp_path) == []
    (folder / "card.yaml").write_text(damage(text))
    found = preflight.problems(tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith(f"results/devices/{device}/card.yaml (device card): device card "), found[0]
    assert field in found[0], f"{case}: {field!r} not in {found[0]}"


PREFLIGHT_ONLY_CASES = [
    # (id, device folder, what is written there, a fit.csv beside it, the fragment)
    ("a fitted device's card without any fitted field", FITTED, "plain", True, "has none of the fitted fields"),
    ("a card under another device's folder", "FeFET2", "RRAM4", False, "the card's name is 'RRAM4', expected 'FeFET2'"),
    ("sigma_scale cut to '1.'", "RRAM4", "cut 1.", False, "not as DeviceCard.save writes it"),
    ("no newline at the end", "RRAM4", "no newline", False, "not as DeviceCard.save writes it"),
]


@pytest.mark.parametrize(
    "case,device,content,fit,fragment", PREFLIGHT_ONLY_CASES, ids=[c[0] for c in PREFLIGHT_ONLY_CASES]
)
def test_preflight_checks_what_only_the_workflow_knows(tmp_path, case, device, content, fit, fragment):
    """A card that is complete, but not the one the workflow wrote there: its bytes (which every training's key
    records) differ, or it is not the device of its folder, or not a fitted card beside a fit.csv."""
    folder = tmp_path / "results/devices" / device
    folder.mkdir(parents=True)
    text = {
        "plain": lambda: devices.get("RRAM1").to_yaml().replace("name: RRAM1", f"name: {FITTED}"),
        "RRAM4": preset_text,
        "cut 1.": lambda: preset_text().replace("sigma_scale: 1.0\n", "sigma_scale: 1."),
        "no newline": lambda: preset_text().rstrip("\n"),
    }[content]()
    DeviceCard.load(_write(folder / "card.yaml", text))  # the reader alone takes it
    if fit:
        (folder / "fit.csv").write_text("written by fit_device\n")
    found = preflight.problems(tmp_path)
    assert len(found) == 1 and str(folder / "card.yaml") in found[0] and fragment in found[0], found
    assert "snakemake results/devices/" in found[0], found[0]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_preflight_takes_every_intact_card_and_checks_the_shipped_presets(tmp_path):
    for name in devices.preset_names():
        devices.get(name).save(tmp_path / "results/devices" / name / "card.yaml")
    card, table = fit_file(MEASURED, FITTED, FITTED)
    card.save(tmp_path / "results/devices" / FITTED / "card.yaml")
    table.to_csv(tmp_path / "results/devices" / FITTED / "fit.csv", index=False)
    assert preflight.problems(tmp_path) == []
    # a shipped preset cut short: the preflight reads the presets the device_card rule copies through the reader
    cut = tmp_path / "package" / "RRAM1.yaml"
    cut.parent.mkdir()
    cut.write_text(cut_before(devices.get("RRAM1").to_yaml(), "description:"))
    assert preflight.preset_problems() == []
    found = preflight.preset_problems(cut.parent)
    assert len(found) == 1 and found[0].startswith(f"{cut} (shipped device preset): device card {cut}: named like")


def test_every_shipped_preset_has_the_preset_keys():
    for name in devices.preset_names():
        path = REPO / "src/neft/core/cards" / f"{name}.yaml"
        data = yaml.safe_load(path.read_text())
        assert set(data) == set(PRESET_FIELDS), name
        assert set(data["provenance"]) == set(PRESET_PROVENANCE_KEYS), name


def test_a_complete_fitted_card_and_its_copies_are_taken(tmp_path):
    card, _ = fit_file(MEASURED, FITTED, FITTED)
    assert card.fitted and not devices.get("RRAM1").fitted
    assert set(FITTED_MARKERS) == {"measured_sigma", "level_multipliers", "fit", "provenance.source_device"}
    path = tmp_path / "card.yaml"
    card.save(path)
    assert DeviceCard.load(path) == card
    assert card.uniform().fitted  # a changed copy in Python (IRS's heads) keeps its fit: still consistent
    for source in ("RRAM_Wan2022_1s", "RRAM_Wan2022_2d"):
        assert fit_file(MEASURED, source, "X")[0].fitted
    # a user's own card named like no preset need not carry a preset's optional keys
    data = devices.get("RRAM1").to_dict() | {"name": "Mine"}
    del data["description"], data["sigma_scale"]
    assert DeviceCard.from_dict(data).name == "Mine"


def test_plot_device_fits_never_reaches_a_key_error(tmp_path):
    """The issue's KeyError: 'fit' came from a fitted card cut short; now the reader refuses it, and a card that is
    no fitted card at all is refused by the fit check (and by plot_fits) with the card's file named."""
    card, table = fit_file(MEASURED, FITTED, FITTED)
    path = tmp_path / "card.yaml"
    path.write_text(cut_inside(card.to_yaml(), "measured_sigma: ", 5))
    with pytest.raises(DeviceCardError, match=str(path)):
        DeviceCard.load(path)
    plain = DeviceCard.from_dict(devices.get("RRAM1").to_dict() | {"name": FITTED})
    fit = tmp_path / "fit.csv"
    table.to_csv(fit, index=False)
    with pytest.raises(HandoffError) as err:
        check_device_fit(pd.read_csv(fit), fit, plain, path)
    assert str(err.value).startswith(f"{path}: not a fitted card") and "fit_device" in str(err.value)
    with pytest.raises(ValueError, match=rf"plot_fits: no fitted card \(neft.core.fitting\) for {FITTED}"):
        plot_fits({FITTED: table}, [tmp_path / "x.png"], cards={FITTED: plain})
