"""Every rule runs workflow/scripts/job.py, whose bytes never change, and its job is found in neft.workflow.rules.

Why it matters: Snakemake reruns a ``script:`` rule's finished jobs whenever the script file is newer than their
outputs. With the rules' code in the package and one pinned script, reorganising ``src/`` reruns nothing a user has
computed (issue 25's "`snakemake -n` has nothing to do after the change").
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import re
from types import SimpleNamespace

import pytest

from neft.workflow import warmstart
from neft.workflow.rules import RULES, STAGES, run_job

from .conftest import REPO

JOB = REPO / "workflow/scripts/job.py"
#: the rules that draw: their jobs are in neft.workflow.rules.plots, whatever their stage
DRAWING = {r for r in RULES if r.startswith("plot_")} | {"worst_chips"}
#: the sha256 of workflow/scripts/job.py. Changing that file reruns every finished job of every user's results tree
#: (all trainings included): change it, and this digest, only for a reason worth that, and say so in the release notes.
JOB_SHA256 = "146f74491877e64ea1fc6e5ff33ca3833caf0fc38f1be2df4e3c8e0bd034d48b"


def _script_rules() -> dict[str, tuple[str, str]]:
    """rule -> (stage, script) for every rule with a ``script:`` in workflow/rules/*.smk."""
    found = {}
    for smk in sorted((REPO / "workflow/rules").glob("*.smk")):
        rule = None
        lines = smk.read_text().splitlines()
        for i, line in enumerate(lines):
            if m := re.match(r"(?:rule|checkpoint) (\w+):", line):
                rule = m.group(1)
            if line.strip() == "script:":
                found[rule] = (smk.stem, lines[i + 1].strip().strip('"'))
    return found


def test_job_script_bytes_are_pinned():
    digest = hashlib.sha256(JOB.read_bytes()).hexdigest()
    assert digest == JOB_SHA256, (
        f"{JOB.relative_to(REPO)} changed (sha256 {digest}): Snakemake would rerun every finished job of every "
        "results tree made before the change, trainings included. Put the change in src/neft/workflow/rules/ instead; "
        "if the script itself must change, update JOB_SHA256 and say in the release notes that finished runs rerun."
    )


def test_the_only_script_is_job_py():
    assert sorted(p.name for p in (REPO / "workflow/scripts").iterdir() if p.name != "__pycache__") == ["job.py"]


def test_every_script_rule_runs_job_py_and_has_its_job_in_its_stage():
    rules = _script_rules()
    assert len(rules) >= 40, rules  # the parse found the workflow's rules
    wrong_script = {r: s for r, (_, s) in rules.items() if s != "../scripts/job.py"}
    assert not wrong_script, f"rules with a script of their own (it would rerun their jobs when edited): {wrong_script}"
    assert set(RULES) == set(rules), (
        f"RULES lacks {sorted(set(rules) - set(RULES))}; has no rule for {sorted(set(RULES) - set(rules))}"
    )
    for rule, (stage, _) in rules.items():
        where = "plots" if rule in DRAWING else stage
        assert RULES[rule][0] == where, f"rule {rule} (of {stage}.smk) belongs in {where}.py, not {RULES[rule][0]}.py"
        module = importlib.import_module(f"neft.workflow.rules.{where}")
        assert callable(getattr(module, RULES[rule][1], None)), f"{module.__name__} has no job {RULES[rule][1]}"


def test_only_the_drawing_jobs_import_matplotlib():
    """A cold job start (every job under SLURM) imports one rule module: only plots.py may pull in matplotlib."""
    heavy = ("neft.report.plotting", "matplotlib", "seaborn")
    for path in sorted((REPO / "src/neft/workflow/rules").glob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
        imported = sorted(n for n in names if n.startswith(heavy))
        assert bool(imported) == (path.stem == "plots"), f"{path.name} imports {imported or 'no plotting'}"


def test_every_rule_module_is_used_and_preloaded():
    """No module in the package that no rule runs (dead code), and the warm server imports each one once."""
    modules = {f"neft.workflow.rules.{p.stem}" for p in (REPO / "src/neft/workflow/rules").glob("*.py")}
    assert modules - {"neft.workflow.rules.__init__"} == set(STAGES), "a rule module that no RULES entry names"
    assert set(STAGES) <= set(warmstart.PRELOAD)


def test_run_job_dispatches_on_the_rule_name(monkeypatch):
    seen = []
    from neft.workflow.rules import plots

    monkeypatch.setattr(plots, "plot_metric", lambda smk: seen.append(smk.rule))
    for rule in ("plot_uncertainty", "plot_confidence", "plot_variance"):
        run_job(SimpleNamespace(rule=rule))
    assert seen == ["plot_uncertainty", "plot_confidence", "plot_variance"]


def test_a_rule_without_a_job_is_named():
    with pytest.raises(LookupError, match=r"rule 'plot_everything' runs workflow/scripts/job.py but has no job"):
        run_job(SimpleNamespace(rule="plot_everything"))
