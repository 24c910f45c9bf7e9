rule summarize:
    """The conclusions, written from the run's own tables (neft.analysis.conclusions): first in the report and its front page."""
    input:
        **summary_tables(),
        **{  # the digest each table's rule wrote with it (a recorded ladder has its SHA256SUMS instead)
            f"{name}_sha256": f"{path}.sha256"
            for name, path in summary_tables().items()
            if path.startswith("results/tables/")
        },
    output:
        md=report(
            "results/tables/summary.md",
            caption="../report/summary.rst",
            category="Summary",
            labels={"table": "conclusions"},
        ),
        rst="results/tables/summary.rst",
        sources="results/tables/summary_sources.csv",
    log:
        "logs/summarize.log",
    params:
        methods=lambda wc: {m: config["methods"][m] for m in config["experiments"]["methods"]},
        scale=config["scale"],
        sigma_scale=config["scorecard"]["sigma_scale"],
        recorded=lambda wc: recorded_ladder(),
        recorded_as=config["scale_study"]["recorded"],
    script:
        "../scripts/job.py"


rule render_report:
    """The run told for a reader: a papermill-executed notebook rendered to HTML in reports/."""
    input:
        notebook=workflow.source_path("../notebooks/report.ipynb"),
        results=report_inputs(),
    output:
        notebook="reports/neft_report.ipynb",
        html=report(
            "reports/neft_report.html",
            caption="../report/notebook.rst",
            category="Report",
            labels={"report": "notebook"},
        ),
    log:
        "logs/render_report.log",
    params:
        config_json=lambda wc: json.dumps(config, default=str),
    script:
        "../scripts/job.py"
