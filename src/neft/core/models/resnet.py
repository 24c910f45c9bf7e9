"""CIFAR-style ResNet-18: 3x3 stride-1 stem, no max-pool, BasicBlocks [2, 2, 2, 2], global average pool.

The projection shortcut of a downsampling block (a 1x1 convolution with stride 2) is written as "keep every
second pixel, then a 1x1 convolution with stride 1": the same products and the same parameters. Why: with torch
2.13's CPU build, oneDNN's backward of a strided 1x1 convolution in channels_last with few input channels (4 or 8,
i.e. widths 1/16 and 1/8) on inputs of 48 pixels or more corrupts the heap ("corrupted size vs. prev_size"), which
killed every narrow ResNet-18 training on Tiny ImageNet in the paper-smoke run (tests/test_models.py keeps the
reproduction).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neft.core.models.vgg import init_weights, scaled


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        self.stride = stride
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=1, bias=False),  # stride applied by subsampling in forward
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x[:, :, :: self.stride, :: self.stride] if self.stride != 1 else x
        return F.relu(out + self.shortcut(skip))


class ResNet18(nn.Module):
    """Widths 64/128/256/512 times ``width``; ``stem``, ``layer1``..``layer4`` and ``fc`` are the tap names."""

    base_channels = (64, 128, 256, 512)
    min_image_size = 1  # strided convs and global pooling accept any input side

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        image_size: int = 32,
        width: float = 1.0,
        blocks: tuple[int, ...] = (2, 2, 2, 2),
    ) -> None:
        super().__init__()
        self.width = width  # the multiplier it was built with: a checkpoint records it (neft.core.checkpoints)
        del image_size  # global pooling makes the head independent of the input size
        planes = [scaled(p, width) for p in (64, 128, 256, 512)]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, planes[0], 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(planes[0]),
            nn.ReLU(inplace=True),
        )
        in_planes = planes[0]
        stages = []
        for i, (p, n) in enumerate(zip(planes, blocks)):
            stride = 1 if i == 0 else 2
            layers = []
            for j in range(n):
                layers.append(BasicBlock(in_planes, p, stride if j == 0 else 1))
                in_planes = p
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))
