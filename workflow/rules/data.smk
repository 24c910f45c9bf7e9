rule prepare_dataset:
    """Verify the original files by checksum and parse them once into a tensor file every job loads quickly."""
    output:
        data="results/data/{dataset}/prepared.pt",
    log:
        "logs/prepare_dataset/{dataset}.log",
    benchmark:
        "benchmarks/prepare_dataset/{dataset}.tsv"
    params:
        # where files come from (download_dir, allow_download) does not change the prepared data: the script
        # reads those keys from the config, so toggling them reruns nothing
        registry=registry_slice,
    script:
        "../scripts/job.py"
