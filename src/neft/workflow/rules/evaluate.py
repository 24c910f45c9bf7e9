"""The jobs of workflow/rules/evaluate.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.analysis.results import aggregate, write_csv
from neft.experiment.tablecheck import record_digests
from neft.jobs.runs import job_log, mc_rule, run_keys


def aggregate_mc(smk) -> None:
    """Rule aggregate_mc -> neft.analysis.results.aggregate."""
    log = job_log(smk.log[0])
    chips, summary = aggregate(list(smk.input.chips), list(smk.input.stats), smk.params.expect, log=log)
    write_csv(chips, smk.output.chips)
    write_csv(summary, smk.output.summary)
    record_digests(smk.output)  # mc_chips.csv.sha256, mc_summary.csv.sha256: what their readers check
    log(f"{len(chips)} chip rows, {len(summary)} experiments x test sigmas")


def evaluate_mc(smk) -> None:
    """Rule evaluate_mc -> neft.jobs.runs.mc_job."""
    mc_rule(smk, smk.wildcards.test, run_keys(smk.wildcards), job_log(smk.log[0]))
