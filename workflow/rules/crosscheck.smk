rule crosscheck:
    """One method in two implementations (ours and aihwkit-lightning's) on the same seeds and chips."""
    input:
        chips=MC_TABLES["chips"],
        chips_sha256=MC_TABLES["chips_sha256"],
    output:
        csv="results/tables/crosscheck.csv",
        md=report(
            "results/tables/crosscheck.md",
            caption="../report/crosscheck.rst",
            category="Tables",
            labels={"table": "crosscheck", "format": "markdown"},
        ),
    log:
        "logs/crosscheck.log",
    params:
        sweeps=GRID_SWEEPS,
        ours=config["crosscheck"]["ours"],
        theirs=config["crosscheck"]["theirs"],
        labels=lambda wc: {m: spec.get("label", m) for m, spec in config["methods"].items()},
        ci=config["figures"]["ci"],
        expect=MC_EXPECT,
    script:
        "../scripts/job.py"
