"""Before any job runs: the intermediate files that jobs will read are checked, so that a corrupt one stops the run
while every finished output is still in place.

Snakemake removes a job's outputs when the job starts; if a corrupt ``prepared.pt`` (or card, or checkpoint) has a
newer modification time than the trainings that read it, the trainings would be deleted before the first of them
discovers the file is unreadable. The workflow's ``onstart`` hook calls :func:`problems` and stops with its list
instead. (``neft.jobs.keep`` is the second line of defence: a training deleted anyway is restored from its kept copy.)

The check is structural and cheap: torch files are zip archives with a CRC per member, so a truncated, overwritten
or bit-flipped file fails ``zipfile`` without unpickling anything; cards are read by the card reader
(``DeviceCard.load``: every field, and completeness: a fitted card has all its fitted fields, each list one entry
per level, a copy of a shipped preset all the preset's keys), must be the card of the device they are filed under
(a fitted one where ``fit_device`` wrote its ``fit.csv`` beside it), and must read exactly as ``DeviceCard.save``
writes them (a card cut inside its last number still parses, but its bytes, which every training's key and
``card_sha256`` record, differ). The shipped presets (``src/neft/core/cards``), which the device_card rule copies,
go through the same reader.
"""

from __future__ import annotations

import zipfile
from importlib import resources
from pathlib import Path

from neft.core.devices import FITTED_MARKERS, DeviceCard, DeviceCardError, preset_names

#: (glob under the working directory, what the file is)
CHECKED = (
    ("results/data/*/prepared.pt", "prepared dataset"),
    ("results/models/**/model.pt", "trained checkpoint"),
    ("results/devices/*/card.yaml", "device card"),
)


def torch_file_problem(path: Path) -> str | None:
    """Why ``path`` is not an intact torch zip archive (None when it is)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except Exception as err:  # noqa: BLE001 - BadZipFile, OSError, EOFError, zlib and struct errors of a damaged member
        return f"not an intact torch file ({type(err).__name__}: {err})"
    return f"damaged member {bad} (CRC mismatch)" if bad else None


def card_problem(path: Path) -> str | None:
    """Why the card ``results/devices/<device>/card.yaml`` cannot be used (None when it can); every answer names the
    file and says how to make it again."""
    try:
        card = DeviceCard.load(path)
    except DeviceCardError as err:
        return str(err)
    device = path.parent.name
    if (path.parent / "fit.csv").exists():  # fit_device writes both: this is a fitted device
        again = "delete it and the fit.csv beside it so that the workflow fits the device again (rule fit_device"
        if not card.fitted:
            return (
                f"device card {path}: fit_device wrote the fit.csv beside it, but the card has none of the fitted "
                f"fields {', '.join(FITTED_MARKERS)}; {again}: snakemake results/devices/{device}/card.yaml)"
            )
    else:
        again = "delete it so that the workflow writes it again (rule device_card"
    remedy = f"{again}: snakemake results/devices/{device}/card.yaml)"
    if card.name != device:
        return f"device card {path}: the card's name is {card.name!r}, expected {device!r} (its folder); {remedy}"
    if path.read_text(encoding="utf-8") != card.to_yaml():
        return (
            f"device card {path}: not as DeviceCard.save writes it (cut short or edited by hand: its bytes, which "
            f"every training on {device} records, differ from those of the card it reads as); {remedy}"
        )
    return None


def preset_problems(folder: str | Path | None = None) -> list[str]:
    """The shipped presets (or every ``*.yaml`` in ``folder``) through the card reader: the device_card rule copies
    them into results/devices."""
    out = []
    files = [resources.files("neft.core.cards") / f"{n}.yaml" for n in preset_names()] if folder is None else None
    for entry in files if files is not None else sorted(Path(folder).glob("*.yaml")):
        with resources.as_file(entry) as path:
            try:
                DeviceCard.load(path)
            except DeviceCardError as err:
                out.append(f"{path} (shipped device preset): {err}")
    return out


def problems(root: str | Path = ".") -> list[str]:
    """One line per unreadable intermediate file under ``root``/results, and per shipped preset the card reader
    refuses (none: the run may start)."""
    root = Path(root)
    out = preset_problems()
    for pattern, what in CHECKED:
        for path in sorted(root.glob(pattern)):
            if ".kept" in path.parts or not path.is_file():
                continue
            why = card_problem(path) if path.suffix == ".yaml" else torch_file_problem(path)
            if why:
                out.append(f"{path.relative_to(root)} ({what}): {why}")
    return out


def message(found: list[str]) -> str:
    return (
        "stopped before any job ran, so no finished file was removed: these files are unreadable or incomplete\n  - "
        + "\n  - ".join(found)
        + "\nDelete each one (the workflow makes it again from its inputs) or put the intact file back."
    )
