"""Rule crosscheck -> neft.analysis.crosscheck.paired_table, write_crosscheck."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.crosscheck import AGREE, paired_table, write_crosscheck  # noqa: E402
from neft.experiment.handoff import read_mc_chips  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    table = paired_table(read_mc_chips(smk.input.chips, p.expect, p.sweeps), p.ours, p.theirs, p.ci)
    write_crosscheck(table, p.labels, smk.output.csv, smk.output.md, p.ci)
    log(f"{p.theirs} - {p.ours}: interval contains 0 at {int((table.agreement == AGREE).sum())} of {len(table)} sigmas")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
