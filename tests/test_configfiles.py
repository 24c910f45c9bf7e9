"""Issue 12, class 7 for the files given with ``--configfile``: every problem names the file and what was expected,
both from ``neft.configfiles.load`` and through the Snakemake CLI (which reads these files before the Snakefile)."""

from __future__ import annotations

import pytest

from neft.configfiles import ConfigFileError, load

from .conftest import snakemake

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
        (b"", "found nothing"),
        (b"- a\n- b\n", "found a list"),
        (b"\xff\xfe", "not UTF-8 text"),
        (b"__use_yte__: true\n", "never executes code from a config file"),
    ],
    ids=["empty", "list", "not UTF-8", "YTE"],
)
def test_snakemake_names_the_config_file(tmp_path, raw, fragment):
    path = tmp_path / "extra.yaml"
    path.write_bytes(raw)
    proc = snakemake("reproduce_all", "-n", "--configfile", str(path), cwd=tmp_path, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"config file {path}: " in out and fragment in out, out[-2000:]
    assert "UnicodeDecodeError" not in out and "must be given as JSON or YAML" not in out
