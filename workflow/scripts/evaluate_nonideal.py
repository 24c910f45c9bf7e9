"""Rule evaluate_nonideal -> neft.jobs.runs.mc_job with one non-ideality on, on the main sweep's chips."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.nonideal_study import drift_sigma  # noqa: E402
from neft.core.devices import DeviceCard  # noqa: E402
from neft.experiment.grid import DRIFT  # noqa: E402
from neft.jobs.runs import job_log, mc_rule, run_keys  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    wc, p = smk.wildcards, smk.params
    if wc.study == DRIFT:
        card_name, changes = wc.level, None
        reference = DeviceCard.load(smk.input.reference)
        sigma = drift_sigma(wc.test, DeviceCard.load(smk.input.card), reference, p.sigma_rule)
    else:
        card_name, changes = wc.device, {wc.study: int(wc.level) if wc.study.endswith("_bits") else float(wc.level)}
        sigma = wc.test
    keys = run_keys(wc) | {"study": wc.study, "level": wc.level, "card": card_name, "sigma_point": wc.test}
    mc_rule(
        smk,
        sigma,
        keys,
        log,
        card_name=card_name,
        card_changes=changes,
        seed_device=wc.device,
        seed_sigma=wc.test,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
