"""The files given with ``--configfile``: ``neft.experiment.configfiles.load`` names the file and what was expected;
through the Snakemake CLI (which reads these files itself, before the Snakefile) the Snakefile reads them again and
refuses what Snakemake's reader lets through, and nothing of Snakemake is patched."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import pytest

from neft.experiment.configfiles import ConfigFileError, load

from .conftest import REPO, snakemake

BAD_FILES = [
    ("empty", b"", "found nothing (the file is empty or only comments)"),
    ("only comments", b"# nothing here\n", "found nothing"),
    ("a YAML list", b"- training\n- mc\n", "expected a mapping of config keys at the top level"),
    ("a scalar", b"42\n", "found a single int value (42)"),
    ("not UTF-8", b"\xff\xfe training: 1\n", "not UTF-8 text (byte 0xff at offset 0)"),
    ("latin-1 text", "training: {label: 'caf\xe9'}\n".encode("latin-1"), "not UTF-8 text"),
    ("broken YAML", b"training: {epochs: [2\n", "not valid YAML or JSON at line 2"),
    ("broken JSON", b'{"training": }', "not valid YAML or JSON"),
    ("a key given twice", b"training: {epochs: 2}\ntraining: {epochs: 3}\n", "key 'training' appears twice"),
    ("a nested key given twice", b"mc:\n  chips: 3\n  chips: 4\n", "key 'chips' appears twice"),
    ("YTE templating", b"__use_yte__: true\ntraining: {epochs: 2}\n", "evaluates Python expressions"),
    ("a Python object tag", b"training: !!python/object/apply:os.system ['true']\n", "not valid YAML or JSON"),
]


def _bomb(levels: int, width: int = 9, mapping: bool = False) -> bytes:
    """An "alias bomb": each level lists ``width`` aliases of the one before, so a few hundred bytes expand to
    ``width ** levels`` values."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        if mapping:
            body = ", ".join(f"k{j}: *a{i - 1}" for j in range(width))
            lines.append(f"a{i}: &a{i} {{{body}}}")
        else:
            lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return ("\n".join(lines) + "\n").encode()


def _deep_block(depth: int) -> bytes:
    return ("a:\n" + "".join("  " * i + "k:\n" for i in range(depth)) + "  " * depth + "1\n").encode()


#: Issue 26, classes 5 and 7: files whose shape would hang or crash every walk of the config
HOSTILE_FILES = [
    ("the filed alias bomb", _bomb(9), "refused at line 1: expands to more than 100000 values"),
    ("an alias bomb of mappings", _bomb(8, mapping=True), "expands to more than 100000 values"),
    ("a wide alias bomb", _bomb(4, width=40), "expands to more than 100000 values"),
    (
        "an alias bomb in free-form method params",
        b"methods:\n  x:\n    kind: plain\n    params:\n"
        + b"".join(b"      " + line + b"\n" for line in _bomb(9).splitlines()),
        "expands to more than 100000 values",
    ),
    (
        "an alias inside its own list",
        b"sigmas: &s [0, *s]\n",
        "an alias refers to the list or mapping that contains it",
    ),
    ("flow lists 600 deep", b"a: " + b"[" * 600 + b"]" * 600 + b"\n", "refused at line 1: nested deeper than 100"),
    ("block mappings 600 deep", _deep_block(600), "refused at line 101: nested deeper than 100 levels"),
    ("block mappings 101 deep", _deep_block(101), "nested deeper than 100 levels"),
    ("JSON 600 deep", b'{"a": ' + b"[" * 600 + b"]" * 600 + b"}", "refused: nested deeper than 100 levels"),
    ("JSON 100000 deep", b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}", "nested deeper than Python can read"),
]


@pytest.mark.parametrize("raw,fragment", [c[1:] for c in HOSTILE_FILES], ids=[c[0] for c in HOSTILE_FILES])
def test_a_hostile_shape_is_refused_naming_the_file(tmp_path, raw, fragment):
    path = tmp_path / "site.yaml"
    path.write_bytes(raw)
    with pytest.raises(ConfigFileError) as err:
        load(path)
    assert str(err.value).startswith(f"config file {path}: ") and fragment in str(err.value), str(err.value)


def test_the_deepest_nesting_allowed_still_reads(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_bytes(_deep_block(99))
    assert "a" in load(path)


def test_an_alias_bomb_given_as_a_dict_is_refused_before_any_walk():
    """The Python API's path: validate_config on a dict (shared lists, as YAML aliases build them) refuses it
    before the NaN walk and the schema (which took 110 s on the filed bomb). The subprocess's timeout guards a hang;
    it is not a timing claim."""
    code = (
        "import yaml\n"
        "from neft.experiment.config import ConfigError, validate_config\n"
        f"cfg = yaml.safe_load({_bomb(9).decode()!r})\n"
        "try:\n"
        f"    validate_config(cfg, {str(REPO / 'workflow/schemas/config.schema.yaml')!r})\n"
        "except ConfigError as err:\n"
        "    print(err)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "invalid config: expands to more than 100000 values" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("raw,fragment", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_a_bad_config_file_is_named_with_what_was_expected(tmp_path, raw, fragment):
    path = tmp_path / "site.yaml"
    path.write_bytes(raw)
    with pytest.raises(ConfigFileError) as err:
        load(path)
    assert str(err.value).startswith(f"config file {path}: ") and fragment in str(err.value), str(err.value)


def test_missing_and_directory(tmp_path):
    with pytest.raises(ConfigFileError, match="not found"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(ConfigFileError, match="is a directory"):
        load(tmp_path)


def test_good_files_read_as_before(tmp_path):
    (tmp_path / "a.yaml").write_text("training: {epochs: 2}\nsigmas: [0, 0.1]\n")
    (tmp_path / "b.json").write_text('{"training": {"epochs": 2}}')
    assert load(tmp_path / "a.yaml") == {"training": {"epochs": 2}, "sigmas": [0, 0.1]}
    assert load(tmp_path / "b.json") == {"training": {"epochs": 2}}


@pytest.mark.workflow
@pytest.mark.parametrize(
    "raw,fragment",
    [
        (b"training: {epochs: 2}\ntraining: {epochs: 3}\n", "key 'training' appears twice"),
        (b"mc:\n  chips: 3\n  chips: 4\n", "key 'chips' appears twice"),
        (b"__use_yte__: true\ntraining: {epochs: 2}\n", "never executes code from a config file"),
        (_bomb(9), "expands to more than 100000 values"),
        (_deep_block(300), "nested deeper than 100 levels"),
    ],
    ids=["duplicate key", "nested duplicate key", "YTE", "alias bomb", "300 deep"],
)
def test_the_snakefile_refuses_what_snakemakes_reader_lets_through(tmp_path, raw, fragment):
    """Snakemake reads --configfile files itself; the Snakefile reads them again (neft.experiment.configfiles.load) and
    refuses, naming the file, what Snakemake's reader accepts silently."""
    path = tmp_path / "extra.yaml"
    path.write_bytes(raw)
    proc = snakemake("reproduce_all", "-n", "--configfile", str(path), cwd=tmp_path, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"config file {path}: " in out and fragment in out, out[-2000:]
    assert not (tmp_path / "results").exists()


@pytest.mark.workflow
@pytest.mark.parametrize(
    "raw", [b"", b"- a\n- b\n", b"\xff\xfe", b"a: [1,\n"], ids=["empty", "list", "not UTF-8", "broken"]
)
def test_what_snakemakes_reader_refuses_stops_before_any_job(tmp_path, raw):
    """Snakemake's own message stands for these (nothing of Snakemake is replaced); no job runs."""
    path = tmp_path / "extra.yaml"
    path.write_bytes(raw)
    proc = snakemake("reproduce_all", "-n", "--configfile", str(path), cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "Job stats" not in proc.stdout + proc.stderr and not (tmp_path / "results").exists()


def test_importing_the_logger_plugin_changes_nothing_in_snakemake():
    """Snakemake imports every installed logger plugin for every command: ours must not patch Snakemake."""
    import snakemake.common.configfile as configfile
    import snakemake.settings.types as settings_types

    before = (configfile.load_configfile, getattr(settings_types, "load_configfile", None))
    importlib.reload(importlib.import_module("snakemake_logger_plugin_neft"))
    after = (configfile.load_configfile, getattr(settings_types, "load_configfile", None))
    assert after == before and configfile.load_configfile.__module__ == "snakemake.common.configfile"


def test_no_module_assigns_into_snakemake():
    """No module of this package replaces a Snakemake attribute (``snakemake.x.y = ...`` or ``module.attr = ...``
    on an imported Snakemake module)."""
    offenders = []
    for path in sorted((REPO / "src").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {
            a.asname or a.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for a in node.names
            if (a.name.startswith("snakemake") or (getattr(node, "module", None) or "").startswith("snakemake"))
        }
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for t in targets:
                if isinstance(t, ast.Attribute):
                    root = t
                    while isinstance(root, ast.Attribute):
                        root = root.value
                    if isinstance(root, ast.Name) and (root.id in aliases or root.id == "snakemake"):
                        offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, offenders
