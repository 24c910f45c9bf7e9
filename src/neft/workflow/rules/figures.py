"""The jobs of workflow/rules/figures.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.analysis.results import accuracy_curves, device_study_points, write_csv
from neft.analysis.tables import (
    write_accuracy_table,
    write_confidence_table,
    write_device_table,
    write_uncertainty_table,
    write_variance_table,
)
from neft.experiment.handoff import read_curves, read_mc_chips, read_mc_summary
from neft.experiment.tablecheck import record_digests
from neft.jobs.runs import job_log

TABLES = {
    "uncertainty": write_uncertainty_table,
    "confidence": write_confidence_table,
    "variance": write_variance_table,
}


def accuracy_data(smk) -> None:
    """Rule accuracy_data -> neft.analysis.results.accuracy_curves (two-level statistics over training seeds and
    chips)."""
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


def tabulate_accuracy(smk) -> None:
    """Rule tabulate_accuracy -> neft.analysis.tables.write_accuracy_table."""
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    write_accuracy_table(curves, smk.output.csv, smk.output.md, smk.output.tex, device=smk.params.device)
    record_digests(smk.output)  # accuracy.csv.sha256 (summarize cites the table)
    log(f"{len(curves)} rows")


def tabulate_devices(smk) -> None:
    """Rule tabulate_devices -> neft.analysis.tables.write_device_table on the device study's points."""
    log = job_log(smk.log[0])
    points = device_study_points(read_curves(smk.input.curves, smk.params.points, smk.params.expect), smk.params.study)
    write_device_table(points, smk.output.csv, smk.output.md, smk.output.tex)
    record_digests(smk.output)  # devices.csv.sha256 (summarize cites the table)
    log(f"{len(points)} rows")


def tabulate_metric(smk) -> None:
    """Rule tabulate_metric -> neft.analysis.tables.write_{uncertainty,confidence,variance}_table."""
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    curves = curves[curves.device == smk.params.device]
    TABLES[smk.wildcards.metric](curves, smk.output.csv, smk.output.md, smk.output.tex)
    record_digests(smk.output)  # <metric>.csv.sha256 (summarize cites variance.csv)
    log(f"{smk.wildcards.metric}: {len(curves)} rows")
