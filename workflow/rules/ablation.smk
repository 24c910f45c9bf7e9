rule ablation_data:
    """Paired decomposition of NeFT's gain (temperature, passes/heads, feedback) and the beta sweep."""
    input:
        chips="results/tables/mc_chips.csv",
    output:
        decomposition="results/tables/ablation.csv",
        sweep="results/tables/ablation_beta_sweep.csv",
    log:
        "logs/ablation_data.log",
    params:
        ablation=lambda wc: config["ablation"],
        methods=lambda wc: {
            m: config["methods"][m] for m in neft.experiment.grid.all_methods(config)
        },
        ci=config["figures"]["ci"],
        expect=MC_EXPECT,
    script:
        "../scripts/ablation_data.py"


rule plot_ablation:
    """Figure: paired differences that split NeFT's gain, and accuracy against beta."""
    input:
        decomposition="results/tables/ablation.csv",
        sweep="results/tables/ablation_beta_sweep.csv",
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
        scale=config["scale"],
    script:
        "../scripts/plot_ablation.py"


rule tabulate_ablation:
    """Table: the ablation's paired differences and beta sweep as Markdown and LaTeX."""
    input:
        decomposition="results/tables/ablation.csv",
        sweep="results/tables/ablation_beta_sweep.csv",
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
    script:
        "../scripts/tabulate_ablation.py"
