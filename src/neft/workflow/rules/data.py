"""The jobs of workflow/rules/data.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.jobs.runs import job_log, prepare_job


def prepare_dataset(smk) -> None:
    """Rule prepare_dataset -> neft.jobs.runs.prepare_job."""
    log = job_log(smk.log[0])
    prepare_job(
        smk.wildcards.dataset,
        smk.params.registry,
        smk.output.data,
        smk.config["data"]["download_dir"],
        smk.config["data"]["allow_download"],
        log=log,
    )
