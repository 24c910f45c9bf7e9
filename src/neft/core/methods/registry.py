"""Method registry: ``kind`` -> class. Adding a method is one module with a ``@register``-ed dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neft.core.methods.base import Method
from neft.core.methods.neft_loss import resolve_beta

METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    if not cls.kind or cls.kind in METHODS:
        raise ValueError(f"method kind {cls.kind!r} is empty or registered twice")
    METHODS[cls.kind] = cls
    return cls


def build_method(kind: str, params: dict[str, Any] | None = None) -> Method:
    if kind not in METHODS:
        raise ValueError(f"unknown method kind {kind!r}; allowed: {', '.join(sorted(METHODS))}")
    cls = METHODS[kind]
    params = dict(params or {})
    unknown = sorted(set(params) - set(cls.parameter_names()))
    if unknown:
        raise ValueError(
            f"method kind {kind!r} has no parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(cls.parameter_names()) or 'none'}"
        )
    return cls(**params)


@dataclass(frozen=True)
class MethodSpec:
    """A method as a job trains it: the config's ``methods.<name>`` kind and parameters (its label and grid keys are the
    workflow's). ``params()`` is what a rule's ``params.method`` holds; ``build()`` the method; ``beta(model,
    dataset)`` a NeFT method's feedback weight resolved (``"paper"``: the paper's value for that pair)."""

    kind: str
    parameters: dict = field(default_factory=dict)

    @classmethod
    def from_params(cls, entry) -> MethodSpec:
        """From ``methods.<name>`` (or a rule's ``params.method``): ``params`` missing or null means none."""
        if isinstance(entry, cls):
            return entry
        return cls(entry["kind"], dict(entry.get("params") or {}))

    def params(self) -> dict:
        return {"kind": self.kind, "params": self.parameters}

    def build(self) -> Method:
        return build_method(self.kind, self.parameters)

    def beta(self, model: str, dataset: str) -> float:
        """The feedback weight it trains with on (model, dataset): its ``beta``, else its kind's default
        (``"paper"``), resolved to a number."""
        method = self.build()
        return resolve_beta(method.beta, model, dataset, method.kind)
