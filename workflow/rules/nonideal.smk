# Non-idealities beyond the paper (neft.core.nonideal): the same checkpoints and chips, one non-ideality on at a time;
# the sweeps and their cards are chosen in common.smk (NONIDEAL_SWEEPS, DRIFT_SWEEPS, nonideal_card).
rule evaluate_nonideal:
    """A Monte-Carlo sweep again, on the same chips, with one non-ideality on (a card field, or a drift time)."""
    input:
        model=trained_model,
        data="results/data/{dataset}/prepared.pt",
        card=nonideal_card,
        reference=drift_reference,
    output:
        chips=f"results/nonideal/{RUN_PATH}/test~{{test}}/{{study}}~{{level}}.csv",
        stats=f"results/nonideal/{RUN_PATH}/test~{{test}}/{{study}}~{{level}}.json",
    log:
        f"logs/evaluate_nonideal/{RUN_PATH}/test~{{test}}/{{study}}~{{level}}.log",
    benchmark:
        f"benchmarks/evaluate_nonideal/{RUN_PATH}/test~{{test}}/{{study}}~{{level}}.tsv"
    wildcard_constraints:
        study="|".join((neft.experiment.grid.DRIFT, *neft.experiment.grid.NONIDEAL_KNOBS)),
        level=r"[A-Za-z0-9][A-Za-z0-9_.+-]*",
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
        sigma_rule=lambda wc: (
            config["drift_study"]["sigma_rule"] if wc.study == neft.experiment.grid.DRIFT else None
        ),
    script:
        "../scripts/job.py"


rule tabulate_nonidealities:
    """Table: accuracy under read noise, DAC/ADC resolution and stuck devices, per method, paired with the baseline."""
    input:
        chips=study_files(NONIDEAL_SWEEPS, "csv"),
        stats=study_files(NONIDEAL_SWEEPS, "json"),
        main=study_base_files(NONIDEAL_SWEEPS, "csv"),
        main_stats=study_base_files(NONIDEAL_SWEEPS, "json"),
    output:
        csv=report(
            "results/tables/nonidealities.csv",
            caption="../report/nonidealities.rst",
            category="Beyond the paper",
            labels={"table": "non-idealities", "format": "csv"},
        ),
        csv_sha256="results/tables/nonidealities.csv.sha256",
        md="results/tables/nonidealities.md",
        tex="results/tables/nonidealities.tex",
        chips="results/tables/nonideal_chips.csv",
    log:
        "logs/tabulate_nonidealities.log",
    params:
        study=lambda wc: config["nonidealities"],
        labels=lambda wc: labels(),
        ci=config["figures"]["ci"],
        expect=MC_EXPECT,
        title="Non-idealities",
    script:
        "../scripts/job.py"


rule tabulate_drift:
    """Table: accuracy against time since programming (the fitted cards of one device), paired with the baseline."""
    input:
        chips=study_files(DRIFT_SWEEPS, "csv"),
        stats=study_files(DRIFT_SWEEPS, "json"),
        main=study_base_files(DRIFT_SWEEPS, "csv"),
        main_stats=study_base_files(DRIFT_SWEEPS, "json"),
    output:
        csv=report(
            "results/tables/drift.csv",
            caption="../report/drift.rst",
            category="Beyond the paper",
            labels={"table": "drift", "format": "csv"},
        ),
        csv_sha256="results/tables/drift.csv.sha256",
        md="results/tables/drift.md",
        tex="results/tables/drift.tex",
        chips="results/tables/drift_chips.csv",
    log:
        "logs/tabulate_drift.log",
    params:
        study=lambda wc: config["drift_study"],
        labels=lambda wc: labels(),
        ci=config["figures"]["ci"],
        expect=MC_EXPECT,
        title="Drift",
    script:
        "../scripts/job.py"


rule plot_nonidealities:
    """Figure: accuracy against each non-ideality's level, one line per method, with two-level intervals."""
    input:
        table="results/tables/nonidealities.csv",
        table_sha256="results/tables/nonidealities.csv.sha256",
    output:
        figures=report(
            figures("nonidealities"),
            caption="../report/nonidealities.rst",
            category="Beyond the paper",
            labels={"figure": "non-idealities"},
        ),
    log:
        "logs/plot_nonidealities.log",
    params:
        points=neft.experiment.grid.study_points(config, "nonidealities"),
        scale=config["scale"],
        labels=lambda wc: labels(),
    script:
        "../scripts/job.py"


rule plot_drift:
    """Figure: accuracy against time since programming, one line per method, with two-level intervals."""
    input:
        table="results/tables/drift.csv",
        table_sha256="results/tables/drift.csv.sha256",
    output:
        figures=report(
            figures("drift"),
            caption="../report/drift.rst",
            category="Beyond the paper",
            labels={"figure": "drift"},
        ),
    log:
        "logs/plot_drift.log",
    params:
        points=neft.experiment.grid.study_points(config, "drift_study"),
        scale=config["scale"],
        labels=lambda wc: labels(),
    script:
        "../scripts/job.py"


rule worst_chips:
    """The worst chips of every method and sigma: the distribution, the 1st percentile and the worst chip named."""
    input:
        chips=MC_TABLES["chips"],
        chips_sha256=MC_TABLES["chips_sha256"],
    output:
        csv=report(
            "results/tables/worst_chips.csv",
            caption="../report/worst_chips.rst",
            category="Beyond the paper",
            labels={"table": "worst chips", "format": "csv"},
        ),
        md="results/tables/worst_chips.md",
        figures=report(
            figures("worst_chips"),
            caption="../report/worst_chips.rst",
            category="Beyond the paper",
            labels={"figure": "worst chips"},
        ),
    log:
        "logs/worst_chips.log",
    params:
        sweeps=GRID_SWEEPS,
        experiments=lambda wc: {k: config[k] for k in ("experiments", "methods", "sigmas")},
        labels=lambda wc: labels(),
        scale=config["scale"],
        mc_seed=config["mc"]["seed"],
        expect=MC_EXPECT,
    script:
        "../scripts/job.py"


rule probe_worst_case:
    """Projected gradient ascent on a chip's noise from the worst sampled chip, within a typical Mahalanobis norm."""
    input:
        model=trained_model,
        data="results/data/{dataset}/prepared.pt",
        card="results/devices/{device}/card.yaml",
        sampled=f"results/mc/{RUN_PATH}/test~{{test}}.csv",
    output:
        probe=f"results/probe/{RUN_PATH}/test~{{test}}.json",
        probe_sha256=f"results/probe/{RUN_PATH}/test~{{test}}.json.sha256",
    log:
        f"logs/probe_worst_case/{RUN_PATH}/test~{{test}}.log",
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
        probe=lambda wc: {
            k: config["worst_case_probe"][k] for k in ("steps", "step", "radius_quantile")
        },
    script:
        "../scripts/job.py"


rule tabulate_probe:
    """Table: per method, the probe's chip against the sampled chips (1st percentile, worst) and its norm."""
    input:
        probes=[f"results/probe/{e.path}.json" for e in PROBES],
        probes_sha256=[f"results/probe/{e.path}.json.sha256" for e in PROBES],
        sampled=[f"results/mc/{e.path}.csv" for e in PROBES],
        sampled_stats=[f"results/mc/{e.path}.json" for e in PROBES],
    output:
        csv=report(
            "results/tables/worst_case_probe.csv",
            caption="../report/worst_chips.rst",
            category="Beyond the paper",
            labels={"table": "worst-case probe", "format": "csv"},
        ),
        md="results/tables/worst_case_probe.md",
    log:
        "logs/tabulate_probe.log",
    params:
        settings=lambda wc: {
            k: config["worst_case_probe"][k] for k in ("steps", "step", "radius_quantile")
        },
        expect=MC_EXPECT,
        labels=lambda wc: labels(),
    script:
        "../scripts/job.py"
