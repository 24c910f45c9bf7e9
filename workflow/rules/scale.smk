# The scale ladder (scale_study): the listed methods along rungs of (width, epochs), each rung on the same seeds
# and seeded chips at its own sigma (factor of its width x each paper sigma; the factor from rule
# calibrate_rung_sigma). Layout and arithmetic: neft.ladder.
import neft.ladder
import neft.sigma

LADDER = config["scale_study"]
LADDER_PAIR = config["experiments"]["pairs"][0]
LADDER_RUN = "width~{width}/epochs~{epochs}/{model}/{dataset}/{method}/{device}/paper_sigma~{psigma}/seed~{seed}"
LADDER_FACTOR = "results/scale/width~{width}/sigma_factor.json"


def ladder_reference_run(width):
    """The reference model (W/O Noise, first seed) whose sweep fixes a width's sigma factor."""
    rung = neft.ladder.width_reference(LADDER, float(width))
    ref = LADDER["sigma_rule"]["reference_method"]
    return LADDER_RUN.format(
        width=rung.width_text,
        epochs=rung.epochs,
        model=LADDER_PAIR["model"],
        dataset=LADDER_PAIR["dataset"],
        method=ref,
        device=MAIN_DEVICE,
        psigma="0",
        seed=LADDER["seeds"][0],
    )


def ladder_factor(wildcards):
    """A noise-aware training (and every sweep) needs its width's factor; W/O Noise at sigma 0 does not."""
    return [] if wildcards.psigma == "0" else LADDER_FACTOR.format(width=wildcards.width)


def ladder_model_path(w):
    """The checkpoint a ladder sweep ``w`` (a dict of its wildcards) tests: W/O Noise is its sigma-0 model
    (neft.grid.point_source)."""
    source, train = neft.grid.point_source(config["methods"], w["method"], w["psigma"])
    return (
        f"results/scale/{LADDER_RUN.format(**(w | {'method': source, 'psigma': train}))}/model.pt"
    )


def ladder_model(wildcards):
    return ladder_model_path(dict(wildcards.items()))


def ladder_sweeps():
    """Every (rung, method, paper sigma, seed) sweep of the ladder, as a dict of its wildcards."""
    return [
        {
            "width": rung.width_text,
            "epochs": rung.epochs,
            "model": LADDER_PAIR["model"],
            "dataset": LADDER_PAIR["dataset"],
            "method": method,
            "device": MAIN_DEVICE,
            "psigma": neft.sigma.format_sigma(ps),
            "seed": seed,
        }
        for rung in neft.ladder.rungs(LADDER)
        for method in LADDER["methods"]
        for ps in LADDER["paper_sigmas"]
        for seed in LADDER["seeds"]
    ]


def ladder_files(ext):
    return [f"results/scale/mc/{LADDER_RUN.format(**w)}.{ext}" for w in ladder_sweeps()]


def ladder_logs():
    """The training log of every model the sweeps test (W/O Noise once per rung and seed)."""
    models = dict.fromkeys(ladder_model_path(w) for w in ladder_sweeps())
    return [str(Path(m).with_name("train_log.csv")) for m in models]


def ladder_model_slice(wildcards):
    return config["models"][wildcards.model] | {"width": float(wildcards.width)}


def ladder_training_slice(wildcards):
    return config["training"] | {"epochs": int(wildcards.epochs)}


wildcard_constraints:
    width=r"[0-9.]+",
    epochs=r"\d+",
    psigma=r"[0-9.]+",


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
        "../scripts/train_rung.py"


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
        "../scripts/calibrate_rung_sigma.py"


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
        "../scripts/evaluate_rung.py"


def ladder_runs():
    """Every ladder training with its rung, method, paper and training sigma, seed, and whether it is the rung's
    W/O Noise reference of the convergence criterion (the first seed's)."""
    out = []
    for w in ladder_sweeps():
        source, train = neft.grid.point_source(config["methods"], w["method"], w["psigma"])
        rung = neft.ladder.Rung(float(w["width"]), int(w["epochs"]))
        out.append(
            {
                "width": w["width"],
                "epochs": int(w["epochs"]),
                "model": w["model"],
                "dataset": w["dataset"],
                "method": source,
                "paper_sigma": train,
                "seed": int(w["seed"]),
                "reference": source == LADDER["sigma_rule"]["reference_method"],
            }
        )
    return list(
        {
            (r["width"], r["epochs"], r["method"], r["paper_sigma"], r["seed"]): r for r in out
        }.values()
    )


def ladder_log(run):
    w = run | {"psigma": run["paper_sigma"], "device": MAIN_DEVICE}
    return f"results/scale/{LADDER_RUN.format(**w)}/train_log.csv"


LADDER_WIDTHS = list(dict.fromkeys(r.width_text for r in neft.ladder.rungs(LADDER)))
LADDER_TABLES = {
    "accuracy": "results/tables/ladder.csv",
    "decomposition": "results/tables/ladder_decomposition.csv",
    "claims": "results/tables/ladder_claims.csv",
    "runs": "results/tables/ladder_runs.csv",
    "md": "results/tables/ladder.md",
}


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
        decomposition=LADDER_TABLES["decomposition"],
        claims=LADDER_TABLES["claims"],
        runs=LADDER_TABLES["runs"],
        md=LADDER_TABLES["md"],
    log:
        "logs/tabulate_ladder.log",
    params:
        study=LADDER,
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
        "../scripts/tabulate_ladder.py"


rule plot_ladder:
    """Figure: accuracy and the gain's split along the ladder's rungs."""
    input:
        accuracy=LADDER_TABLES["accuracy"],
        decomposition=LADDER_TABLES["decomposition"],
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
        labels=lambda wc: labels(),
    script:
        "../scripts/plot_ladder.py"


def ladder_targets():
    """What target scale_study builds (nothing while scale_study.enabled is off)."""
    if not LADDER["enabled"]:
        return []
    return list(LADDER_TABLES.values()) + figures("ladder")
