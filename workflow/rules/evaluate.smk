import neft.experiment.handoff

# What every sweep must hold (mc.chips, or the adaptive range, and mc.seed): the rules reading MC results check it.
MC_EXPECT = neft.experiment.handoff.mc_expectation(config["mc"])
# What the tables built from the grid hold, row by row (neft.experiment.grid): their readers check every row against
# it, so a row deleted from a table, or one added, stops the job that reads it.
GRID_SWEEPS = neft.experiment.grid.sweep_keys(config)
CURVE_POINTS = neft.experiment.grid.curve_points(config)
# A hand-off table F is written with F.sha256 (its digest, neft.experiment.tablecheck.record_digests) by the same
# rule; every rule that reads F takes F.sha256 too, and its reader checks F against it.
MC_TABLES = {
    "chips": "results/tables/mc_chips.csv",
    "chips_sha256": "results/tables/mc_chips.csv.sha256",
    "summary": "results/tables/mc_summary.csv",
    "summary_sha256": "results/tables/mc_summary.csv.sha256",
}


rule evaluate_mc:
    """Monte-Carlo sweep: one checkpoint on mc.chips simulated chips at one test sigma; one CSV row per chip."""
    input:
        model=trained_model,
        data="results/data/{dataset}/prepared.pt",
        card="results/devices/{device}/card.yaml",
    output:
        chips=f"results/mc/{RUN_PATH}/test~{{test}}.csv",
        stats=f"results/mc/{RUN_PATH}/test~{{test}}.json",
    log:
        f"logs/evaluate_mc/{RUN_PATH}/test~{{test}}.log",
    benchmark:
        f"benchmarks/evaluate_mc/{RUN_PATH}/test~{{test}}.tsv"
    threads: config["compute"]["threads"]
    resources:
        gpu=gpu_request(),
        mem_mb=config["compute"]["mem_mb"],
        runtime=config["compute"]["mc_runtime"],
    params:
        model=model_slice,
        data=data_slice,
        registry=registry_slice,
        mc=mc_slice,
        compute=compute_slice,
    script:
        "../scripts/job.py"


rule aggregate_mc:
    """All chip rows in one tidy table, and one summary row per (experiment, test sigma)."""
    input:
        chips=all_mc_csvs(),
        stats=all_mc_stats(),
    output:
        **MC_TABLES,
    log:
        "logs/aggregate_mc.log",
    params:
        expect=MC_EXPECT,
    script:
        "../scripts/job.py"
