"""The jobs of the workflow's rules: one function per rule, given the job's ``snakemake`` object.

Rule ``R`` of ``workflow/rules/<stage>.smk`` runs ``neft.workflow.rules.<stage>.<function>``, and a rule that draws
(``plot_*``, ``worst_chips``) runs ``neft.workflow.rules.plots.<function>``, whatever its stage: only that module
imports matplotlib and seaborn, which add about half a second to a cold job start (every job under SLURM), so no
other job pays for them. ``RULES`` lists each rule's module and function, named like the rule or like the rules it
serves together (``plot_metric`` draws the uncertainty, confidence and variance figures). Each function reads its
paths and params from ``smk``, builds the typed settings and calls the layers below.

Why the code lives here and not in ``workflow/scripts/``: Snakemake reruns every finished job of a ``script:`` rule
whose script file is newer than the job's outputs (its ``code`` rerun trigger), whatever the edit. Rule scripts that
import from the package change whenever the package is reorganised, so a refactor that leaves every number as it was
would retrain every model of a finished run. Every rule therefore runs the one script ``workflow/scripts/job.py``,
whose bytes never change (``tests/test_rule_entry.py`` pins them): it calls :func:`run_job`, and a change anywhere in
``src/`` reruns nothing. What Snakemake tracks instead is what decides the numbers: each rule's inputs and params.
A change that alters what a job computes without changing those must say so in its release notes (force the rule:
``snakemake --forcerun <rule>``), as a change of ``src/`` always had to.

This module and the names ``run_job`` and ``neft.workflow.warmstart.delegate`` are the contract ``job.py`` relies on.
"""

from __future__ import annotations

import importlib

#: rule name -> (module in this package, job function): the rule's ``workflow/rules/<stage>.smk``, or ``plots``
RULES: dict[str, tuple[str, str]] = {
    "ablation_data": ("ablation", "ablation_data"),
    "plot_ablation": ("plots", "plot_ablation"),
    "tabulate_ablation": ("ablation", "tabulate_ablation"),
    "plot_convergence": ("plots", "plot_convergence"),
    "tabulate_convergence": ("convergence", "tabulate_convergence"),
    "crosscheck": ("crosscheck", "crosscheck"),
    "prepare_dataset": ("data", "prepare_dataset"),
    "device_card": ("devices", "device_card"),
    "fit_device": ("devices", "fit_device"),
    "plot_device_fits": ("plots", "plot_device_fits"),
    "aggregate_mc": ("evaluate", "aggregate_mc"),
    "evaluate_mc": ("evaluate", "evaluate_mc"),
    "accuracy_data": ("figures", "accuracy_data"),
    "plot_accuracy": ("plots", "plot_accuracy"),
    "plot_accuracy_panel": ("plots", "plot_accuracy"),
    "plot_confidence": ("plots", "plot_metric"),
    "plot_devices": ("plots", "plot_devices"),
    "plot_uncertainty": ("plots", "plot_metric"),
    "plot_variance": ("plots", "plot_metric"),
    "tabulate_accuracy": ("figures", "tabulate_accuracy"),
    "tabulate_devices": ("figures", "tabulate_devices"),
    "tabulate_metric": ("figures", "tabulate_metric"),
    "evaluate_nonideal": ("nonideal", "evaluate_nonideal"),
    "plot_drift": ("plots", "plot_study"),
    "plot_nonidealities": ("plots", "plot_study"),
    "probe_worst_case": ("nonideal", "probe_worst_case"),
    "tabulate_drift": ("nonideal", "tabulate_study"),
    "tabulate_nonidealities": ("nonideal", "tabulate_study"),
    "tabulate_probe": ("nonideal", "tabulate_probe"),
    "worst_chips": ("plots", "worst_chips"),
    "render_report": ("report", "render_report"),
    "summarize": ("report", "summarize"),
    "calibrate_rung_sigma": ("scale", "calibrate_rung_sigma"),
    "evaluate_rung": ("scale", "evaluate_rung"),
    "plot_ladder": ("plots", "plot_ladder"),
    "tabulate_ladder": ("scale", "tabulate_ladder"),
    "train_rung": ("scale", "train_rung"),
    "plot_scorecard": ("plots", "plot_scorecard"),
    "scorecard": ("scorecard", "scorecard"),
    "train": ("train", "train"),
}

#: the stage modules, for the warm server to import once (``neft.workflow.warmstart.PRELOAD``)
STAGES: tuple[str, ...] = tuple(sorted({f"{__name__}.{stage}" for stage, _ in RULES.values()}))


def run_job(smk) -> None:
    """Run the job of rule ``smk.rule``, importing only its stage module (a cold job start stays as cheap as before)."""
    try:
        stage, function = RULES[smk.rule]
    except KeyError:
        raise LookupError(
            f"rule {smk.rule!r} runs workflow/scripts/job.py but has no job in neft.workflow.rules.RULES: "
            "add its (stage, function) there"
        ) from None
    getattr(importlib.import_module(f"{__name__}.{stage}"), function)(smk)
