"""Render an HTML file (the report, reports/neft_report.html) to a PNG of its first screen with headless Chromium.

    python tools/render_report_png.py reports/neft_report.html first_screen.png [--size 1400x900]

What a reader sees when the report opens in a browser: the first 1400x900 pixels by default. Needs Chromium
(Debian: ``apt-get install chromium``; found as ``chromium``, ``chromium-browser`` or ``google-chrome``, or named by
``--chromium`` / $CHROMIUM). A fresh profile in a temporary folder, no network services, no sandbox (it runs as root in
containers); the page is a local file, so nothing is fetched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium(name: str | None = None) -> str | None:
    """The Chromium executable: ``name``, $CHROMIUM, or the first of NAMES on PATH (None where there is none)."""
    for candidate in (name, os.environ.get("CHROMIUM"), *NAMES):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def command(chromium: str, html: Path, png: Path, profile: Path, width: int, height: int) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        f"--screenshot={png}",
        html.resolve().as_uri(),
    ]


def render(html: str | Path, png: str | Path, size=(1400, 900), chromium: str | None = None, timeout=120) -> Path:
    """``html``'s first ``size`` pixels as ``png``; raises where Chromium is missing or writes no image."""
    html, png = Path(html), Path(png)
    if not html.is_file():
        raise FileNotFoundError(f"{html}: no such HTML file")
    exe = find_chromium(chromium)
    if exe is None:
        raise FileNotFoundError(f"no Chromium found (tried {', '.join(NAMES)}; apt-get install chromium)")
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="neft-chromium-") as profile:
        cmd = command(exe, html, png.resolve(), Path(profile), *size)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no {png} (exit {done.returncode}): {done.stderr[-2000:]}")
    return png


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", help="the HTML file, e.g. reports/neft_report.html")
    ap.add_argument("png", help="the PNG to write")
    ap.add_argument("--size", default="1400x900", help="window size WIDTHxHEIGHT in pixels (default 1400x900)")
    ap.add_argument("--chromium", default=None, help="the Chromium executable (default: $CHROMIUM or on PATH)")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    print(render(args.html, args.png, (width, height), args.chromium))
    return 0


if __name__ == "__main__":
    sys.exit(main())
