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


def command(chromium: str, html: Path, png: Path | None, profile: Path, width: int, height: int) -> list[str]:
    """A screenshot command, or with ``png`` None one that prints the DOM after the page's scripts ran."""
    output = [f"--screenshot={png}"] if png is not None else ["--dump-dom", "--virtual-time-budget=10000"]
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
        *output,
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


#: Measures, once the page (its images included) has loaded, where the first figure and the verdict table (the
#: table whose header has "Paper's verdict") end, in CSS pixels from the top, and writes it into the title.
LAYOUT_SCRIPT = """
<script>
window.addEventListener("load", () => {
  const bottom = (el) => (el ? Math.round(el.getBoundingClientRect().bottom + window.scrollY) : null);
  const img = document.querySelector("img");
  const verdicts = [...document.querySelectorAll("table")].find((t) => t.innerText.includes("Paper's verdict"));
  const firstProse = [...document.querySelectorAll("p")].find((p) => p.innerText.length > 200);
  document.title = "NEFT_LAYOUT " + JSON.stringify({
    figure: bottom(img), figure_height: img ? Math.round(img.getBoundingClientRect().height) : null,
    verdicts: bottom(verdicts), verdict_rows: verdicts ? verdicts.querySelectorAll("tbody tr").length : null,
    first_long_paragraph_top: firstProse ? Math.round(firstProse.getBoundingClientRect().top + window.scrollY) : null,
  });
});
</script>
"""


def layout(html: str | Path, size=(1400, 900), chromium: str | None = None, timeout=120) -> dict:
    """Where the report's figure and verdict table end (CSS pixels from the top) at window ``size``, measured by
    Chromium itself on a copy of ``html`` with LAYOUT_SCRIPT added: {"figure", "figure_height", "verdicts",
    "verdict_rows", "first_long_paragraph_top"} (None for what is not on the page)."""
    import json

    html = Path(html)
    exe = find_chromium(chromium)
    if exe is None:
        raise FileNotFoundError(f"no Chromium found (tried {', '.join(NAMES)}; apt-get install chromium)")
    text = html.read_text(encoding="utf-8")
    marked = text.replace("</body>", LAYOUT_SCRIPT + "</body>", 1) if "</body>" in text else text + LAYOUT_SCRIPT
    with tempfile.TemporaryDirectory(prefix="neft-chromium-") as tmp:
        page = Path(tmp) / html.name
        page.write_text(marked, encoding="utf-8")
        for asset in html.parent.iterdir():  # relative images beside the page (the report embeds its own)
            if asset.suffix in (".png", ".svg", ".jpg") and not (Path(tmp) / asset.name).exists():
                (Path(tmp) / asset.name).symlink_to(asset.resolve())
        profile = Path(tmp) / "profile"
        cmd = command(exe, page, None, profile, *size)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    start = done.stdout.find("<title>NEFT_LAYOUT ")
    if start < 0:
        raise RuntimeError(f"Chromium did not run the layout script (exit {done.returncode}): {done.stderr[-2000:]}")
    start += len("<title>NEFT_LAYOUT ")
    raw = done.stdout[start : done.stdout.index("</title>", start)]
    return json.loads(raw.replace("&quot;", '"').replace("&amp;", "&"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", help="the HTML file, e.g. reports/neft_report.html")
    ap.add_argument("png", help="the PNG to write")
    ap.add_argument("--size", default="1400x900", help="window size WIDTHxHEIGHT in pixels (default 1400x900)")
    ap.add_argument("--chromium", default=None, help="the Chromium executable (default: $CHROMIUM or on PATH)")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    print(render(args.html, args.png, (width, height), args.chromium))
    where = layout(args.html, (width, height), args.chromium)
    seen = [name for name in ("figure", "verdicts") if where[name] is not None and where[name] <= height]
    print(
        f"bottom of the figure {where['figure']} px, of the verdict table {where['verdicts']} px (window {height} px):"
    )
    print(f"  in the first screen: {', '.join(seen) or 'neither'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
