"""Before any job runs: the intermediate files that jobs will read are checked, so that a corrupt one stops the run
while every finished output is still in place.

Snakemake removes a job's outputs when the job starts; if a corrupt ``prepared.pt`` (or card, or checkpoint) has a
newer modification time than the trainings that read it, the trainings would be deleted before the first of them
discovers the file is unreadable. The workflow's ``onstart`` hook calls :func:`problems` and stops with its list
instead. (``neft.jobs.keep`` is the second line of defence: a training deleted anyway is restored from its kept copy.)

The check is structural and cheap: torch files are zip archives with a CRC per member, so a truncated, overwritten
or bit-flipped file fails ``zipfile`` without unpickling anything; cards are parsed as device cards.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from neft.core.devices import DeviceCard, DeviceCardError

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

    try:
        DeviceCard.load(path)
    except DeviceCardError as err:
        return str(err)
    return None


def problems(root: str | Path = ".") -> list[str]:
    """One line per unreadable intermediate file under ``root``/results (none: the run may start)."""
    root = Path(root)
    out = []
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
        "stopped before any job ran, so no finished file was removed: these intermediate files are unreadable\n  - "
        + "\n  - ".join(found)
        + "\nDelete each one (the workflow makes it again from its inputs) or put the intact file back."
    )
