"""Rule tabulate_metric -> neft.analysis.tables.write_{uncertainty,confidence,variance}_table."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.tables import write_confidence_table, write_uncertainty_table, write_variance_table  # noqa: E402
from neft.experiment.handoff import read_curves  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402

TABLES = {
    "uncertainty": write_uncertainty_table,
    "confidence": write_confidence_table,
    "variance": write_variance_table,
}


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    curves = curves[curves.device == smk.params.device]
    TABLES[smk.wildcards.metric](curves, smk.output.csv, smk.output.md, smk.output.tex)
    record_digests(smk.output)  # <metric>.csv.sha256 (summarize cites variance.csv)
    log(f"{smk.wildcards.metric}: {len(curves)} rows")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
