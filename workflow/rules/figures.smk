# accuracy_curves.csv and its digest (written together by accuracy_data; every rule below reads both)
CURVES = {
    "curves": "results/tables/accuracy_curves.csv",
    "curves_sha256": "results/tables/accuracy_curves.csv.sha256",
}


rule accuracy_data:
    """The accuracy curve of every (pair, method): the point at sigma is the run trained for sigma, tested at it."""
    input:
        **MC_TABLES,
    output:
        **CURVES,
    log:
        "logs/accuracy_data.log",
    params:
        sweeps=GRID_SWEEPS,
        methods=lambda wc: {m: config["methods"][m] for m in config["experiments"]["methods"]},
        sigmas=config["sigmas"],
        ci=config["figures"]["ci"],
        expect=MC_EXPECT,
    script:
        "../scripts/job.py"


rule plot_accuracy:
    """Figure: MC mean accuracy vs sigma with CI bands, one panel per (model, dataset)."""
    input:
        **CURVES,
        reference=PAPER_POINTS,
    output:
        figures=report(
            expand("results/figures/accuracy.{ext}", ext=config["figures"]["formats"]),
            caption="../report/accuracy_figure.rst",
            category="Figures",
            labels={"figure": "accuracy vs sigma"},
        ),
    log:
        "logs/plot_accuracy.log",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        scale=config["scale"],
        methods=lambda wc: {m: config["methods"][m] for m in config["experiments"]["methods"]},
        device=MAIN_DEVICE,
        sigma_scale=config["scorecard"]["sigma_scale"],
    script:
        "../scripts/job.py"


rule tabulate_accuracy:
    """Table: MC mean accuracy and its CI per (model, dataset, method, sigma), as CSV, Markdown and LaTeX."""
    input:
        **CURVES,
    output:
        csv=report(
            "results/tables/accuracy.csv",
            caption="../report/accuracy_table.rst",
            category="Tables",
            labels={"table": "accuracy", "format": "csv"},
        ),
        csv_sha256="results/tables/accuracy.csv.sha256",
        md="results/tables/accuracy.md",
        tex="results/tables/accuracy.tex",
    log:
        "logs/tabulate_accuracy.log",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        device=MAIN_DEVICE,
    script:
        "../scripts/job.py"


rule plot_accuracy_panel:
    """One panel of the accuracy figure alone (results/figures/accuracy_panels/<model>/<dataset>.<ext>)."""
    input:
        **CURVES,
        reference=PAPER_POINTS,
    output:
        figures=report(
            expand(
                "results/figures/accuracy_panels/{{model}}/{{dataset}}.{ext}",
                ext=config["figures"]["formats"],
            ),
            caption="../report/accuracy_figure.rst",
            category="Figures",
            subcategory="accuracy panels",
            labels={"figure": "accuracy panel", "model": "{model}", "dataset": "{dataset}"},
        ),
    log:
        "logs/plot_accuracy_panel/{model}/{dataset}.log",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        scale=config["scale"],
        methods=lambda wc: {m: config["methods"][m] for m in config["experiments"]["methods"]},
        device=MAIN_DEVICE,
        sigma_scale=config["scorecard"]["sigma_scale"],
    script:
        "../scripts/job.py"


rule plot_uncertainty:
    """Figure: expected KL divergence (epistemic uncertainty over chips) vs sigma per method."""
    input:
        **CURVES,
    output:
        figures=report(
            expand("results/figures/uncertainty.{ext}", ext=config["figures"]["formats"]),
            caption="../report/uncertainty.rst",
            category="Figures",
            labels={"figure": "epistemic uncertainty"},
        ),
    log:
        "logs/plot_uncertainty.log",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        scale=config["scale"],
        device=MAIN_DEVICE,
        kind="uncertainty",
    script:
        "../scripts/job.py"


rule plot_confidence:
    """Figure: mean max-softmax probability of all and of correct predictions vs sigma per method."""
    input:
        **CURVES,
    output:
        figures=report(
            expand("results/figures/confidence.{ext}", ext=config["figures"]["formats"]),
            caption="../report/confidence.rst",
            category="Figures",
            labels={"figure": "output confidence"},
        ),
    log:
        "logs/plot_confidence.log",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        scale=config["scale"],
        device=MAIN_DEVICE,
        kind="confidence",
    script:
        "../scripts/job.py"


rule tabulate_metric:
    """Tables of expected KL (uncertainty) and of output confidence, as CSV, Markdown and LaTeX."""
    input:
        **CURVES,
    output:
        csv=report(
            "results/tables/{metric}.csv",
            caption="../report/metric_table.rst",
            category="Tables",
            labels={"table": "{metric}", "format": "csv"},
        ),
        csv_sha256="results/tables/{metric}.csv.sha256",
        md="results/tables/{metric}.md",
        tex="results/tables/{metric}.tex",
    log:
        "logs/tabulate_metric/{metric}.log",
    wildcard_constraints:
        metric="uncertainty|confidence|variance",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        device=MAIN_DEVICE,
    script:
        "../scripts/job.py"


rule plot_variance:
    """Figure: std of accuracy between training seeds and within a seed over chips, vs sigma per method."""
    input:
        **CURVES,
    output:
        figures=report(
            expand("results/figures/variance.{ext}", ext=config["figures"]["formats"]),
            caption="../report/variance.rst",
            category="Figures",
            labels={"figure": "variance split"},
        ),
    log:
        "logs/plot_variance.log",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        scale=config["scale"],
        device=MAIN_DEVICE,
        kind="variance",
    script:
        "../scripts/job.py"


rule plot_devices:
    """Figure: every study method on every device card at the study sigmas."""
    input:
        **CURVES,
    output:
        figures=report(
            expand("results/figures/devices.{ext}", ext=config["figures"]["formats"]),
            caption="../report/devices.rst",
            category="Figures",
            labels={"figure": "device types"},
        ),
    log:
        "logs/plot_devices.log",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        study=config["device_study"],
        scale=config["scale"],
    script:
        "../scripts/job.py"


rule tabulate_devices:
    """Table: accuracy per device card, as CSV, Markdown and LaTeX."""
    input:
        **CURVES,
    output:
        csv=report(
            "results/tables/devices.csv",
            caption="../report/devices.rst",
            category="Tables",
            labels={"table": "device types", "format": "csv"},
        ),
        csv_sha256="results/tables/devices.csv.sha256",
        md="results/tables/devices.md",
        tex="results/tables/devices.tex",
    log:
        "logs/tabulate_devices.log",
    params:
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        study=config["device_study"],
    script:
        "../scripts/job.py"
