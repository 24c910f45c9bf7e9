"""Reading a config file a user gives with ``--configfile``: every problem names the file and what was expected.

Snakemake reads these files itself, before the Snakefile (and so ``neft.config``) runs. Its reader says "Config file
must be given as JSON or YAML with keys at top level." for an empty file or a YAML list without naming the file,
lets a ``UnicodeDecodeError`` through for non-UTF-8 bytes, and evaluates YTE templates (Python expressions) in a
file that sets ``__use_yte__: true``. :func:`install_into_snakemake` puts :func:`load` in its place; it is called
when Snakemake imports this project's logger plugin (``snakemake_logger_plugin_neft``), which Snakemake does for
every command before it reads any config file - the one hook it offers that early. Without the plugin installed,
Snakemake's own reader and messages apply.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from neft.checks import read_text


class ConfigFileError(ValueError):
    """A config file cannot be read as a mapping of config keys."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """``safe_load`` that refuses a key given twice in one mapping (YAML would keep the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice in one mapping (first at line {seen[key] + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


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
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
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
    if "__use_yte__" in data:
        raise ConfigFileError(
            f"config file {path}: asks for YTE templating (__use_yte__), which evaluates Python expressions; "
            "this workflow never executes code from a config file"
        )
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ConfigFileError(f"config file {path}: top-level keys must be names, found {bad[0]!r}")
    return data


def install_into_snakemake() -> bool:
    """Make Snakemake read config files with :func:`load` (errors as its ``WorkflowError``); False if this
    Snakemake has no such reader to replace (then nothing changes)."""
    try:
        import snakemake.common.configfile as configfile
        from snakemake_interface_common.exceptions import WorkflowError
    except ImportError:
        return False
    if getattr(configfile.load_configfile, "neft", False):
        return True

    def load_configfile(configpath):
        if not isinstance(configpath, (str, Path)):
            return original(configpath)  # a stream or storage object: Snakemake's own reader
        try:
            return load(configpath)
        except ConfigFileError as err:
            raise WorkflowError(str(err)) from None

    original = configfile.load_configfile
    load_configfile.neft = True
    configfile.load_configfile = load_configfile
    try:  # the settings module imported the function by name before this ran
        import snakemake.settings.types as settings_types

        if hasattr(settings_types, "load_configfile"):
            settings_types.load_configfile = load_configfile
    except ImportError:
        pass
    return True
