"""Rule ablation_data -> neft.analysis.ablation."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.ablation import beta_sweep, decomposition  # noqa: E402
from neft.analysis.results import write_csv  # noqa: E402
from neft.experiment.handoff import read_mc_chips  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    chips = read_mc_chips(smk.input.chips, smk.params.expect, smk.params.sweeps)
    decomp = decomposition(chips, smk.params.ablation, smk.params.ci)
    sweep = beta_sweep(chips, smk.params.ablation, smk.params.methods, smk.params.ci)
    write_csv(decomp, smk.output.decomposition)
    write_csv(sweep, smk.output.sweep)
    record_digests(smk.output)
    log(f"{len(decomp)} paired comparisons, {len(sweep)} beta-sweep points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
