"""VGG-8 as used by NeFT: six 3x3 conv+BN+ReLU layers in three stages, then a two-layer classifier."""

from __future__ import annotations

import torch
from torch import nn


def scaled(channels: int, width: float) -> int:
    """Channel count after the width multiplier; a width that rounds a layer to no channel is an error."""
    out = int(round(channels * width))
    if out < 1:
        raise ValueError(f"width {width:g} leaves a {channels}-channel layer with {channels * width:.3g} channels")
    return out


class VGG8(nn.Module):
    """64-128 | pool | 256-256 | pool | 512-512 | pool | FC 1024 | FC classes.

    ``width`` scales every conv and the hidden FC layer so a CPU can afford the mini scale. Module names
    (``features.0``, ``classifier.3`` ...) are stable because IRS taps and checkpoints refer to them.
    """

    stages = ((64, 128), (256, 256), (512, 512))
    #: every layer's channel count at width 1 (the config check rejects widths that round one of them to 0)
    base_channels = (64, 128, 256, 256, 512, 512, 1024)
    #: the smallest input side: three 2x poolings must leave at least one pixel
    min_image_size = 2 ** len(stages)

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        image_size: int = 32,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        self.width = width  # the multiplier it was built with: a checkpoint records it (neft.core.checkpoints)
        layers: list[nn.Module] = []
        channels = in_channels
        for stage in self.stages:
            for out in stage:
                out = scaled(out, width)
                layers += [
                    nn.Conv2d(channels, out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                ]
                channels = out
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        spatial = image_size // 2 ** len(self.stages)
        hidden = scaled(1024, width)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * spatial * spatial, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def init_weights(model: nn.Module) -> None:
    """Kaiming-normal (fan_out, relu) for every conv and linear weight, zero bias, as in the authors' code."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d,)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
