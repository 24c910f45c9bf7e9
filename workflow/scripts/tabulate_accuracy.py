"""Rule tabulate_accuracy -> neft.analysis.tables.write_accuracy_table."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.tables import write_accuracy_table  # noqa: E402
from neft.experiment.handoff import read_curves  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    write_accuracy_table(curves, smk.output.csv, smk.output.md, smk.output.tex, device=smk.params.device)
    record_digests(smk.output)  # accuracy.csv.sha256 (summarize cites the table)
    log(f"{len(curves)} rows")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
