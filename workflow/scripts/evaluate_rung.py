"""Rule evaluate_rung -> neft.jobs.runs.mc_job at a ladder rung's sigma; the rows carry the rung (width, epochs)."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.experiment.grid import point_source  # noqa: E402
from neft.experiment.rungs import read_factor, rung_sigma  # noqa: E402
from neft.jobs.runs import job_log, mc_rule, run_keys  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    wc = smk.wildcards
    sigma = rung_sigma(read_factor(smk.input.factor), wc.psigma)
    _, train = point_source(smk.params.methods, wc.method, wc.psigma)
    keys = {"width": wc.width, "epochs": int(wc.epochs), "paper_sigma": wc.psigma}  # the rung, then the run
    keys |= run_keys(wc, sigma_train="0" if train == "0" else sigma)
    mc_rule(smk, sigma, keys, log)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
