"""Device noise applied from outside a plain model: a noisy forward pass through ``torch.func.functional_call``.

The model's own parameters stay clean; every call draws fresh noise for every CIM weight (training semantics).
A per-layer sigma map is one argument, which is all OVF's "raise sigma in these layers" needs.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.func import functional_call

from neft.core.devices import DeviceCard
from neft.core.models import noisy_weight_names
from neft.util.checks import finite_number


class NoisyForward:
    """``noisy(x, sigma, generator)`` = ``model(x)`` with every Conv2d/Linear weight perturbed by ``card``."""

    def __init__(self, model: nn.Module, card: DeviceCard, layers: list[str] | None = None) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not callable(getattr(card, "perturb", None)):  # a DeviceCard, or a stand-in with its perturb
            raise TypeError(
                f"card must be a neft.core.devices.DeviceCard (neft.core.devices.get(name) gives one), got "
                f"{type(card).__name__} {card!r}"[:300]
            )
        if layers is not None and (isinstance(layers, str) or not all(isinstance(n, str) for n in layers)):
            raise TypeError(f"layers must be a list of parameter names (strings) or None, got {layers!r}"[:300])
        self.model = model
        self.card = card
        self.layers = list(layers) if layers is not None else noisy_weight_names(model)
        params = dict(model.named_parameters())
        unknown = [n for n in self.layers if n not in params]
        if unknown:
            raise ValueError(f"noisy layers not in the model: {', '.join(unknown)}")
        self._params = {n: params[n] for n in self.layers}

    def weights(self) -> list[torch.Tensor]:
        """The clean CIM weights (what a regulariser such as CorrectNet's acts on)."""
        return list(self._params.values())

    def noisy_parameters(
        self, sigma: float, generator: torch.Generator | None, layer_sigma: Mapping[str, float] | None = None
    ) -> dict[str, torch.Tensor]:
        finite_number(sigma, "sigma", minimum=0)
        if layer_sigma is not None and not isinstance(layer_sigma, Mapping):
            raise TypeError(f"layer_sigma must be a mapping of layer name to sigma or None, got {layer_sigma!r}"[:300])
        if layer_sigma:
            unknown = [n for n in layer_sigma if n not in self._params]
            if unknown:
                raise ValueError(f"layer_sigma names layers that are not noisy here: {', '.join(map(str, unknown))}")
            for name, s in layer_sigma.items():
                finite_number(s, f"layer_sigma[{name!r}]", minimum=0)
        out = {}
        for name, weight in self._params.items():
            s = layer_sigma.get(name, sigma) if layer_sigma else sigma
            if s:
                out[name] = self.card.perturb(weight, s, generator)
        return out

    def __call__(
        self,
        x: torch.Tensor,
        sigma: float,
        generator: torch.Generator | None = None,
        layer_sigma: Mapping[str, float] | None = None,
    ) -> torch.Tensor:
        noisy = self.noisy_parameters(sigma, generator, layer_sigma)
        if not noisy:
            return self.model(x)
        return functional_call(self.model, noisy, (x,))
