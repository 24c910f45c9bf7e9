"""Generic checks of a hand-off table: read a CSV with its columns and types, require finite numbers in range,
present and unique keys, exactly the points the config's grid implies, the digest its writer recorded beside it, and
raise a ``HandoffError`` that names the file, each problem and the remedy. The per-file readers
(``neft.experiment.handoff``, ``neft.experiment.inputs``) are built from them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from neft.experiment.contracts import DIGEST_SUFFIX, DIGEST_WRITERS, REBUILD
from neft.util.io import atomic_write_text, sha256_file
from neft.util.sigma import format_sigma


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
    text = nan & df[column].notna() & ~df[column].astype(str).str.strip().str.lower().isin(["nan", ""])
    bad_nan = nan & ~allowed & ~text  # text is named once, by numeric
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


# -- digests (contracts.DIGEST_SUFFIX): the writer records one beside the file, every reader checks it --------------
def digest_path(path: str | Path) -> Path:
    """Where the digest of hand-off file ``path`` lives: ``<path>.sha256``, beside it."""
    return Path(str(path) + DIGEST_SUFFIX)


def record_digest(path: str | Path) -> str:
    """Record the sha256 of the file just written at ``path`` in ``<path>.sha256`` (``sha256sum`` format), for its
    readers; returns the digest. The writing job calls it after the file is complete (the rule declares both)."""
    digest = sha256_file(path)
    atomic_write_text(digest_path(path), f"{digest}  {Path(path).name}\n")
    return digest


def record_digests(outputs) -> list[str]:
    """For each ``<F>.sha256`` among a job's declared ``outputs``, record the digest of ``<F>`` (written by then):
    the writing scripts call it last, so the rule's declaration says which files carry a digest."""
    done = []
    for out in map(str, outputs):
        if out.endswith(DIGEST_SUFFIX):
            record_digest(out[: -len(DIGEST_SUFFIX)])
            done.append(out)
    return done


def digest_writer(path: str | Path) -> str:
    """The rule that writes ``path`` and its digest (``contracts.DIGEST_WRITERS``), for messages."""
    p = Path(path)
    return DIGEST_WRITERS.get(p.name) or next(
        (rule for where, rule in DIGEST_WRITERS.items() if "/" in where and where in p.as_posix()), "its writing rule"
    )


def digest_problem(path: str | Path) -> str | None:
    """Why ``path`` is not the file its job wrote (None when its sha256 is the one recorded beside it): the digest
    file is missing or unreadable, names another file, or records another sha256 (the file changed after its job)."""
    path, side = Path(path), digest_path(path)
    rule = digest_writer(path)
    try:
        text = side.read_text()
    except FileNotFoundError:
        return f"no digest beside it ({side.name}, which rule {rule} writes with it, is missing)"
    except (OSError, UnicodeDecodeError) as err:
        return f"its digest {side.name} is unreadable ({type(err).__name__})"
    recorded, _, name = text.strip().partition("  ")
    if len(text.strip().splitlines()) != 1 or len(recorded) != 64 or name != path.name:
        return f"its digest {side.name} is not one line '<sha256>  {path.name}' (found {text.strip()[:80]!r})"
    found = sha256_file(path)
    if found != recorded:
        return (
            f"its sha256 is {found[:16]}..., but {side.name}, written with it by rule {rule}, recorded "
            f"{recorded[:16]}... (the file was changed after its job wrote it)"
        )
    return None


def rebuild(path: str | Path) -> str:
    """The remedy for a digested hand-off file that breaks its promise: what to delete and which rule rebuilds it."""
    return f"delete it so the workflow's rule {digest_writer(path)} writes it again, with its digest, from its inputs"


def check_digest(path: str | Path, remedy: str | None = None) -> None:
    """Raise a ``HandoffError`` naming ``path`` unless it is the file its job recorded (:func:`digest_problem`)."""
    remedy = remedy or rebuild(path)
    if not Path(path).exists():
        raise error(path, "file not found", remedy)
    problem = digest_problem(path)
    if problem:
        raise error(path, problem, remedy)


def require_digest(path: str | Path, problems: list[str]) -> None:
    """Add to ``problems`` why ``path`` is not the file its job wrote (:func:`digest_problem`), if it is not."""
    problem = digest_problem(path)
    if problem:
        problems.append(problem)


def check_digests(paths) -> None:
    """Each file is the one its job wrote: its sha256 is the one recorded beside it (:func:`check_digest`);
    summarize calls it on the tables it cites before reading them."""
    for path in paths:
        check_digest(path)


# -- the config's grid: every point it implies, once, and no other -----------------------------------------------
def point_text(key: str, value) -> str:
    """One spelling of a key's value for comparing a table's points with the config's: sigmas as ``format_sigma``
    writes them, counts and seeds as whole numbers (a fraction as written), the rest as text. The Monte-Carlo
    readers compare a sweep's keys with its path's the same way."""
    if key.startswith("sigma") or key.endswith("_sigma"):
        try:
            return format_sigma(value)
        except (TypeError, ValueError):
            return str(value)
    if key in ("seed", "seeds", "epochs", "runs", "chips"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        return str(int(number)) if number.is_integer() else str(value)  # 3, 3.0, "3" alike; 1.5 never a 1
    return str(value)


def require_points(
    df: pd.DataFrame, problems: list[str], keys, expected, what: str = "point", source: str = "the config's grid"
) -> None:
    """The rows' ``keys`` must be exactly the ``expected`` points (tuples in the order of ``keys``), as ``source``
    implies them: none missing, none extra (duplicates: :func:`require_unique`)."""
    keys = list(keys)
    want = {tuple(point_text(k, v) for k, v in zip(keys, p)): p for p in expected}
    have = [tuple(point_text(k, v) for k, v in zip(keys, row)) for row in df[keys].itertuples(index=False)]
    present = set(have)
    missing = [p for t, p in want.items() if t not in present]
    extra = [i for i, t in enumerate(have) if t not in want]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        problems.append(
            f"{what} {key_text(keys, missing[0])} is missing{more}: {source} has {len(want)} {what}"
            f"{'' if len(want) == 1 else 's'}, "
            f"this file {len(present & set(want))} of them"
        )
    if extra:
        index = df.index[extra]
        problems.append(
            f"{what} {key_text(keys, df.loc[index[0], keys].tolist())} at {row_lines(index)} is not in {source}"
        )


# -- JSON values -------------------------------------------------------------------------------------------------
def json_number(
    data: dict, key: str, problems: list[str], lo: float | None = None, hi: float | None = None, integer: bool = False
) -> float | None:
    """``data[key]`` as a finite number in [lo, hi] (a whole number if ``integer``); otherwise a problem naming the
    key, what it holds and what it must be (text is never a number). Returns the value, or None."""
    v = data.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        problems.append(f"{key} is {v!r} ({type(v).__name__}), expected a number")
        return None
    if not np.isfinite(v):
        problems.append(f"{key} is {v!r}, expected a finite number")
        return None
    if integer and float(v) != round(v):
        problems.append(f"{key} is {v!r}, expected a whole number")
    if lo is not None and v < lo:
        problems.append(f"{key} is {v!r}, expected at least {lo:g}")
    if hi is not None and v > hi:
        problems.append(f"{key} is {v!r}, expected at most {hi:g}")
    return float(v)
