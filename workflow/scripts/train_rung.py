"""Rule train_rung -> neft.jobs.runs.train_job at a ladder rung's width, epochs and sigma (neft.analysis.ladder)."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.experiment.rungs import read_factor, rung_sigma  # noqa: E402
from neft.jobs.runs import job_log, train_rule  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    wc = smk.wildcards
    sigma = "0" if wc.psigma == "0" else rung_sigma(read_factor(smk.input.factor), wc.psigma)
    train_rule(smk, sigma, log)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
