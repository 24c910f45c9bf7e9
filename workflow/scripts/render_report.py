"""Rule render_report: execute the report notebook with papermill, then convert it to HTML with nbconvert."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from pathlib import Path  # noqa: E402

from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    from neft.experiment.inputs import check_report_inputs
    from neft.util.io import atomic_path, atomic_write_text

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


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
