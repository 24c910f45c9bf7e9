"""Display labels: how models, datasets, methods' comparisons, scales, study levels and bands read in figures,
tables and text. No matplotlib here, so the table and text writers import it without a plotting backend."""

from __future__ import annotations

import numpy as np

from neft.experiment.grid import DRIFT, OFF, time_text

MODEL_NAMES = {"vgg8": "VGG-8", "resnet18": "ResNet-18"}
DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "tiny_imagenet": "Tiny ImageNet"}


SCALE_NOTES = {
    "test": "test scale (CI smoke run): tiny models and data, numbers are not meaningful",
    "mini": "mini scale: narrow VGG-8, few epochs, rescaled sigma grid (docs/calibration.md); not the paper's numbers",
    "paper-smoke": "paper-smoke scale: the paper's grid on tiny models and synthetic data; numbers are not meaningful",
}


#: what the accuracy figure's band spans (``neft.analysis.results.accuracy_curves``, ``neft.util.stats.two_level``):
#: two levels,
#: training seeds and chips. The caption (workflow/report/accuracy_figure.rst) and the report say these words.
ACCURACY_BAND_SPANS = "training seeds and chips"
ACCURACY_BAND = (
    f"over {ACCURACY_BAND_SPANS}: a t-interval over the training seeds' means, each seed's mean taken over its "
    "chips (with one seed, over its chips)"
)
#: what the expected-KL band spans (``neft.analysis.results.ekl_interval``,
#: ``neft.util.stats.bootstrap_mean_interval``): the chips
#: only, given the trained seeds (workflow/report/uncertainty.rst says these words)
UNCERTAINTY_BAND = (
    "the chips' part only: a normal interval from each seed's chip-bootstrap standard error, the seeds' mean ± "
    "z · sqrt(Σ se²) / seeds, clipped at 0"
)


def method_label(methods: dict, name: str) -> str:
    """A method's legend label: ``methods.<name>.label``, or the method's name when it has none (the schema's rule)."""
    return methods[name].get("label") or name


def panel_title(model: str, dataset: str) -> str:
    return f"{MODEL_NAMES.get(model, model)} / {DATASET_NAMES.get(dataset, dataset)}"


COMPARISON_LABELS = {
    "gain": "NeFT - W/ Noise",
    "temp": "temperature alone",
    "structure": "passes/heads, no feedback",
    "feedback": "feedback term",
}


def level_label(study: str, level: str, time_s=None) -> str:
    """How a level reads in a table or on an axis."""
    if level == OFF:
        return {"adc_bits": "ideal", "dac_bits": "ideal", DRIFT: "trained card"}.get(study, "off")
    if study == DRIFT and time_s is not None and np.isfinite(time_s):
        return time_text(time_s)
    return level


STUDY_TITLES = {
    "read_noise": "read noise (std / programmed weight)",
    "dac_bits": "DAC bits (inputs)",
    "adc_bits": "ADC bits (MVM outputs)",
    "stuck_fraction": "stuck devices (fraction)",
    DRIFT: "time since programming",
}
