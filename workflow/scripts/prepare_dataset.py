"""Rule prepare_dataset -> neft.runs.prepare_job."""

from neft.runs import job_log, prepare_job


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
