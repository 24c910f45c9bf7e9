rule prepare_dataset:
    """Verify the original files by checksum and parse them once into a tensor file every job loads quickly."""
    output:
        data="results/data/{dataset}/prepared.pt",
    log:
        "logs/prepare_dataset/{dataset}.log",
    benchmark:
        "benchmarks/prepare_dataset/{dataset}.tsv"
    conda:
        "../envs/neft.yaml"
    params:
        registry=registry_slice,
        download_dir=config["data"]["download_dir"],
        allow_download=config["data"]["allow_download"],
    script:
        "../scripts/prepare_dataset.py"
