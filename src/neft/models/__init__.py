"""Model registry: plain ``nn.Module``s that know nothing about noise (it is applied from outside)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from neft.models.resnet import ResNet18
from neft.models.vgg import VGG8

#: name -> constructor(num_classes, in_channels, image_size, width)
MODELS: dict[str, Callable[..., nn.Module]] = {"vgg8": VGG8, "resnet18": ResNet18}


def build_model(
    name: str, num_classes: int, in_channels: int = 3, image_size: int = 32, width: float = 1.0
) -> nn.Module:
    try:
        ctor = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(sorted(MODELS))}") from None
    return ctor(num_classes=num_classes, in_channels=in_channels, image_size=image_size, width=width)


def noisy_weight_names(model: nn.Module) -> list[str]:
    """Parameter names of every Conv2d and Linear weight: the weights a CIM chip stores (biases and BN are not)."""
    return [f"{name}.weight" for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


__all__ = ["MODELS", "ResNet18", "VGG8", "build_model", "noisy_weight_names"]
