rule scorecard:
    """Reproduced vs paper: every plotted point, every qualitative claim as a seed-level test, and the headline gain."""
    input:
        **CURVES,
        **MC_TABLES,
        reference=REFERENCE["accuracy"],
        reference_ekl=REFERENCE["ekl"],
        convergence=("results/tables/convergence.csv" if config["convergence"]["enabled"] else []),
        convergence_sha256=(
            "results/tables/convergence.csv.sha256" if config["convergence"]["enabled"] else []
        ),
    output:
        md=report(
            "results/tables/scorecard.md",
            caption="../report/scorecard.rst",
            category="Scorecard",
            labels={"table": "scorecard"},
        ),
        points="results/tables/scorecard_points.csv",
        points_sha256="results/tables/scorecard_points.csv.sha256",
        claims="results/tables/scorecard_claims.csv",
        claims_sha256="results/tables/scorecard_claims.csv.sha256",
        headline=report(
            "results/tables/headline.csv",
            caption="../report/headline.rst",
            category="Scorecard",
            labels={"table": "headline"},
        ),
        headline_sha256="results/tables/headline.csv.sha256",
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
        sweeps=GRID_SWEEPS,
        curve_points=CURVE_POINTS,
        convergence_points=neft.experiment.grid.convergence_points(config),
    script:
        "../scripts/job.py"


rule plot_scorecard:
    """Figure: one facet per (panel, method), the paper's points (open diamonds) over our curve and CI band, on our sigma axis."""
    input:
        **CURVES,
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
        points=CURVE_POINTS,
        expect=MC_EXPECT,
        scale=config["scale"],
        sigma_scale=config["scorecard"]["sigma_scale"],
        methods=lambda wc: {m: config["methods"][m] for m in config["experiments"]["methods"]},
        device=MAIN_DEVICE,
        ci=config["figures"]["ci"],
    script:
        "../scripts/job.py"
