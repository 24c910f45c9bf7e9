"""OVF, oriented variational forward (paper section 4): besides the forward at the training sigma, N forwards
with *larger* variation (sigma + offsets, fresh noise each) are fed back with the NeFT loss."""

from __future__ import annotations

from dataclasses import dataclass, field

from neft.core.methods.base import Method, Step
from neft.core.methods.neft_loss import check_beta, check_temperature, neft_loss
from neft.core.methods.registry import register
from neft.util.checks import finite_number

RAISE_IN = ("all", "authors")


@register
@dataclass
class OVF(Method):
    kind = "ovf"
    beta: float | str = "paper"
    #: sigma offsets of the oriented passes, largest first (gamma 1, 0.1, 0.01)
    offsets: list[float] = field(default_factory=lambda: [0.15, 0.10, 0.05])
    #: ``all``: every noisy layer sees the raised sigma (the method as described, default);
    #: ``authors``: the authors' code, where ResNet-18 raises it only in the stem conv and the final linear layer
    #: (its blocks copy the attribute at construction) and VGG-8 in every layer.
    raise_in: str = "all"
    temperature: float | None = None

    def __post_init__(self) -> None:
        check_beta(self.beta, self.kind)
        if not isinstance(self.raise_in, str) or self.raise_in not in RAISE_IN:
            raise ValueError(f"ovf raise_in is {self.raise_in!r}; allowed: {', '.join(RAISE_IN)}")
        if not isinstance(self.offsets, (list, tuple)) or not self.offsets:
            raise ValueError(f"ovf offsets must be a non-empty list of non-negative numbers, got {self.offsets!r}")
        for i, offset in enumerate(self.offsets):
            finite_number(offset, f"ovf offsets[{i}]", minimum=0)
        check_temperature(self.temperature, self.kind)

    def raised_layers(self, layers: list[str], model_name: str) -> list[str]:
        if self.raise_in == "authors" and model_name == "resnet18":
            return [layers[0], layers[-1]]
        return list(layers)

    def describe(self, step: Step) -> str:
        raised = self.raised_layers(step.noisy.layers, step.model_name)
        return f"OVF (raise_in {self.raise_in}): sigma raised in {len(raised)} of {len(step.noisy.layers)} layers"

    def loss(self, step: Step, x, y):
        out = step.noisy(x, step.sigma, step.generator)
        raised = self.raised_layers(step.noisy.layers, step.model_name)
        feedback = []
        for off in self.offsets:
            s = step.sigma + off
            layer_sigma = None if len(raised) == len(step.noisy.layers) else {n: s for n in raised}
            base = step.sigma if layer_sigma else s
            feedback.append(step.noisy(x, base, step.generator, layer_sigma=layer_sigma))
        return neft_loss(out, feedback, y, step.beta(self.beta, self.kind), self.temperature)
