"""Rule aggregate_mc -> neft.analysis.results.aggregate."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.results import aggregate, write_csv  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    chips, summary = aggregate(list(smk.input.chips), list(smk.input.stats), smk.params.expect, log=log)
    write_csv(chips, smk.output.chips)
    write_csv(summary, smk.output.summary)
    record_digests(smk.output)  # mc_chips.csv.sha256, mc_summary.csv.sha256: what their readers check
    log(f"{len(chips)} chip rows, {len(summary)} experiments x test sigmas")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
