"""Reading a config file a user gives with ``--configfile``: every problem names the file and what was expected.

Snakemake reads these files itself, before the Snakefile runs, and nothing here replaces its reader (an earlier
version did, from the logger plugin's import, which changed how every workflow in the environment read its config
files). The Snakefile reads each ``--configfile`` file (and ``config/config.yaml``) again with :func:`load`
(``workflow/rules/common.smk``), before the config is validated, and refuses what Snakemake's reader lets through:
a key given twice in one mapping (YAML keeps the last one silently), a top-level key that is not a name, a file
nested deeper than ``MAX_DEPTH`` (100) levels or whose aliases expand beyond ``MAX_VALUES`` (100 000) values (both
in ``neft.util.checks``: an alias bomb of a few hundred bytes is refused in milliseconds, before any walk of the
config), and YTE templating (``__use_yte__: true``; Snakemake has evaluated the template by then, so this refuses
the file but cannot prevent the evaluation). What Snakemake's reader itself refuses (an empty file, a list, bytes
that are not UTF-8, broken YAML) stops the run with Snakemake's own message, before any job; so does YAML nested
deeper than Snakemake's reader can follow (between 400 and 500 levels with Snakemake 9: a ``RecursionError``
traceback from Snakemake's command line, which no workflow code can intercept without patching Snakemake).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from neft.util.checks import DocumentShapeError, UniqueKeyLoader, read_text, shape_problem


class ConfigFileError(ValueError):
    """A config file cannot be read as a mapping of config keys."""


def _kind(value) -> str:
    if value is None:
        return "nothing (the file is empty or only comments)"
    if isinstance(value, list):
        return "a list"
    return f"a single {type(value).__name__} value ({value!r:.40})"


def load(path: str | Path) -> dict:
    """The mapping in the JSON or YAML file ``path`` (YAML read with a ``SafeLoader``: tags never build objects;
    a key given twice is an error)."""
    path = Path(path)
    text = read_text(path, "config file", error=ConfigFileError)
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except DocumentShapeError as err:
        mark = err.problem_mark
        raise ConfigFileError(f"config file {path}: refused at line {mark.line + 1}: {err.problem}") from None
    except RecursionError:  # JSON nested too deep for Python's reader
        raise ConfigFileError(f"config file {path}: nested deeper than Python can read") from None
    except (ValueError, yaml.YAMLError) as err:
        where = ""
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigFileError(f"config file {path}: not valid YAML or JSON{where} ({problem})") from None
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"config file {path}: expected a mapping of config keys at the top level (such as `training:`), "
            f"found {_kind(data)}"
        )
    shape = shape_problem(data)  # JSON has no aliases, but can nest deeper than anything here walks
    if shape is not None:
        raise ConfigFileError(f"config file {path}: refused: {shape}")
    if "__use_yte__" in data:
        raise ConfigFileError(
            f"config file {path}: asks for YTE templating (__use_yte__), which evaluates Python expressions; "
            "this workflow never executes code from a config file"
        )
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ConfigFileError(f"config file {path}: top-level keys must be names, found {bad[0]!r}")
    return data
