"""Rule probe_worst_case -> neft.jobs.runs.probe_job."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.jobs.runs import evaluation_args, job_log, probe_job, run_keys  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    wc, p = smk.wildcards, smk.params
    probe_job(
        **evaluation_args(smk),
        sampled_csv=smk.input.sampled,
        sigma_test=wc.test,
        mc=p.mc,
        compute=p.compute,
        probe_cfg=p.probe,
        keys=run_keys(wc),
        out_json=smk.output.probe,
        log=log,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
