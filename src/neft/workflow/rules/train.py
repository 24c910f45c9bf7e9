"""The jobs of workflow/rules/train.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.jobs.runs import job_log, train_rule


def train(smk) -> None:
    """Rule train -> neft.jobs.runs.train_job."""
    train_rule(smk, smk.wildcards.sigma, job_log(smk.log[0]))
