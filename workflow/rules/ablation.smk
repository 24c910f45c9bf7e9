# The ablation's tables and their digests (ablation_data writes them; plot_ablation, tabulate_ablation and summarize
# read them), and the (pair, device, instance, sigma) points the config's grid gives its table (neft.experiment.grid).
ABLATION_TABLES = {
    "decomposition": "results/tables/ablation.csv",
    "decomposition_sha256": "results/tables/ablation.csv.sha256",
    "sweep": "results/tables/ablation_beta_sweep.csv",
    "sweep_sha256": "results/tables/ablation_beta_sweep.csv.sha256",
}
COMPARISON_POINTS = neft.experiment.grid.comparison_points(config)


rule ablation_data:
    """Paired decomposition of NeFT's gain (temperature, passes/heads, feedback) and the beta sweep."""
    input:
        chips=MC_TABLES["chips"],
        chips_sha256=MC_TABLES["chips_sha256"],
    output:
        **ABLATION_TABLES,
    log:
        "logs/ablation_data.log",
    params:
        sweeps=GRID_SWEEPS,
        ablation=lambda wc: config["ablation"],
        methods=lambda wc: {
            m: config["methods"][m] for m in neft.experiment.grid.all_methods(config)
        },
        ci=config["figures"]["ci"],
        expect=MC_EXPECT,
    script:
        "../scripts/job.py"


rule plot_ablation:
    """Figure: paired differences that split NeFT's gain, and accuracy against beta."""
    input:
        **ABLATION_TABLES,
    output:
        figures=report(
            expand("results/figures/ablation.{ext}", ext=config["figures"]["formats"]),
            caption="../report/ablation_figure.rst",
            category="Figures",
            labels={"figure": "ablation"},
        ),
    log:
        "logs/plot_ablation.log",
    params:
        points=COMPARISON_POINTS,
        scale=config["scale"],
    script:
        "../scripts/job.py"


rule tabulate_ablation:
    """Table: the ablation's paired differences and beta sweep as Markdown and LaTeX."""
    input:
        **ABLATION_TABLES,
    output:
        md=report(
            "results/tables/ablation.md",
            caption="../report/ablation_table.rst",
            category="Tables",
            labels={"table": "ablation", "format": "markdown"},
        ),
        tex="results/tables/ablation.tex",
    log:
        "logs/tabulate_ablation.log",
    params:
        points=COMPARISON_POINTS,
    script:
        "../scripts/job.py"
