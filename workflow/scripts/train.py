"""Rule train -> neft.jobs.runs.train_job."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.jobs.runs import job_log, train_rule  # noqa: E402


def main(smk) -> None:
    train_rule(smk, smk.wildcards.sigma, job_log(smk.log[0]))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
