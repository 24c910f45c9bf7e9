"""Model registry: plain ``nn.Module``s that know nothing about noise (it is applied from outside)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from neft.core.models.resnet import ResNet18
from neft.core.models.vgg import VGG8
from neft.util.checks import finite_number

#: name -> constructor(num_classes, in_channels, image_size, width)
MODELS: dict[str, Callable[..., nn.Module]] = {"vgg8": VGG8, "resnet18": ResNet18}
#: the paper's Adam learning rates (``models.<name>.lr: null`` takes these; another model takes ``FALLBACK_LR``)
PAPER_LR = {"vgg8": 1e-3, "resnet18": 1e-2}
FALLBACK_LR = 1e-3


@dataclass(frozen=True)
class ModelSpec:
    """A model of the config (``models.<name>``): its registry name, channel width multiplier and Adam learning rate
    (None: the paper's, ``PAPER_LR``). Each default is stated here once and equals the schema's (tests/test_specs.py).
    ``params()`` is what a rule's ``params.model`` holds."""

    name: str
    width: float = 1.0
    lr: float | None = None

    def __post_init__(self) -> None:
        if self.lr is None:
            object.__setattr__(self, "lr", PAPER_LR.get(self.name, FALLBACK_LR))

    @classmethod
    def from_params(cls, name: str, entry: dict | None = None) -> ModelSpec:
        """From ``models.<name>`` (or a rule's ``params.model``): missing keys take their defaults."""
        entry = dict(entry or {})
        return cls(name, **{k: entry[k] for k in ("width", "lr") if k in entry})

    def params(self) -> dict:
        return {"width": self.width, "lr": self.lr}


def build_model(
    name: str, num_classes: int, in_channels: int = 3, image_size: int = 32, width: float = 1.0
) -> nn.Module:
    """One of ``MODELS``; every argument checked as the config's dataset and model entries are (num_classes an
    integer in [2, 100000], in_channels in [1, 64], image_size in [1, 4096] and at least the model's smallest, width a
    finite number > 0 that leaves every layer a channel), with a ValueError naming the argument and what it allows."""
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(sorted(MODELS))}")
    for what, value, lo, hi in (
        ("num_classes", num_classes, 2, 100_000),
        ("in_channels", in_channels, 1, 64),
        ("image_size", image_size, 1, 4096),
    ):
        finite_number(value, what, integer=True, minimum=lo, maximum=hi)
    finite_number(width, "width", above=0)
    problems = size_problems(name, width, image_size)
    if problems:
        raise ValueError("; ".join(problems))
    return MODELS[name](num_classes=num_classes, in_channels=in_channels, image_size=image_size, width=width)


def size_problems(name: str, width: float, image_size: int) -> list[str]:
    """Why ``name`` cannot be built at ``width`` on ``image_size`` inputs (empty when it can), without building it."""
    cls = MODELS[name]
    problems = []
    thinnest = min(cls.base_channels)
    if int(round(thinnest * width)) < 1:
        problems.append(
            f"width {width:g} leaves the {thinnest}-channel layer of {name} with no channel "
            f"(the width must exceed 0.5 / {thinnest} = {0.5 / thinnest:.4g}, so that it rounds to one channel)"
        )
    if image_size < cls.min_image_size:
        problems.append(f"{name} needs images of at least {cls.min_image_size} pixels, got {image_size}")
    return problems


def noisy_weight_names(model: nn.Module) -> list[str]:
    """Parameter names of every Conv2d and Linear weight: the weights a CIM chip stores (biases and BN are not)."""
    return [f"{name}.weight" for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


__all__ = ["MODELS", "ResNet18", "VGG8", "build_model", "noisy_weight_names", "size_problems"]
