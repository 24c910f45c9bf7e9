rule tabulate_convergence:
    """Convergence probability: the fraction of seeds whose training ends above the configured criterion."""
    input:
        logs=[train_log(r) for r in convergence_runs()],
        references=list(convergence_references().values()),
    output:
        csv=report(
            "results/tables/convergence.csv",
            caption="../report/convergence.rst",
            category="Tables",
            labels={"table": "convergence", "format": "csv"},
        ),
        csv_sha256="results/tables/convergence.csv.sha256",
        runs="results/tables/convergence_runs.csv",
        md="results/tables/convergence.md",
    log:
        "logs/tabulate_convergence.log",
    params:
        runs=lambda wc: [r.__dict__ for r in convergence_runs()],
        references=lambda wc: [[m, d, p] for (m, d), p in convergence_references().items()],
        fraction=config["convergence"]["min_fraction_of_clean"],
        labels=lambda wc: labels(),
        epochs=config["training"]["epochs"],
    script:
        "../scripts/job.py"


rule plot_convergence:
    """Figure: convergence probability per method and training sigma."""
    input:
        csv="results/tables/convergence.csv",
        csv_sha256="results/tables/convergence.csv.sha256",
    output:
        figures=report(
            expand("results/figures/convergence.{ext}", ext=config["figures"]["formats"]),
            caption="../report/convergence.rst",
            category="Figures",
            labels={"figure": "convergence probability"},
        ),
    log:
        "logs/plot_convergence.log",
    params:
        points=neft.experiment.grid.convergence_points(config),
        labels=lambda wc: labels(),
        scale=config["scale"],
    script:
        "../scripts/job.py"
