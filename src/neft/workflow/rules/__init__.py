"""The jobs of the workflow's rules: one function per rule, given the job's ``snakemake`` object.

Rule ``R`` of ``workflow/rules/<stage>.smk`` runs ``neft.workflow.rules.<stage>.<function>``, listed in ``RULES``
(the function is named like the rule, or like the rules it serves together: ``plot_metric`` draws the uncertainty,
confidence and variance figures). Each function reads its paths and params from ``smk``, builds the typed settings
and calls the layers below.

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

#: rule name -> (stage module in this package, job function); the stage is the rule's ``workflow/rules/<stage>.smk``
RULES: dict[str, tuple[str, str]] = {
    "ablation_data": ("ablation", "ablation_data"),
    "plot_ablation": ("ablation", "plot_ablation"),
    "tabulate_ablation": ("ablation", "tabulate_ablation"),
    "plot_convergence": ("convergence", "plot_convergence"),
    "tabulate_convergence": ("convergence", "tabulate_convergence"),
    "crosscheck": ("crosscheck", "crosscheck"),
    "prepare_dataset": ("data", "prepare_dataset"),
    "device_card": ("devices", "device_card"),
    "fit_device": ("devices", "fit_device"),
    "plot_device_fits": ("devices", "plot_device_fits"),
    "aggregate_mc": ("evaluate", "aggregate_mc"),
    "evaluate_mc": ("evaluate", "evaluate_mc"),
    "accuracy_data": ("figures", "accuracy_data"),
    "plot_accuracy": ("figures", "plot_accuracy"),
    "plot_accuracy_panel": ("figures", "plot_accuracy"),
    "plot_confidence": ("figures", "plot_metric"),
    "plot_devices": ("figures", "plot_devices"),
    "plot_uncertainty": ("figures", "plot_metric"),
    "plot_variance": ("figures", "plot_metric"),
    "tabulate_accuracy": ("figures", "tabulate_accuracy"),
    "tabulate_devices": ("figures", "tabulate_devices"),
    "tabulate_metric": ("figures", "tabulate_metric"),
    "evaluate_nonideal": ("nonideal", "evaluate_nonideal"),
    "plot_drift": ("nonideal", "plot_study"),
    "plot_nonidealities": ("nonideal", "plot_study"),
    "probe_worst_case": ("nonideal", "probe_worst_case"),
    "tabulate_drift": ("nonideal", "tabulate_study"),
    "tabulate_nonidealities": ("nonideal", "tabulate_study"),
    "tabulate_probe": ("nonideal", "tabulate_probe"),
    "worst_chips": ("nonideal", "worst_chips"),
    "render_report": ("report", "render_report"),
    "summarize": ("report", "summarize"),
    "calibrate_rung_sigma": ("scale", "calibrate_rung_sigma"),
    "evaluate_rung": ("scale", "evaluate_rung"),
    "plot_ladder": ("scale", "plot_ladder"),
    "tabulate_ladder": ("scale", "tabulate_ladder"),
    "train_rung": ("scale", "train_rung"),
    "plot_scorecard": ("scorecard", "plot_scorecard"),
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
