"""Files that are either complete or absent: atomic writes and safe checkpoint loading.

torch is imported by the two functions that need it, so the table jobs, which import this module for its atomic
writes, start without it."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    """The sha256 of the file at ``path`` (hex), read in chunks: checkpoints need not fit in memory twice."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_torch_save(obj, path: str | Path) -> None:
    """Serialised in memory first: torch.save names the archive's inner folder after the file it writes, and the
    temporary name is random, so writing the bytes ourselves keeps equal tensors byte-identical on disk."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not fit the model it is loaded into."""


class UnsafeCheckpointError(CheckpointError):
    """A torch file refused because its pickle names objects other than tensors and plain containers; nothing
    of it was loaded or run. ``objects`` lists them (``module.name``)."""

    def __init__(self, message: str, objects: list[str]) -> None:
        super().__init__(message)
        self.objects = objects


#: What a refused file's message says about it (never how to load it anyway).
_REFUSED = (
    "a file here may hold only tensors, numbers, strings and plain containers; unpickling any other object can run "
    "code, so a file that names one is tampered with or foreign"
)


def load_tensors(path: str | Path, map_location="cpu"):
    """``torch.load`` restricted to tensors and plain containers (``weights_only=True``): never runs code.

    Every torch file the workflow reads (checkpoints, resume states, prepared datasets) comes through here. A
    file whose pickle names another object raises ``UnsafeCheckpointError`` naming the object (found by reading
    the pickle's opcodes, whatever protocol wrote it); a file torch cannot parse is called truncated or corrupt.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"file not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"cannot load {path}: it is a directory, expected a torch file")
    if not os.access(path, os.R_OK):
        raise CheckpointError(f"cannot load {path}: permission denied (cannot read the file)")
    import torch

    try:
        with warnings.catch_warnings():
            # torch warns that its restricted unpickler may not know protocol 4+ opcodes: the scan below names them
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for corrupt or unsafe files
        text = _ANSI.sub("", str(err))
        objects = disallowed_globals(path) or _named_by_torch(text)
        if objects:
            shown = ", ".join(objects[:5]) + (f" (+{len(objects) - 5} more)" if len(objects) > 5 else "")
            what = "disallowed objects" if len(objects) > 1 else "a disallowed object"
            raise UnsafeCheckpointError(
                f"cannot load {path} safely (weights_only=True): it contains {what} {shown} and was not loaded "
                f"({_REFUSED})",
                objects,
            ) from None
        protocol = max((pickle_protocol(data) for data in _pickles(path)), default=0)
        if path.stat().st_size == 0:
            why = "truncated, corrupt or not a torch file (the file is empty)"
        elif protocol >= 4 and "Unsupported operand" in text:
            why = (
                f"written with pickle protocol {protocol}, which torch's restricted loader does not read "
                "(save it with torch.save's default protocol)"
            )
        else:
            why = f"truncated, corrupt or not a torch file ({_safe_detail(err, text)})"
        raise CheckpointError(f"cannot load {path} safely (weights_only=True): {why}") from None


def _safe_detail(err: BaseException, text: str) -> str:
    """What went wrong, in torch's words, without torch's advice on loading the file anyway."""
    if "legacy .tar format" in text:
        return "a checkpoint in torch's legacy .tar format (torch < 0.4), which is not read here"
    inner = re.search(r"WeightsUnpickler error:\s*([^\n]*)", text)
    detail = inner.group(1) if inner else (text.strip().splitlines() or [""])[0]
    detail = re.split(
        r"\s*(?:Weights only load failed|In PyTorch 2\.6|Re-running|Please (?:use|file)|Check the)", detail
    )[0]
    detail = re.split(r"(?<=[a-z0-9])\. (?=[A-Z])", detail)[0]  # the first sentence
    if re.search(r"weights_only|safe_globals|trust", detail, re.IGNORECASE):
        detail = ""
    detail = detail.strip()[:200]
    return f"{type(err).__name__}: {detail}" if detail else type(err).__name__


def _named_by_torch(text: str) -> list[str]:
    """The object torch's restricted unpickler refused, from its message (the scan of the pickle found none)."""
    for pattern in (
        r"unsupported GLOBAL ([\w.]+) whose module",
        r"Unsupported global: GLOBAL ([\w.]+)",
        r"unrecognized function (\S+)",
        r"(?:Can only build|Can only create new object).* but got <class '([^']+)'>",
    ):
        if m := re.search(pattern, text):
            import _compat_pickle

            module, _, attr = m.group(1).rpartition(".")
            return [_py3_name(module, attr, 0, _compat_pickle) if module else attr]  # the name as unpickling reads it
    return []


# -- reading a pickle without running it ---------------------------------------------------------------------------
_STRINGS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}
_NO_PUSH = {"PROTO", "FRAME", "MEMOIZE", *_PUTS, "STOP", "POP", "POP_MARK", "MARK"}


def pickle_globals(data: bytes, *, max_pickles: int = 5) -> list[str]:
    """Every object (``module.name``) the pickle stream ``data`` would import, read from its opcodes with
    ``pickletools`` (nothing is imported or called). ``max_pickles`` consecutive pickles are read, as torch's
    legacy format writes several; a malformed stream yields what precedes the damage."""
    import _compat_pickle
    import copyreg
    import pickletools

    found: list[str] = []
    stream = io.BytesIO(data)
    for _ in range(max_pickles):
        if stream.tell() >= len(data):
            break
        proto, recent, memo = 0, [], {}
        try:
            for op, arg, _pos in pickletools.genops(stream):
                name = op.name
                if name == "PROTO":
                    proto = arg
                elif name in _STRINGS:
                    recent.append(arg.decode("latin-1") if isinstance(arg, bytes) else arg)
                elif name == "MEMOIZE":
                    memo[len(memo)] = recent[-1] if recent else None
                elif name in _PUTS:
                    memo[arg] = recent[-1] if recent else None
                elif name in _GETS:
                    recent.append(memo.get(arg))
                elif name in ("GLOBAL", "INST"):
                    module, _, attr = str(arg).partition(" ")
                    found.append(_py3_name(module, attr, proto, _compat_pickle))
                    recent.append(None)
                elif name == "STACK_GLOBAL":
                    module, attr = (recent[-2:] + [None, None])[:2] if len(recent) >= 2 else (None, None)
                    if isinstance(module, str) and isinstance(attr, str):
                        found.append(f"{module}.{attr}")
                    else:
                        found.append("<an object named by computed strings>")
                    recent.append(None)
                elif name in ("EXT1", "EXT2", "EXT4"):
                    key = copyreg._inverted_registry.get(arg)
                    found.append(".".join(key) if key else f"<copyreg extension code {arg}>")
                    recent.append(None)
                elif name not in _NO_PUSH:
                    recent.append(None)
                del recent[:-4]
        except Exception:  # noqa: BLE001 - a damaged stream: keep what was read before it
            break
    return list(dict.fromkeys(found))


def pickle_protocol(data: bytes) -> int:
    """The protocol a pickle stream declares (its PROTO opcode; 0 for none or an unreadable stream)."""
    if len(data) >= 2 and data[0] == 0x80:
        return data[1]
    return 0


def _py3_name(module: str, attr: str, proto: int, compat) -> str:
    """Protocols 0-2 may spell Python 3 names the Python 2 way; unpickling maps them back (fix_imports)."""
    if proto < 3:
        if (module, attr) in compat.NAME_MAPPING:
            module, attr = compat.NAME_MAPPING[(module, attr)]
        elif module in compat.IMPORT_MAPPING:
            module = compat.IMPORT_MAPPING[module]
    return f"{module}.{attr}"


def _allowed_globals() -> set[str]:
    """What torch's ``weights_only`` unpickler accepts (its own list and any the user added)."""
    try:
        from torch import _weights_only_unpickler as wo

        return set(wo._get_allowed_globals()) | set(wo._get_user_allowed_globals())
    except Exception:  # noqa: BLE001 - private API; without it, count torch's own rebuild functions as allowed
        return set()


#: Bytes of a legacy (bare pickle) file scanned for the objects it names.
_MAX_SCAN = 256 << 20


def _pickles(path: Path) -> list[bytes]:
    """The pickle streams of a torch file: a zip checkpoint's ``.pkl`` members, or the file (legacy format)."""
    try:
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as fh:
                return [fh.read(_MAX_SCAN)]  # the pickles precede a legacy file's raw storages
        with zipfile.ZipFile(path) as zf:
            return [zf.read(n) for n in zf.namelist() if n.endswith(".pkl")]
    except Exception:  # noqa: BLE001 - unreadable or a damaged archive: nothing to read
        return []


def disallowed_globals(path: str | Path) -> list[str]:
    """Objects named in the pickle(s) of torch file ``path`` that ``weights_only`` loading does not allow: what
    would run if it were loaded without that restriction. Reads a zip checkpoint's ``data.pkl`` or a legacy
    (bare pickle) file; nothing is imported or called."""
    allowed = _allowed_globals()
    names = [g for data in _pickles(path) for g in pickle_globals(data)]

    def ok(name: str) -> bool:
        if allowed:
            return name in allowed
        return name.startswith("torch.") or name in ("collections.OrderedDict", "_codecs.encode")

    return list(dict.fromkeys(n for n in names if not ok(n)))


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
