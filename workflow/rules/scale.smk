# The scale ladder (scale_study): the listed methods along rungs of (width, epochs), each rung on the same seeds
# and seeded chips at its own sigma (factor of its width x each paper sigma; the factor from rule
# calibrate_rung_sigma). Layout and arithmetic: neft.analysis.ladder; helpers: common.smk.


rule train_rung:
    """Train one method at one rung of the ladder, at factor x paper sigma; keep the selected epoch's weights."""
    input:
        data="results/data/{dataset}/prepared.pt",
        card="results/devices/{device}/card.yaml",
        factor=ladder_factor,
    output:
        model=f"results/scale/{LADDER_RUN}/model.pt",
        log_csv=f"results/scale/{LADDER_RUN}/train_log.csv",
    log:
        f"logs/train_rung/{LADDER_RUN}.log",
    benchmark:
        f"benchmarks/train_rung/{LADDER_RUN}.tsv"
    threads: config["compute"]["threads"]
    resources:
        gpu=gpu_request(),
        mem_mb=config["compute"]["mem_mb"],
        runtime=config["compute"]["train_runtime"],
    params:
        model=ladder_model_slice,
        method=method_slice,
        data=data_slice,
        registry=registry_slice,
        training=ladder_training_slice,
        compute=compute_slice,
        state=lambda wc, output: str(Path(output.model).with_name("resume_state.pt")),
    script:
        "../scripts/job.py"


rule calibrate_rung_sigma:
    """The sigma rule: sweep a width's reference model over factors; the factor where it reaches the paper's value."""
    input:
        model=lambda wc: f"results/scale/{ladder_reference_run(wc.width)}/model.pt",
        data=f"results/data/{LADDER_PAIR['dataset']}/prepared.pt",
        card=f"results/devices/{MAIN_DEVICE}/card.yaml",
        reference=REFERENCE["accuracy"],
    output:
        factor=LADDER_FACTOR,
        sweep="results/scale/width~{width}/sigma_sweep.csv",
    log:
        "logs/calibrate_rung_sigma/width~{width}.log",
    benchmark:
        "benchmarks/calibrate_rung_sigma/width~{width}.tsv"
    threads: config["compute"]["threads"]
    resources:
        gpu=gpu_request(),
        mem_mb=config["compute"]["mem_mb"],
        runtime=config["compute"]["mc_runtime"],
    params:
        pair=LADDER_PAIR,
        device=MAIN_DEVICE,
        rule=LADDER["sigma_rule"],
        reference_kind=lambda wc: config["methods"][LADDER["sigma_rule"]["reference_method"]][
            "kind"
        ],
        model=lambda wc: config["models"][LADDER_PAIR["model"]] | {"width": float(wc.width)},
        data=data_slice,
        registry=lambda wc: registry_slice(type("W", (), {"dataset": LADDER_PAIR["dataset"]})),
        mc=mc_slice,
        compute=compute_slice,
    script:
        "../scripts/job.py"


rule evaluate_rung:
    """Monte-Carlo sweep of one ladder model at its rung's sigma (one CSV row per chip, as evaluate_mc)."""
    input:
        model=ladder_model,
        data="results/data/{dataset}/prepared.pt",
        card="results/devices/{device}/card.yaml",
        factor=lambda wc: LADDER_FACTOR.format(width=wc.width),
    output:
        chips=f"results/scale/mc/{LADDER_RUN}.csv",
        stats=f"results/scale/mc/{LADDER_RUN}.json",
    log:
        f"logs/evaluate_rung/{LADDER_RUN}.log",
    benchmark:
        f"benchmarks/evaluate_rung/{LADDER_RUN}.tsv"
    threads: config["compute"]["threads"]
    resources:
        gpu=gpu_request(),
        mem_mb=config["compute"]["mem_mb"],
        runtime=config["compute"]["mc_runtime"],
    params:
        model=ladder_model_slice,
        data=data_slice,
        registry=registry_slice,
        mc=mc_slice,
        compute=compute_slice,
        methods=lambda wc: config["methods"],
    script:
        "../scripts/job.py"


rule tabulate_ladder:
    """The ladder's tables: accuracy, convergence and the last doubling per rung; the gain's split; claims per rung."""
    input:
        chips=ladder_files("csv"),
        stats=ladder_files("json"),
        factors=[LADDER_FACTOR.format(width=w) for w in LADDER_WIDTHS],
        logs=[ladder_log(r) for r in ladder_runs()],
    output:
        accuracy=report(
            LADDER_TABLES["accuracy"],
            caption="../report/ladder.rst",
            category="Tables",
            labels={"table": "scale ladder", "format": "csv"},
        ),
        accuracy_sha256=f"{LADDER_TABLES['accuracy']}.sha256",
        decomposition=LADDER_TABLES["decomposition"],
        decomposition_sha256=f"{LADDER_TABLES['decomposition']}.sha256",
        claims=LADDER_TABLES["claims"],
        claims_sha256=f"{LADDER_TABLES['claims']}.sha256",
        runs=LADDER_TABLES["runs"],
        md=LADDER_TABLES["md"],
    log:
        "logs/tabulate_ladder.log",
    params:
        study={k: LADDER[k] for k in ("methods", "seeds", "paper_sigmas", "rungs")},
        sweeps=[  # what each sweep's rows must say (its path's rung, method, sigma and seed)
            {k: w[k] for k in ("width", "epochs", "method", "paper_sigma", "seed")}
            for w in ({**w, "paper_sigma": w["psigma"]} for w in ladder_sweeps())
        ],
        expect=MC_EXPECT,
        widths=LADDER_WIDTHS,
        runs=ladder_runs(),
        fraction=config["convergence"]["min_fraction_of_clean"],
        labels=lambda wc: labels(),
        ablation=lambda wc: {k: config["ablation"][k] for k in ("baseline", "instances")},
        methods=lambda wc: config["methods"],
        kinds=lambda wc: {
            m: config["methods"][m]["kind"]
            for m in LADDER["methods"]
            if m in config["experiments"]["methods"]
        },
    script:
        "../scripts/job.py"


rule plot_ladder:
    """Figure: accuracy and the gain's split along the ladder's rungs."""
    input:
        accuracy=LADDER_TABLES["accuracy"],
        accuracy_sha256=f"{LADDER_TABLES['accuracy']}.sha256",
        decomposition=LADDER_TABLES["decomposition"],
        decomposition_sha256=f"{LADDER_TABLES['decomposition']}.sha256",
    output:
        figures=report(
            expand("results/figures/ladder.{ext}", ext=config["figures"]["formats"]),
            caption="../report/ladder.rst",
            category="Figures",
            labels={"figure": "scale ladder"},
        ),
    log:
        "logs/plot_ladder.log",
    params:
        points=lambda wc: [  # every (rung, paper sigma, method) of the ladder: one row of ladder.csv each
            list(p)
            for p in dict.fromkeys(
                (w["width"], w["epochs"], w["psigma"], w["method"]) for w in ladder_sweeps()
            )
        ],
        labels=lambda wc: labels(),
    script:
        "../scripts/job.py"
