"""Record a finished scale ladder so that other runs' conclusions can cite it (``scale_study.recorded``).

    .venv/bin/python tools/record_ladder.py --command "snakemake --cores all scale_study --configfile \
        config/presets/scale.yaml" --wall "52 min on 2 cores" [--results results] resources/ladder/mini-cpu

copies the ladder's three tables (results/tables/ladder.csv, ladder_decomposition.csv, ladder_claims.csv) and its
Markdown, writes record.json (the command, the commit, the date, the machine, the scale, the wall time) and
SHA256SUMS, which ``neft.analysis.ladder.read_record`` checks before the conclusions read a recorded ladder.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TABLES = ("ladder.csv", "ladder_decomposition.csv", "ladder_claims.csv", "ladder.md")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="where the record goes (e.g. resources/ladder/mini-cpu)")
    ap.add_argument("--results", type=Path, default=Path("results"), help="the finished run's results folder")
    ap.add_argument("--command", required=True, help="the command that made the ladder")
    ap.add_argument("--wall", default="", help="its measured wall time, as text")
    ap.add_argument("--scale", default="mini", help="the scale whose findings the ladder tests")
    ap.add_argument("--commit", default=None, help="the commit it ran (default: git rev-parse --short HEAD)")
    args = ap.parse_args(argv)
    tables = args.results / "tables"
    missing = [t for t in TABLES if not (tables / t).is_file()]
    if missing:
        print(f"{tables}: missing {', '.join(missing)}; run target scale_study first", file=sys.stderr)
        return 1
    commit = (
        args.commit
        or subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    args.folder.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        shutil.copyfile(tables / t, args.folder / t)
    record = {
        "command": args.command,
        "commit": commit,
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "scale": args.scale,
        "wall": args.wall,
    }
    (args.folder / "record.json").write_text(json.dumps(record, indent=1) + "\n")
    names = ["ladder.csv", "ladder_decomposition.csv", "ladder_claims.csv", "record.json", "ladder.md"]
    sums = "".join(f"{hashlib.sha256((args.folder / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    (args.folder / "SHA256SUMS").write_text(sums)
    print(f"recorded {args.results} in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
