"""The jobs of workflow/rules/report.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from pathlib import Path

from neft.analysis import conclusions
from neft.analysis.ladder import read_record
from neft.experiment.inputs import check_report_inputs
from neft.experiment.tablecheck import check_digests
from neft.jobs.runs import job_log
from neft.util.io import atomic_path, atomic_write_text


def render_report(smk) -> None:
    """Rule render_report: execute the report notebook with papermill, then convert it to HTML with nbconvert."""
    import nbformat  # the notebook stack is imported by this job only (summarize, beside it, needs none of it)
    import papermill
    from nbconvert import HTMLExporter

    log = job_log(smk.log[0])
    check_report_inputs(smk.input.results)  # complete figures and tables, before the notebook shows them
    with atomic_path(smk.output.notebook) as tmp:
        papermill.execute_notebook(
            str(Path(smk.input.notebook).resolve()),
            str(tmp),
            parameters={"results_dir": str(Path("results").resolve()), "config_json": smk.params.config_json},
            kernel_name="python3",
            language="python",
            progress_bar=False,
            cwd=str(Path.cwd()),
        )
    body, _ = HTMLExporter(exclude_input=True).from_notebook_node(nbformat.read(smk.output.notebook, as_version=4))
    atomic_write_text(smk.output.html, body)
    log(f"rendered {smk.output.html}")


def summarize(smk) -> None:
    """Rule summarize -> neft.analysis.conclusions (the run's conclusions, every number cited from a table)."""
    log = job_log(smk.log[0])
    p = smk.params
    record = None
    if p.recorded:  # the ladder's paragraph from a recorded run: its files checked against their digests first
        record = read_record(p.recorded, shown=p.recorded_as)
    paths = {name: smk.input[name] for name in conclusions.TABLES if name in smk.input.keys()}
    check_digests(path for name, path in paths.items() if f"{name}_sha256" in smk.input.keys())  # this run's
    tables = conclusions.read_tables(paths)
    # the training length the text opens with: a config value, not a table's (any change to it retrains, so this
    # rule reruns with it)
    epochs = smk.config["training"]["epochs"]
    summary = conclusions.build(tables, p.methods, p.scale, p.sigma_scale, record, epochs)
    conclusions.write(summary, smk.output.md, smk.output.rst, smk.output.sources)
    log(
        f"{len(summary.verdicts)} claims, {len(summary.brief)} short paragraphs, {len(summary.evidence)} evidence "
        f"sections, {len(summary.sources)} cited numbers from {', '.join(tables)}"
    )
