rule device_card:
    """Materialise the device card a run uses, so every result points at the exact noise model it saw."""
    output:
        card="results/devices/{device}/card.yaml",
    log:
        "logs/device_card/{device}.log",
    conda:
        "../envs/neft.yaml"
    script:
        "../scripts/device_card.py"
