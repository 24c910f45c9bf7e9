rule device_card:
    """Materialise the device card a run uses, so every result points at the exact noise model it saw."""
    output:
        card="results/devices/{device}/card.yaml",
    log:
        "logs/device_card/{device}.log",
    script:
        "../scripts/job.py"


# a fitted name is made by fit_device, every other name (the shipped presets) by device_card
ruleorder: fit_device > device_card


rule fit_device:
    """Fit NeFT's two-band device model (sigma', s) to a measured device's per-level conductance statistics."""
    input:
        data=fitted_device_data,
    output:
        card="results/devices/{device}/card.yaml",
        fit="results/devices/{device}/fit.csv",
    log:
        "logs/fit_device/{device}.log",
    wildcard_constraints:
        device="|".join(re.escape(name) for name in FITTED_DEVICES) or "(?!)",
    params:
        source_device=lambda wc: config["fitted_devices"][wc.device]["source_device"],
        source=lambda wc: config["fitted_devices"][wc.device]["data"],
    script:
        "../scripts/job.py"


rule plot_device_fits:
    """Figure: each fitted device's per-level std (aihwkit's published fits of measured data) against the NeFT two-band model fitted to it."""
    input:
        fits=expand("results/devices/{device}/fit.csv", device=FITTED_DEVICES),
        cards=expand("results/devices/{device}/card.yaml", device=FITTED_DEVICES),
    output:
        figures=report(
            figures("device_fit"),
            caption="../report/device_fit_figure.rst",
            category="Figures",
            labels={"figure": "device fits"},
        ),
    log:
        "logs/plot_device_fits.log",
    script:
        "../scripts/job.py"
