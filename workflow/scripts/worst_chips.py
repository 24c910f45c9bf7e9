"""Rule worst_chips -> neft.analysis.worst_chips.worst_table, neft.report.plotting.plot_worst_chips."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.worst_chips import worst_table, write_worst_table  # noqa: E402
from neft.experiment.handoff import read_mc_chips  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import SCALE_NOTES, plot_worst_chips  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    chips = read_mc_chips(smk.input.chips, p.expect, p.sweeps)
    table = worst_table(chips, p.experiments)
    write_worst_table(table, p.labels, p.mc_seed, smk.output.csv, smk.output.md)
    plot_worst_chips(chips, table, p.labels, list(smk.output.figures), SCALE_NOTES.get(p.scale))
    log(
        f"{len(table)} points; largest gap between the 1st percentile and the worst chip: "
        f"{table.p1_minus_worst.max():.2f} pp"
        if len(table)
        else "no points"
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
