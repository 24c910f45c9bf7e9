"""Rule train -> neft.runs.train_job."""

from neft.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.warmstart)

from neft.runs import job_log, train_rule  # noqa: E402


def main(smk) -> None:
    train_rule(smk, smk.wildcards.sigma, job_log(smk.log[0]))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
