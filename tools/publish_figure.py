"""Copy a finished run's headline figure into docs/ for the README, with where it came from.

    .venv/bin/python tools/publish_figure.py [--results results] [--figure accuracy] [--out docs/figures]

copies results/figures/<figure>.png to docs/figures/<figure>.png and writes docs/figures/<figure>.json: the
figure's SHA-256, the run's scale (the first line of results/tables/summary.md), the commit of the checkout that
holds the results and the date.
``tests/test_docs.py`` checks that the picture in docs/ is the one the JSON names, so the README never shows a
figure that no run made. Run it after `snakemake --cores all reproduce_all` on the default config.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_scale(results: Path) -> str:
    """The scale the run's conclusions name in their title ("# What this run shows (mini scale)")."""
    summary = results / "tables/summary.md"
    if not summary.is_file():
        raise FileNotFoundError(f"{summary} is missing: run the summary target (or reproduce_all) first")
    first = summary.read_text(encoding="utf-8").splitlines()[0] if summary.stat().st_size else ""
    if "(" not in first or not first.rstrip().endswith("scale)"):
        raise ValueError(f"{summary}: its first line {first!r} does not name the run's scale")
    return first.rsplit("(", 1)[1].removesuffix(")").removesuffix(" scale")


def commit(results: Path) -> str:
    """The commit of the checkout that holds the results folder (the run's code), else "unknown"."""
    try:
        where = results.resolve().parent
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def publish(results: Path, figure: str, out: Path) -> Path:
    source = results / "figures" / f"{figure}.png"
    if not source.is_file():
        raise FileNotFoundError(f"{source} is missing: run target figure_{figure} (or reproduce_all) first")
    scale = run_scale(results)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{figure}.png"
    shutil.copyfile(source, target)
    record = {
        "figure": target.name,
        "sha256": sha256(target),
        "source": f"{results.name}/figures/{source.name}",
        "scale": scale,
        "commit": commit(results),
        "date": datetime.date.today().isoformat(),
    }
    (out / f"{figure}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=Path("results"), help="the finished run's results folder")
    ap.add_argument("--figure", default="accuracy", help="the figure's name under results/figures (without .png)")
    ap.add_argument("--out", type=Path, default=REPO / "docs/figures", help="where the copy and its record go")
    args = ap.parse_args(argv)
    try:
        target = publish(args.results, args.figure, args.out)
    except (FileNotFoundError, ValueError) as err:
        print(f"tools/publish_figure.py: {err}", file=sys.stderr)
        return 1
    print(f"wrote {target} and {target.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
