"""Files that are either complete or absent: atomic writes and safe checkpoint loading."""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    A killed process leaves at most a ``.tmp`` file, never a truncated ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes it owner-only; give it a normal file's mode
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_torch_save(obj, path: str | Path) -> None:
    """Serialised in memory first: torch.save names the archive's inner folder after the file it writes, and the
    temporary name is random, so writing the bytes ourselves keeps equal tensors byte-identical on disk."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not fit the model it is loaded into."""


def load_tensors(path: str | Path, map_location="cpu"):
    """``torch.load`` restricted to tensors and plain containers (``weights_only=True``): never runs code."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"file not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for corrupt or unsafe files
        text = _ANSI.sub("", str(err))
        unsafe = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        if unsafe:
            why = (
                f"refused: it holds the Python object {unsafe.group(1)}, not only tensors, and unpickling it "
                "could run code (a tampered or foreign file)"
            )
        else:
            detail = re.search(r"Unsupported operand \d+", text)
            first = detail.group(0) if detail else (text.strip().splitlines() or [""])[0]
            why = f"truncated, corrupt or not a torch file ({type(err).__name__}: {first})"
        raise CheckpointError(f"cannot load {path} safely (weights_only=True): {why}") from err


def load_state_dict_strict(model: torch.nn.Module, state: dict, source: str | Path) -> None:
    """Load ``state`` into ``model``; a mismatch names the missing, unexpected and wrongly shaped keys."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: expected a state_dict (mapping of tensors), got {type(state).__name__}")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(
        f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
        for k in set(own) & set(state)
        if hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)
    )
    if missing or unexpected or shapes:
        parts = []
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatch", shapes)):
            if keys:
                shown = ", ".join(keys[:6]) + (f" (+{len(keys) - 6} more)" if len(keys) > 6 else "")
                parts.append(f"{label}: {shown}")
        raise CheckpointError(f"checkpoint {source} does not match model {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
