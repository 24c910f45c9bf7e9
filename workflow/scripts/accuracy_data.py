"""Rule accuracy_data -> neft.analysis.results.accuracy_curves (two-level statistics over training seeds and chips)."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.results import accuracy_curves, write_csv  # noqa: E402
from neft.experiment.handoff import read_mc_chips, read_mc_summary  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    chips = read_mc_chips(smk.input.chips, smk.params.expect, smk.params.sweeps)
    summary = read_mc_summary(smk.input.summary, chips, smk.input.chips, smk.params.sweeps)
    curves = accuracy_curves(
        chips,
        summary,
        smk.params.methods,
        smk.params.sigmas,
        smk.params.ci,
    )
    write_csv(curves, smk.output.curves)
    record_digests(smk.output)
    log(f"{len(curves)} curve points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
