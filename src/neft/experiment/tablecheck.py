"""Generic checks of a hand-off table: read a CSV with its columns and types, require finite numbers in range,
present and unique keys, and raise a ``HandoffError`` that names the file, each problem and the remedy. The
per-file readers (``neft.experiment.handoff``, ``neft.experiment.inputs``) are built from them."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from neft.experiment.contracts import REBUILD


class HandoffError(ValueError):
    """An intermediate file does not hold what the rule that wrote it promised its readers."""


def error(path, problems: list[str] | str, remedy: str = REBUILD) -> HandoffError:
    problems = [problems] if isinstance(problems, str) else problems
    return HandoffError(f"{path}: {'; '.join(problems)}; {remedy}")


def row_lines(index) -> str:
    """File line numbers of data rows (row i is line i + 2: one header line)."""
    rows = [int(i) + 2 for i in index]
    shown = ", ".join(map(str, rows[:5])) + (f" (+{len(rows) - 5} more)" if len(rows) > 5 else "")
    return ("line " if len(rows) == 1 else "lines ") + shown


def key_text(names, values) -> str:
    """An experiment key as ``model=vgg8, dataset=mnist, ...``."""
    return "(" + ", ".join(f"{k}={v}" for k, v in zip(names, values)) + ")"


def ints_text(values) -> str:
    v = list(values)
    return ", ".join(map(str, v[:8])) + (f", ... ({len(v)} in all)" if len(v) > 8 else "")


# -- reading -----------------------------------------------------------------------------------------------------
def read_table(
    path: str | Path,
    columns,
    *,
    dtype: dict | None = None,
    exact: bool = False,
    allow_empty: bool = False,
    remedy: str = REBUILD,
) -> pd.DataFrame:
    """Read a CSV a rule wrote whole (``neft.analysis.results.write_csv`` and the job writers end every file with a
    newline): it must exist, end in a newline (else it was truncated), parse, hold ``columns`` (exactly, in order, with
    ``exact``) and at least one row (unless ``allow_empty``: then a blank file is a table with no rows)."""
    path = Path(path)
    columns = list(columns)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(path, "file not found", remedy) from None
    if not raw:
        raise error(path, f"empty file (0 bytes), expected a header ({', '.join(columns)}) and rows", remedy)
    if not raw.endswith(b"\n"):
        raise error(path, "truncated: its last line has no newline (its writer ends every file with one)", remedy)
    if not raw.strip():
        if allow_empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        raise error(path, f"no header and no rows, expected columns {', '.join(columns)}", remedy)
    try:
        df = pd.read_csv(io.BytesIO(raw), dtype={k: v for k, v in (dtype or {}).items()})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        first = (str(err).strip().splitlines() or [""])[0]
        raise error(path, f"not a readable CSV ({type(err).__name__}: {first})", remedy) from err
    found = [str(c) for c in df.columns]
    missing = [c for c in columns if c not in found]
    if missing:
        raise error(
            path,
            f"missing column(s) {', '.join(missing)} (expected {', '.join(columns)}; found {', '.join(found)})",
            remedy,
        )
    if exact and found != columns:
        extra = [c for c in found if c not in columns]
        what = f"unexpected column(s) {', '.join(extra)}" if extra else "columns in another order"
        raise error(path, f"{what} (expected {', '.join(columns)}; found {', '.join(found)})", remedy)
    if df.empty and not allow_empty:
        raise error(path, "a header but no rows", remedy)
    return df


def numeric(df: pd.DataFrame, column: str, problems: list[str]) -> pd.Series:
    """The column as numbers; cells that are text, not numbers, are a problem (empty cells and 'nan' are NaN)."""
    raw = df[column]
    if raw.dtype == bool:
        return raw.astype(float)
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & ~raw.astype(str).str.strip().str.lower().isin(["nan", ""])
    if bad.any():
        i = bad[bad].index
        problems.append(f"column {column} holds text, not a number, at {row_lines(i)} ({raw[i[0]]!r})")
    return values.astype(float)


def require(
    df: pd.DataFrame,
    problems: list[str],
    column: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    nan_ok=None,
    integer: bool = False,
    infinite_ok: bool = False,
) -> pd.Series:
    """Check a numeric column: finite (NaN only where the boolean mask ``nan_ok`` allows it), within [lo, hi],
    whole numbers if ``integer``. Returns the values."""
    v = numeric(df, column, problems)
    nan = v.isna()
    allowed = nan_ok if nan_ok is not None else pd.Series(False, index=v.index)
    bad_nan = nan & ~allowed
    if bad_nan.any():
        why = " (allowed only where " + nan_ok.name + ")" if nan_ok is not None and nan_ok.name else ""
        problems.append(f"column {column} is NaN or empty at {row_lines(bad_nan[bad_nan].index)}{why}")
    inf = np.isinf(v)
    if inf.any() and not infinite_ok:
        problems.append(f"column {column} is infinite at {row_lines(inf[inf].index)}")
    ok = v[~nan & ~inf]
    if lo is not None and (ok < lo).any():
        i = ok[ok < lo].index
        problems.append(f"column {column} is {v[i[0]]:g} at {row_lines(i)}, expected at least {lo:g}")
    if hi is not None and (ok > hi).any():
        i = ok[ok > hi].index
        problems.append(f"column {column} is {v[i[0]]:g} at {row_lines(i)}, expected at most {hi:g}")
    if integer and (ok != ok.round()).any():
        i = ok[ok != ok.round()].index
        problems.append(f"column {column} is {v[i[0]]:g} at {row_lines(i)}, expected a whole number")
    return v


def require_columns(df: pd.DataFrame, problems: list[str], columns) -> None:
    """Text columns (keys) must be filled in."""
    for c in columns:
        empty = df[c].isna() | (df[c].astype(str).str.strip() == "")
        if empty.any():
            problems.append(f"column {c} is empty at {row_lines(empty[empty].index)}")


def require_unique(df: pd.DataFrame, problems: list[str], keys, what: str) -> None:
    dup = df.duplicated(list(keys), keep=False)
    if dup.any():
        first = df.loc[dup[dup].index[0], list(keys)].tolist()
        problems.append(f"{what} {key_text(keys, first)} appears more than once ({row_lines(dup[dup].index)})")


def sha256_file(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_json(path: Path, remedy: str) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise error(path, "file not found", remedy) from None
    if not text.strip():
        raise error(path, "empty file, expected the sweep's JSON summary", remedy)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise error(path, f"not valid JSON ({err.msg} at line {err.lineno}; truncated?)", remedy) from err
    if not isinstance(data, dict):
        raise error(path, f"expected a JSON object, found {type(data).__name__}", remedy)
    return data
