"""Checks for values and files that come from outside the code: device cards, measured CSVs, method parameters,
arguments of the Python API. Each raises with a message that names the value (``what``) and what was expected.

- ``finite_number(value, what, ...)``: a real number of the right type (``bool`` is never a number, ``8.7`` is
  not an integer, NaN is never allowed, infinity only with ``allow_inf``), optionally inside bounds; returns it
  as ``float`` (or ``int`` with ``integer=True``).
- ``check_keys(mapping, what, allowed, ...)``: a mapping whose keys are all known (or free-form by prefix), with
  the required ones present.
- ``read_text(path, what)``: a user's text file as UTF-8, or an error naming the file and why it cannot be read
  (missing, a directory, no permission, not UTF-8 text).
- ``UniqueKeyLoader``: YAML's safe loader that refuses a key given twice in one mapping (``DuplicateKeyError``), a
  document nested deeper than ``MAX_DEPTH`` and an alias bomb (``MAX_VALUES``), for config files and device cards
  alike; ``shape_problem(value)`` makes the last two checks on an already parsed dict.

All take ``error`` (default ``ValueError``): the exception class to raise, so that a device card raises
``DeviceCardError`` and a config check ``ConfigError``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml


def _describe(value) -> str:
    if isinstance(value, bool):
        return f"{value!r} (a bool)"
    if isinstance(value, (str, bytes, list, tuple, dict, type(None))) or not isinstance(value, numbers.Number):
        return f"{value!r} (a {type(value).__name__})"
    return repr(value)


def finite_number(
    value,
    what: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    integer: bool = False,
    allow_inf: bool = False,
    error: type[Exception] = ValueError,
) -> float | int:
    """``value`` as a float (``integer=True``: an int), or ``error`` saying what ``what`` must be.

    Accepted: ints and floats (numpy's too), never a bool, a string or ``None``; with ``integer=True`` only
    integers (``8.0`` and ``8.7`` are floats, not integers). NaN is always rejected, +-infinity unless
    ``allow_inf``. ``minimum``/``maximum`` are inclusive bounds, ``above`` an exclusive lower bound.
    The message reads ``"<what> must be <a finite number / an integer> [>= m] [<= M] [> a], got <value>"``.
    """
    kind = "an integer" if integer else ("a number" if allow_inf else "a finite number")
    bounds = []
    if minimum is not None:
        bounds.append(f">= {minimum:g}")
    if above is not None:
        bounds.append(f"> {above:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    expected = f"{what} must be {kind}" + (f" {' and '.join(bounds)}" if bounds else "")

    def fail():
        return error(f"{expected}, got {_describe(value)}")

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # numpy bools are not numbers.Real; Decimal is not either (a config goes through YAML, never Decimal)
        raise fail()
    if integer:
        if not isinstance(value, numbers.Integral):
            raise fail()
        number: float | int = int(value)
    else:
        number = float(value)
        if math.isnan(number) or (math.isinf(number) and not allow_inf):
            raise fail()
    if minimum is not None and number < minimum:
        raise fail()
    if above is not None and not number > above:
        raise fail()
    if maximum is not None and number > maximum:
        raise fail()
    return number


#: Keys that start with this prefix are free-form in every mapping ``check_keys`` checks with ``free_prefix``.
FREE_PREFIX = "x_"


def check_keys(
    mapping,
    what: str,
    allowed: Iterable[str],
    *,
    required: Iterable[str] = (),
    free_prefix: str | None = None,
    error: type[Exception] = ValueError,
) -> dict:
    """``mapping`` as a dict, or ``error`` if it is not a mapping, has a key outside ``allowed`` (keys starting
    with ``free_prefix`` are always allowed) or lacks one of ``required``. Messages:
    ``"<what> must be a mapping with keys a, b, ...; got <type>"``, ``"<what>: unknown key(s) k; allowed keys: ..."``,
    ``"<what>: missing required key(s) k"``."""
    allowed = list(allowed)
    listing = ", ".join(allowed) + (f", or any key starting with {free_prefix!r}" if free_prefix else "")
    if not isinstance(mapping, Mapping):
        got = "an empty value" if mapping is None else f"{type(mapping).__name__} {mapping!r}"[:120]
        raise error(f"{what} must be a mapping with keys {listing}; got {got}")
    bad_type = [k for k in mapping if not isinstance(k, str)]
    if bad_type:
        raise error(f"{what}: key(s) {', '.join(map(repr, bad_type))} are not strings; allowed keys: {listing}")
    unknown = [k for k in mapping if k not in allowed and not (free_prefix and k.startswith(free_prefix))]
    if unknown:
        raise error(f"{what}: unknown key(s) {', '.join(unknown)}; allowed keys: {listing}")
    missing = [k for k in required if k not in mapping]
    if missing:
        raise error(f"{what}: missing required key(s) {', '.join(missing)}")
    return dict(mapping)


def read_text(path: str | Path, what: str, *, error: type[Exception] = ValueError) -> str:
    """The UTF-8 text of the user file ``path``; failures read ``"<what> <path>: <why>"`` (file not found, a
    directory, permission denied, not UTF-8 text with the offset of the first bad byte)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{what} {path}: is a directory, expected a file") from None
    except PermissionError:
        raise error(f"{what} {path}: permission denied (cannot read the file)") from None
    except OSError as err:
        raise error(f"{what} {path}: cannot read the file ({err.strerror or err})") from None
    if data.startswith(b"\xef\xbb\xbf"):  # a byte-order mark (what some editors write first): not content
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(
            f"{what} {path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "expected a text file (a binary file, or text saved in another encoding?)"
        ) from None


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key given twice in one YAML mapping (PyYAML would keep the last one silently)."""


#: Deepest nesting a config file or card may have (the deepest shipped one has 5 levels); deeper would exhaust Python's
#: recursion limit inside the YAML reader and end in a RecursionError naming nothing.
MAX_DEPTH = 100
#: Most values a document may hold once its aliases are expanded (the full config has about 650 with every default
#: filled in, a card under 100):
#: a few hundred bytes of nested aliases (an "alias bomb") expand to billions, and every walk of them would hang.
MAX_VALUES = 100_000


def _shape_problem(root, children) -> str | None:
    """Why the tree under ``root`` is refused (a cycle, or more than ``MAX_VALUES`` values once shared parts are
    counted each time they appear), else None. Counts each distinct container once, so the check itself is fast."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node, depth: int) -> int:
        kids = children(node)
        if kids is None:
            return 1
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_:
            raise _Cycle
        if depth >= MAX_DEPTH:
            raise _TooDeep
        open_.add(id(node))
        total = 1
        for kid in kids:
            total += size(kid, depth + 1)
            if total > MAX_VALUES:
                raise _TooLarge
        open_.discard(id(node))
        sizes[id(node)] = total
        return total

    try:
        size(root, 0)
    except _Cycle:
        return "an alias refers to the list or mapping that contains it (a cycle)"
    except _TooLarge:
        return (
            f"expands to more than {MAX_VALUES} values once its aliases (*name) are repeated; a config or card holds "
            "under a thousand"
        )
    except _TooDeep:
        return f"nested deeper than {MAX_DEPTH} levels"
    return None


class _Cycle(Exception):
    pass


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    pass


def _value_children(value):
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple)):
        return value
    return None


def shape_problem(value) -> str | None:
    """Why the parsed document ``value`` is refused (a self-containing list or mapping, more than ``MAX_VALUES``
    values counting shared parts each time, nesting beyond what Python can walk), else None: for a config handed to
    the Python API as a dict rather than read by :class:`UniqueKeyLoader`, which refuses these while reading."""
    return _shape_problem(value, _value_children)


def _node_children(node):
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return node.value
    return None


class DocumentShapeError(yaml.composer.ComposerError):
    """Valid YAML that :class:`UniqueKeyLoader` refuses to build: too deep, an alias bomb, or a cycle."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (tags never build objects) that raises ``DuplicateKeyError`` for a key given twice in one
    mapping; its ``problem`` reads "key 'x' appears twice in one mapping (line N)". It also refuses, with a
    ``DocumentShapeError`` whose ``problem`` says why, a document nested deeper than ``MAX_DEPTH`` levels,
    one whose aliases expand to more than ``MAX_VALUES`` values, and an alias inside the node it names."""

    _depth = 0

    def compose_node(self, parent, index):
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise DocumentShapeError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self):
        node = super().compose_document()
        problem = _shape_problem(node, _node_children)
        if problem is not None:
            raise DocumentShapeError(None, None, problem, node.start_mark)
        return node

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: PyYAML reports it below
                break
            if duplicate:
                where = key_node.start_mark
                problem = f"key {key!r} appears twice in one mapping (line {where.line + 1})"
                raise DuplicateKeyError(None, None, problem, where)
        return super().construct_mapping(node, deep=deep)
