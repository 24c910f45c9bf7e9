rule train:
    """Train one model with one method at one training sigma and seed; keep the selected epoch's weights."""
    input:
        data="results/data/{dataset}/prepared.pt",
        card="results/devices/{device}/card.yaml",
    output:
        model=f"results/models/{RUN_PATH}/model.pt",
        log_csv=f"results/models/{RUN_PATH}/train_log.csv",
    log:
        f"logs/train/{RUN_PATH}.log",
    benchmark:
        f"benchmarks/train/{RUN_PATH}.tsv"
    threads: config["compute"]["threads"]
    resources:
        gpu=gpu_request(),
        mem_mb=config["compute"]["mem_mb"],
        runtime=config["compute"]["train_runtime"],
    params:
        model=model_slice,
        method=method_slice,
        data=data_slice,
        registry=registry_slice,
        training=lambda wc: config["training"],
        compute=compute_slice,
        state=lambda wc, output: str(Path(output.model).with_name("resume_state.pt")),
    script:
        "../scripts/job.py"
