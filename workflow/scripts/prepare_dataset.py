"""Rule prepare_dataset -> neft.jobs.runs.prepare_job."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.jobs.runs import job_log, prepare_job  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    prepare_job(
        smk.wildcards.dataset,
        smk.params.registry,
        smk.output.data,
        smk.config["data"]["download_dir"],
        smk.config["data"]["allow_download"],
        log=log,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
