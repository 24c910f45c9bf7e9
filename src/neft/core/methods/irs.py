"""IRS, intermediate representation snapshot (paper section 5): auxiliary heads on intermediate feature maps
feed their outputs back with the NeFT loss. Heads exist only in training; the checkpoint is the plain backbone."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neft.core.devices import DeviceCard
from neft.core.methods.base import Method, Step
from neft.core.methods.neft_loss import check_beta, check_temperature, neft_loss
from neft.core.methods.registry import register
from neft.core.noise import NoisyForward
from neft.util.checks import finite_number

#: (module name, adaptive pool size) per model, shallowest first (paper section 5, 32x32 inputs).
PAPER_TAPS: dict[str, list[tuple[str, int]]] = {
    "vgg8": [("features.2", 6), ("features.6", 4), ("features.13", 3)],
    "resnet18": [("stem", 6), ("layer1", 6), ("layer2", 4), ("layer3", 3)],
}


class Head(nn.Sequential):
    """AdaptiveAvgPool2d(p) -> flatten -> Linear(C p^2, hidden) -> ReLU -> Linear(hidden, classes)."""

    def __init__(self, channels: int, pool: int, hidden: int, classes: int) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(pool),
            nn.Flatten(),
            nn.Linear(channels * pool * pool, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, classes),
        )


class Heads(nn.Module):
    """The auxiliary heads of one backbone; hooks on the tapped modules capture their outputs."""

    def __init__(self, backbone: nn.Module, taps: list[tuple[str, int]], hidden: int, classes: int, image_size: int):
        super().__init__()
        modules = dict(backbone.named_modules())
        missing = [t for t, _ in taps if t not in modules]
        if missing:
            raise ValueError(f"IRS taps not in the model: {', '.join(missing)}")
        self.taps = [t for t, _ in taps]
        self.captured: dict[str, torch.Tensor] = {}
        self.active = False  # hooks record only inside IRS's loss (evaluation copies of the model keep them)
        for t in self.taps:
            modules[t].register_forward_hook(self._capture(t))
        channels = self._channels(backbone, image_size)
        self.heads = nn.ModuleList(Head(channels[t], p, hidden, classes) for t, p in taps)
        for m in self.heads.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def _capture(self, name: str):
        def hook(_module, _inputs, output):
            if self.active:
                self.captured[name] = output

        return hook

    def _channels(self, backbone: nn.Module, image_size: int) -> dict[str, int]:
        first = next(m for m in backbone.modules() if isinstance(m, nn.Conv2d))
        was = backbone.training
        backbone.eval()
        self.active = True
        with torch.no_grad():
            backbone(torch.zeros(1, first.in_channels, image_size, image_size, device=first.weight.device))
        self.active = False
        backbone.train(was)
        channels = {t: self.captured[t].shape[1] for t in self.taps}
        self.captured.clear()
        return channels

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        return [head(f) for head, f in zip(self.heads, features, strict=True)]


@register
@dataclass
class IRS(Method):
    kind = "irs"
    beta: float | str = "paper"
    #: list of [module name, pool size]; ``None`` = the paper's taps for the model
    taps: list | None = None
    hidden: int = 512
    #: sigma of the heads' own (always s = 1) noise; ``None`` = the training sigma, as the authors do
    head_sigma: float | None = None
    temperature: float | None = None

    def __post_init__(self) -> None:
        check_beta(self.beta, self.kind)
        finite_number(self.hidden, "irs hidden", integer=True, minimum=1)
        if self.head_sigma is not None:
            finite_number(self.head_sigma, "irs head_sigma (or null for the training sigma)", minimum=0)
        check_temperature(self.temperature, self.kind)
        if self.taps is not None:
            if not isinstance(self.taps, (list, tuple)) or not self.taps:
                raise ValueError(f"irs taps must be a non-empty list of [module name, pool size], got {self.taps!r}")
            for i, tap in enumerate(self.taps):
                if not (isinstance(tap, (list, tuple)) and len(tap) == 2 and isinstance(tap[0], str)):
                    raise ValueError(f"irs taps[{i}] must be [module name, pool size], got {tap!r}")
                finite_number(tap[1], f"irs taps[{i}] pool size", integer=True, minimum=1)

    def build_aux(
        self, model: nn.Module, card: DeviceCard, model_name: str, num_classes: int, image_size: int, sigma: float = 0.0
    ):
        taps = self.taps if self.taps is not None else PAPER_TAPS.get(model_name)
        if not taps:
            raise ValueError(f"no IRS taps known for model {model_name!r}; set methods.<name>.params.taps")
        heads = Heads(model, [(str(t), int(p)) for t, p in taps], self.hidden, num_classes, image_size)
        self._noisy_heads = NoisyForward(heads, card.uniform())
        return heads

    def describe(self, step: Step) -> str:
        heads = step.aux
        classes = ", ".join(str(c) for c in sorted({head[-1].out_features for head in heads.heads}))
        return f"IRS: {len(heads.heads)} heads on {', '.join(heads.taps)} -> {classes} classes"

    def loss(self, step: Step, x, y):
        heads = step.aux
        heads.active = True
        try:
            out = step.noisy(x, step.sigma, step.generator)
        finally:
            heads.active = False
        features = [heads.captured[t] for t in heads.taps]
        heads.captured.clear()
        s = step.sigma if self.head_sigma is None else self.head_sigma
        feedback = self._noisy_heads(features, s, step.generator)
        return neft_loss(out, feedback, y, step.beta(self.beta, self.kind), self.temperature)
