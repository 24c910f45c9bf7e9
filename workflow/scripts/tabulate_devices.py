"""Rule tabulate_devices -> neft.analysis.tables.write_device_table on the device study's points."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.results import device_study_points  # noqa: E402
from neft.analysis.tables import write_device_table  # noqa: E402
from neft.experiment.handoff import read_curves  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    points = device_study_points(read_curves(smk.input.curves, smk.params.points, smk.params.expect), smk.params.study)
    write_device_table(points, smk.output.csv, smk.output.md, smk.output.tex)
    record_digests(smk.output)  # devices.csv.sha256 (summarize cites the table)
    log(f"{len(points)} rows")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
