"""Rule evaluate_mc -> neft.jobs.runs.mc_job."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.jobs.runs import job_log, mc_rule, run_keys  # noqa: E402


def main(smk) -> None:
    mc_rule(smk, smk.wildcards.test, run_keys(smk.wildcards), job_log(smk.log[0]))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
