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
        "../scripts/render_report.py"
