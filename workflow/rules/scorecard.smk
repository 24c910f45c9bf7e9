rule scorecard:
    """Reproduced vs paper: every plotted point, every qualitative claim as a seed-level test, and the headline gain."""
    input:
        curves="results/tables/accuracy_curves.csv",
        chips="results/tables/mc_chips.csv",
        summary="results/tables/mc_summary.csv",
        reference=REFERENCE["accuracy"],
        reference_ekl=REFERENCE["ekl"],
        convergence=("results/tables/convergence.csv" if config["convergence"]["enabled"] else []),
    output:
        md=report(
            "results/tables/scorecard.md",
            caption="../report/scorecard.rst",
            category="Scorecard",
            labels={"table": "scorecard"},
        ),
        points="results/tables/scorecard_points.csv",
        claims="results/tables/scorecard_claims.csv",
        headline=report(
            "results/tables/headline.csv",
            caption="../report/headline.rst",
            category="Scorecard",
            labels={"table": "headline"},
        ),
    log:
        "logs/scorecard.log",
    params:
        scale=config["scale"],
        sigma_scale=config["scorecard"]["sigma_scale"],
        kinds=lambda wc: {m: config["methods"][m]["kind"] for m in config["experiments"]["methods"]},
        methods=lambda wc: {m: config["methods"][m] for m in config["experiments"]["methods"]},
        labels=labels(),
        device=MAIN_DEVICE,
        expect=MC_EXPECT,
    script:
        "../scripts/scorecard.py"


rule plot_scorecard:
    """Figure: one facet per (panel, method), the paper's points (open diamonds) over our curve and CI band, on our sigma axis."""
    input:
        curves="results/tables/accuracy_curves.csv",
        reference=REFERENCE["accuracy"],
    output:
        figures=report(
            expand("results/figures/scorecard.{ext}", ext=config["figures"]["formats"]),
            caption="../report/scorecard.rst",
            category="Scorecard",
            labels={"figure": "paper vs reproduced"},
        ),
    log:
        "logs/plot_scorecard.log",
    params:
        scale=config["scale"],
        sigma_scale=config["scorecard"]["sigma_scale"],
        methods=lambda wc: {m: config["methods"][m] for m in config["experiments"]["methods"]},
        device=MAIN_DEVICE,
        ci=config["figures"]["ci"],
    script:
        "../scripts/plot_scorecard.py"
