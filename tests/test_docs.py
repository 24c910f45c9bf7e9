"""The documentation's commands work, and config/README.md documents every key of the config schema.

Every shell command in README.md, config/README.md and docs/*.md is found (fenced ``sh``/``bash``/``console``/
``shell`` blocks, unlabelled blocks of commands, inline code that is a whole command) and run in a way that proves it
works without running long jobs:

- Snakemake commands run as written plus ``-n --quiet rules`` (a dry run) in a scratch copy of the checkout (links to
  the repository's files, no results), after a check of how Snakemake's own parser reads them: a target written after
  ``--configfile`` (which takes several files) is read as a config file, so the docs put targets before it;
- Python tools and ``tools/*.sh`` run with ``--help``, and every ``--flag`` the docs show must be in that help, unless
  ``CHEAP`` gives a real cheap form;
- everything else (installs, the test suite itself, SLURM-only commands, ...) is in ``SKIP`` with the reason, and a
  command that is neither runnable nor in ``SKIP`` fails, so a new command in the docs cannot escape unchecked.

Placeholders (``<target>``, ``site.yaml``, ...) are replaced by ``SUBSTITUTE`` and ``FILES``.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import REPO

_spec = importlib.util.spec_from_file_location("config_reference", REPO / "tools/config_reference.py")
config_reference = importlib.util.module_from_spec(_spec)
sys.modules["config_reference"] = config_reference  # dataclasses look their module up by name
_spec.loader.exec_module(config_reference)

DOCS = [REPO / "README.md", REPO / "config/README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_LANGS = {"sh", "bash", "console", "shell", "shell-session"}
SNAKEMAKE = {"snakemake", ".venv/bin/snakemake"}
PYTHON = {"python", "python3", ".venv/bin/python", ".venv/bin/python3"}
# First words that make a line or an inline code span a command.
PROGRAMS = SNAKEMAKE | PYTHON | {
    "pip", "pip3", ".venv/bin/pip", "pytest", ".venv/bin/pytest", "bash", "sh", "sbatch", "scancel", "scontrol",
    "squeue", "sacct", "srun", "test", "wait", "cd", "git", "conda", "mamba", "apt-get", "tmux", "screen",
}  # fmt: skip
SCRIPT = re.compile(r"(\./)?tools/[\w.-]+\.(sh|py)")
ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=\S*")

# Commands not run here, each with the reason (the exact text as the docs show it, whitespace normalised).
SKIP = {
    "test -d .venv || python3.11 -m venv .venv": "creates the virtual environment these tests run in",
    ".venv/bin/pip install --no-deps -r requirements/lock.txt -e .": "installs the locked packages (network)",
    ".venv/bin/pip install -r requirements/torch.txt": (
        "installs torch with its dependencies (network; from PyPI the CUDA build, several GB)"
    ),
    ".venv/bin/pip install -r requirements/torch.txt --index-url https://download.pytorch.org/whl/cpu": (
        "installs torch from PyTorch's CPU index (network; that index cannot be reached from here)"
    ),
    ".venv/bin/pip freeze --exclude-editable | grep -viE '^(torch|triton|nvidia-|cuda-)' > requirements/lock.txt": (
        "rewrites the lock file"
    ),
    "pip install -e '.[slurm]'": "installs the SLURM plugin (network; the lock file already has it)",
    ".venv/bin/python -m pytest": "the test suite itself (about 17 minutes)",
    ".venv/bin/python -m pytest tests/test_docs.py": "this test file itself",
    "NEFT_SYSTEM_TESTS=1 .venv/bin/python -m pytest": "the test suite itself, with the system tests (as CI runs it)",
    "NEFT_SYSTEM_TESTS=1 .venv/bin/python -m pytest -m system": (
        "the system tests (tests/test_slurm.py: installs SLURM with apt-get and starts its daemons)"
    ),
    ".venv/bin/snakemake --report reports/report.zip": (
        "needs a finished run; tests/test_workflow.py::test_report_builds builds the report after the test scale"
    ),
    "sbatch -A": "an sbatch flag the SLURM plugin passes, not a command to run (tests/test_slurm.py)",
    "sbatch -p": "an sbatch flag the SLURM plugin passes, not a command to run (tests/test_slurm.py)",
    "sbatch -t": "an sbatch flag the SLURM plugin passes, not a command to run (tests/test_slurm.py)",
    "sbatch --mem": "an sbatch flag the SLURM plugin passes, not a command to run (tests/test_slurm.py)",
    "scancel --name <SLURM run ID>": "needs a SLURM cluster and a run's ID",
    "scontrol show config | grep MinJobAge": "needs a SLURM controller (tests/test_slurm.py starts one)",
    "wait": "shell built-in: waits for the background instances of the same block, each dry-run here",
}
# Doc command -> the arguments that replace ``--help`` (a real run that is cheap); "" = exactly as written.
CHEAP = {
    ".venv/bin/python tools/make_synthetic_datasets.py resources/synthetic": "",  # 3 s, into the scratch checkout
    ".venv/bin/python tools/config_reference.py": "--check",  # as written it rewrites config/README.md
    # docs/install.md's check of the installed torch (2 s)
    '.venv/bin/python -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())"': "",
}
# Placeholders in commands -> what the test writes instead.
SUBSTITUTE = {"<target>": "figure_accuracy", "<rule>": "tabulate_accuracy"}
# Files that commands name but the repository does not ship -> their content (written into the scratch checkout).
FILES = {
    "site.yaml": None,  # the site.yaml that docs/cluster.md shows (its yaml block)
    "gpu0.yaml": "experiments:\n  pairs: [{model: vgg8, dataset: mnist}, {model: vgg8, dataset: cifar10}]\n",
    "gpu1.yaml": "experiments:\n  pairs: [{model: resnet18, dataset: mnist}, {model: resnet18, dataset: cifar10}]\n",
}
# Not linked into the scratch checkout: outputs (a dry run there sees none) and what commands write.
UNLINKED = {".git", ".snakemake", "results", "reports", "logs", "benchmarks", "data", "resources", ".pytest_cache"}
UNLINKED_RESOURCES = {"synthetic"}


# -- extraction ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    doc: str  # path relative to the repository
    line: int
    text: str  # whitespace normalised

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}:{self.text[:60]}"


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # of the opening fence
    lang: str
    body: tuple[str, ...]
    body_line: int  # line number of body[0]


FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")


def blocks_and_prose(path: Path) -> tuple[list[Block], str]:
    """Fenced blocks, and the text with every block and HTML comment blanked (line numbers kept)."""
    lines = path.read_text().split("\n")
    doc = str(path.relative_to(REPO))
    blocks, prose, i = [], list(lines), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        j = i + 1
        while j < len(lines) and not re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]):
            j += 1
        body = tuple(line[indent:] if line[:indent].strip() == "" else line.lstrip() for line in lines[i + 1 : j])
        blocks.append(Block(doc, i + 1, m["info"].lower(), body, i + 2))
        for k in range(i, min(j + 1, len(lines))):
            prose[k] = ""
        i = j + 1
    text = "\n".join(prose)
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m[0].count("\n"), text, flags=re.S)
    return blocks, text


def first_word(words: list[str]) -> str | None:
    words = [w for w in words if not ENV.fullmatch(w)] if words and ENV.fullmatch(words[0]) else words
    return words[0] if words else None


def is_command_line(line: str) -> bool:
    word = first_word(line.split())
    return word is not None and (word in PROGRAMS or bool(SCRIPT.fullmatch(word)))


def is_inline_command(span: str) -> bool:
    """A whole command: a program with arguments, or a tools/ shell script."""
    words = span.split()
    word = first_word(words)
    if word is None:
        return False
    if re.fullmatch(r"(\./)?tools/[\w.-]+\.sh", word):
        return True
    return word in PROGRAMS and len(words) > 1


def shell_lines(block: Block) -> list[tuple[int, str]]:
    """(line number, command) of a shell block: comments and output dropped, continuations joined."""
    out, pending, start = [], "", 0
    console = block.lang in {"console", "shell-session"}
    for k, raw in enumerate(block.body):
        line = raw.rstrip()
        if not pending:
            if console:
                if not line.lstrip().startswith("$ "):
                    continue
                line = line.lstrip()[2:]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = block.body_line + k
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append((start, " ".join((pending + line).split())))
        pending = ""
    return out


def is_shell(block: Block) -> bool:
    if block.lang in SHELL_LANGS:
        return True
    if block.lang:
        return False
    lines = [line for line in block.body if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and all(is_command_line(line) for line in lines)


def ambiguous_blocks() -> list[Block]:
    """Unlabelled blocks where some lines but not all look like commands: label them (sh, or text)."""
    out = []
    for path in DOCS:
        for block in blocks_and_prose(path)[0]:
            lines = [line for line in block.body if line.strip() and not line.lstrip().startswith("#")]
            if not block.lang and any(is_command_line(x) for x in lines) and not all(map(is_command_line, lines)):
                out.append(block)
    return out


def doc_commands() -> list[Command]:
    out = []
    for path in DOCS:
        doc = str(path.relative_to(REPO))
        blocks, prose = blocks_and_prose(path)
        for block in blocks:
            if is_shell(block):
                out += [Command(doc, n, text) for n, text in shell_lines(block)]
        for m in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", prose, flags=re.S):
            span = m[2]
            if "\n\n" in span:
                continue
            text = " ".join(span.split())
            if is_inline_command(text):
                out.append(Command(doc, prose.count("\n", 0, m.start()) + 1, text))
    return out


COMMANDS = doc_commands()


def python_blocks() -> list[Block]:
    return [b for path in DOCS for b in blocks_and_prose(path)[0] if b.lang in {"python", "py"}]


# -- the scratch checkout and running ------------------------------------------------------------------------------
def cluster_site_yaml() -> str:
    """The yaml block that docs/cluster.md shows for site.yaml."""
    blocks, _ = blocks_and_prose(REPO / "docs/cluster.md")
    text = (REPO / "docs/cluster.md").read_text().split("\n")
    for block in blocks:
        before = "\n".join(text[max(0, block.line - 4) : block.line])
        if block.lang == "yaml" and "site.yaml" in before:
            return "\n".join(block.body) + "\n"
    raise AssertionError("docs/cluster.md no longer shows a site.yaml block; update FILES in tests/test_docs.py")


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    """The repository's files linked into a scratch folder: what a fresh clone sees, without touching the real one."""
    root = tmp_path_factory.mktemp("checkout")
    for entry in REPO.iterdir():
        if entry.name not in UNLINKED:
            (root / entry.name).symlink_to(entry)
    (root / "resources").mkdir()
    for entry in (REPO / "resources").iterdir():
        if entry.name not in UNLINKED_RESOURCES:
            (root / "resources" / entry.name).symlink_to(entry)
    for name, content in FILES.items():
        (root / name).write_text(cluster_site_yaml() if content is None else content)
    return root


def split(text: str) -> tuple[dict[str, str], list[str], bool]:
    """(environment assignments, argv, background) of one shell command."""
    words = shlex.split(text)
    background = bool(words) and words[-1] == "&"
    if background:
        words = words[:-1]
    env = {}
    while words and ENV.fullmatch(words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return env, words, background


def substitute(words: list[str]) -> list[str]:
    out = []
    for w in words:
        for old, new in SUBSTITUTE.items():
            w = w.replace(old, new)
        out.append(w)
    left = [w for w in out if re.search(r"<[^>]+>", w)]
    assert not left, f"placeholder(s) {left} have no substitution: add them to SUBSTITUTE in tests/test_docs.py"
    return out


@functools.cache
def run(argv: tuple[str, ...], env: tuple[tuple[str, str], ...], cwd: str, timeout: float = 300):
    proc = subprocess.run(
        list(argv), cwd=cwd, env={**os.environ, **dict(env)}, capture_output=True, text=True, timeout=timeout
    )
    return proc.returncode, proc.stdout + proc.stderr


def _rules(*files: Path) -> frozenset[str]:
    return frozenset(m[1] for f in files for m in re.finditer(r"^rule (\w+)\s*:", f.read_text(), flags=re.M))


@functools.cache
def rule_names() -> frozenset[str]:
    return _rules(REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk")))


@functools.cache
def target_rules() -> frozenset[str]:
    """The Snakefile's own rules: targets that only collect files (reproduce_all, figure_*, table_*, ...)."""
    return _rules(REPO / "Snakefile")


@functools.cache
def snakemake_parser():
    from snakemake.cli import get_argument_parser

    return get_argument_parser()


def check_snakemake_arguments(args: list[str]) -> None:
    """How Snakemake's parser reads the command: every value lands where the docs mean it to."""
    try:
        ns = snakemake_parser().parse_args(args)
    except SystemExit as e:
        raise AssertionError(f"Snakemake's parser rejects the arguments (exit {e.code})") from None
    except Exception as e:  # noqa: BLE001  (a value Snakemake's own parsers reject)
        raise AssertionError(f"Snakemake's parser rejects the arguments: {e!r}") from None
    rules = rule_names()
    problems = []
    for f in ns.configfile or []:
        if Path(f).suffix not in {".yaml", ".yml", ".json"}:
            problems.append(f"{str(f)!r} is read as a config file (--configfile takes several): put targets first")
    for dest in ("until", "omit_from", "forcerun", "allowed_rules"):
        for r in getattr(ns, dest, None) or []:
            if r not in rules:
                problems.append(f"{r!r} is read as a rule of --{dest.replace('_', '-')} but is no rule")
            elif dest in ("until", "omit_from") and r in target_rules():
                problems.append(
                    f"target {r!r} is read as a value of --{dest.replace('_', '-')}: put targets before options that "
                    "take several values"
                )
    for dest in ("config", "set_resources", "set_threads", "set_scatter", "set_resource_scopes", "default_resources"):
        for v in getattr(ns, dest, None) or []:
            if "=" not in v:
                problems.append(f"{v!r} is read as a value of --{dest.replace('_', '-')} (KEY=VALUE expected)")
    for t in ns.targets or []:
        if t not in rules and "/" not in t and "." not in t:
            problems.append(f"target {t!r} is no rule of the workflow")
    assert not problems, "; ".join(problems)


def program(words: list[str]) -> list[str]:
    """The program part of a command (interpreter and script or module), as argv."""
    if words[0] in PYTHON:
        return [sys.executable, *words[1:3]] if words[1] == "-m" else [sys.executable, words[1]]
    if words[0] == "bash":
        return ["bash", words[1]]
    return [words[0]]  # tools/*.sh as written (its executable bit matters)


def help_text(words: list[str], checkout: Path) -> str:
    base = program(words)
    rc, out = run((*base, "--help"), (), str(checkout))
    assert rc == 0, f"{' '.join(base)} --help failed ({rc}):\n{out[-3000:]}"
    return out


DRY_RUNS: dict = {}


def dry_run_key(args: list[str]) -> tuple[str, ...]:
    """The arguments without those that cannot change a dry run (how many cores, whether to lock)."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in {"--cores", "-c", "--jobs", "-j"}:
            skip = True
        elif a != "--nolock" and not a.startswith(("--cores=", "--jobs=")):
            out.append(a)
    return tuple(out)


def command_params() -> list:
    """One test per command found; Snakemake dry runs are marked workflow and slow, the Python tools slow."""
    out = []
    for c in COMMANDS:
        words = [] if c.text in SKIP else split(c.text)[1]
        if words and words[0] in SNAKEMAKE:
            marks = [pytest.mark.workflow, pytest.mark.slow]
        elif words:
            marks = [pytest.mark.slow]  # --help of a tool that imports torch takes seconds
        else:
            marks = []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


# -- the tests ------------------------------------------------------------------------------------------------------
def test_the_docs_have_commands():
    """The extraction finds what it should (a guard against a parser that silently finds nothing)."""
    texts = {c.text for c in COMMANDS}
    assert ".venv/bin/snakemake --cores all reproduce_all" in texts
    assert "tools/gpu_acceptance.sh --cpu" in texts  # an inline span broken over two lines
    assert any(c.doc == "docs/cluster.md" and c.text.startswith("CUDA_VISIBLE_DEVICES=0 ") for c in COMMANDS)


def test_unlabelled_blocks_are_either_commands_or_not():
    bad = [f"{b.doc}:{b.line}" for b in ambiguous_blocks()]
    assert not bad, f"unlabelled code blocks that mix commands and other lines (label them sh or text): {bad}"


def test_skip_and_cheap_tables_name_commands_that_exist():
    texts = {c.text for c in COMMANDS}
    stale = sorted(set(SKIP) - texts) + sorted(set(CHEAP) - texts)
    assert not stale, f"no doc shows these any more; remove them from tests/test_docs.py: {stale}"


@pytest.mark.parametrize("cmd", command_params())
def test_doc_command_works(cmd: Command, checkout: Path):
    if cmd.text in SKIP:
        pytest.skip(f"{SKIP[cmd.text]}: {cmd.text}")
    where = f"{cmd.doc}, line {cmd.line}: {cmd.text}"
    env, words, _ = split(cmd.text)
    assert words, where
    if words[0] in SNAKEMAKE:
        args = substitute(words[1:])
        try:
            check_snakemake_arguments(args)
        except AssertionError as e:
            raise AssertionError(f"{where}: {e}") from None
        extra = () if "--unlock" in args else ("-n", "--quiet", "rules")
        key = (dry_run_key(args), tuple(sorted(env.items())), extra)
        if key not in DRY_RUNS:  # the same dry run but for --cores or --nolock: run once
            DRY_RUNS[key] = run((sys.executable, "-m", "snakemake", *args, *extra), key[1], str(checkout))
        rc, out = DRY_RUNS[key]
        assert rc == 0, f"{where}\nfailed ({rc}) as {' '.join(args + list(extra))}:\n{out[-4000:]}"
        if extra:
            assert "This was a dry-run" in out or "Nothing to be done" in out, f"{where}\n{out[-2000:]}"
        return
    runnable = (
        (words[0] in PYTHON and len(words) > 1)
        or SCRIPT.fullmatch(words[0])
        or (words[0] == "bash" and len(words) > 1 and SCRIPT.fullmatch(words[1]))
    )
    if not runnable:
        pytest.fail(f"{where}: neither runnable by this test nor in its SKIP table (add it there, with the reason)")
    if words[0] in PYTHON and words[1] == "-m" and words[2] == "pytest":
        pytest.fail(f"{where}: a pytest command; add it to SKIP")
    if cmd.text in CHEAP:
        base = program(words)
        argv = [*base, *(shlex.split(CHEAP[cmd.text]) if CHEAP[cmd.text] else words[len(base) :])]
        rc, out = run(tuple(argv), tuple(sorted(env.items())), str(checkout))
        assert rc == 0, f"{where}\nfailed ({rc}) as {' '.join(argv)}:\n{out[-4000:]}"
        return
    out = help_text(words, checkout)
    flags = [w.split("=", 1)[0] for w in words if w.startswith("--")]
    missing = [f for f in flags if f not in out]
    assert not missing, f"{where}: {missing} not in its --help:\n{out[-3000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("block", python_blocks(), ids=[f"{b.doc}:{b.line}" for b in python_blocks()])
def test_python_example_runs(block: Block, checkout: Path):
    rc, out = run((sys.executable, "-c", "\n".join(block.body)), (), str(checkout))
    assert rc == 0, f"{block.doc}, the python block at line {block.line}, fails:\n{out[-3000:]}"


@pytest.mark.parametrize(
    "doc,heading", [("README.md", "## What `reproduce_all` builds"), ("docs/running.md", "## Every target")]
)
def test_documented_targets_are_rules(doc, heading):
    text = (REPO / doc).read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    named = [
        t for row in section.splitlines() if row.startswith("| `") for t in re.findall(r"`(\w+)`", row.split("|")[1])
    ]
    assert len(named) >= 10, named
    missing = sorted(set(named) - rule_names())
    assert not missing, f"{doc} names targets that are no rules: {missing}"


# -- the config key reference ----------------------------------------------------------------------------------------
SCHEMA = config_reference.load_schema()
CONFIG_README = (REPO / "config/README.md").read_text()


def reference() -> str:
    return config_reference.region(CONFIG_README)


def test_key_reference_is_up_to_date():
    assert reference() == config_reference.render(SCHEMA), (
        "config/README.md's key reference differs from the schema: run python tools/config_reference.py"
    )


def row_of(path: str) -> str:
    rows = [line for line in reference().splitlines() if line.startswith(f"| `{path}` |")]
    assert len(rows) == 1, f"config/README.md has {len(rows)} rows for `{path}`; run python tools/config_reference.py"
    return rows[0]


@pytest.mark.parametrize("path", config_reference.keys(SCHEMA))
def test_every_key_is_documented(path):
    key = next(k for k in config_reference.walk(SCHEMA) if k.path == path)
    assert config_reference.description(key, SCHEMA).strip(), (
        f"{path} has no description: add one to workflow/schemas/config.schema.yaml, "
        "then run python tools/config_reference.py"
    )
    row_of(path)


def property_names(node) -> set[str]:
    """Every name under any ``properties`` of the schema, found without the generator's walk."""
    out = set()
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            out.add(name)
            out |= property_names(sub)
        for k, v in node.items():
            if k != "properties":
                out |= property_names(v)
    elif isinstance(node, list):
        for v in node:
            out |= property_names(v)
    return out


def test_every_property_appears_in_a_key_path():
    documented = {part for k in config_reference.keys(SCHEMA) for part in re.split(r"\.|\[\]", k)}
    missing = sorted(property_names(SCHEMA) - documented)
    assert not missing, f"schema properties with no row in config/README.md: {missing}"


def own_enums(node, root) -> list:
    """Enum values of a key's own schema (its items, alternatives and key names; not its properties)."""
    node = config_reference.resolve(node, root)
    if not isinstance(node, dict):
        return []
    out = list(node.get("enum", []))
    for k in ("items", "propertyNames", "not", "if", "then", "else"):
        out += own_enums(node.get(k), root)
    for k in ("oneOf", "anyOf", "allOf"):
        for alt in node.get(k, []):
            out += own_enums(alt, root)
    return out


def test_every_enum_value_is_in_its_keys_row():
    missing = []
    for key in config_reference.walk(SCHEMA):
        row = row_of(key.path)
        missing += [
            f"{key.path}: {v!r}" for v in own_enums(key.raw, SCHEMA) if f"`{config_reference.value(v)}`" not in row
        ]
    assert not missing, f"allowed values missing from config/README.md: {missing}"
    assert "`ablation`" in row_of("methods.<name>.train_at")


def test_method_parameters_are_documented():
    from neft.core.methods import METHODS

    section = CONFIG_README.split("## Method parameters", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("| `")]
    documented = {(kind, row[1].strip("`")) for row in rows for kind in re.findall(r"`(\w+)`", row[0])}
    missing = [
        f"{kind}.{p}" for kind, cls in METHODS.items() for p in cls.parameter_names() if (kind, p) not in documented
    ]
    assert not missing, f"method parameters missing from config/README.md's Method parameters table: {missing}"


def test_config_reference_rewrites_only_its_region():
    """A stale region is replaced by a fresh one; the hand-written text around it stays (on a copy)."""
    stale = CONFIG_README.replace("| `mc.chips` |", "| `mc.chipz` |")
    assert stale != CONFIG_README
    fresh = config_reference.update(stale, SCHEMA)
    assert config_reference.region(fresh) == config_reference.render(SCHEMA)
    begin, end = config_reference.BEGIN, config_reference.END
    assert fresh.split(begin)[0] == CONFIG_README.split(begin)[0]
    assert fresh.split(end)[1] == CONFIG_README.split(end)[1]
