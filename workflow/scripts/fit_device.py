"""Rule fit_device -> neft.core.fitting.fit_file: a measured device's per-level statistics fitted to a NeFT card."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.results import write_csv  # noqa: E402
from neft.core.fitting import fit_file  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    # record the data path as the config wrote it (repository-relative), not this machine's absolute path
    source = getattr(smk.params, "source", None) or str(smk.input.data)
    card, table = fit_file(smk.input.data, smk.params.source_device, smk.wildcards.device, source=source)
    card.save(smk.output.card)
    write_csv(table, smk.output.fit, float_format="%.8g")
    fit = card.extra["fit"]
    log(
        f"device {card.name} from {smk.params.source_device} in {source}: s = {card.middle_multiplier:.4f}, "
        f"sigma' = {fit['sigma_prime']:.5f}, measured_sigma = {card.extra['measured_sigma']:.5f}, "
        f"rmse = {fit['rmse']:.5f}, r2 = {fit['r2']:.3f}" + (" (s at its bound)" if fit["s_at_bound"] else "")
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
