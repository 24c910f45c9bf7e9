"""Method registry: ``kind`` -> class. Adding a method is one module with a ``@register``-ed dataclass."""

from __future__ import annotations

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


def configured_beta(entry: dict, model: str, dataset: str) -> float:
    """The feedback weight a NeFT method of the config (``methods.<name>``: kind and params) trains with on (model,
    dataset): its ``params.beta``, else its kind's default (``"paper"``), resolved to a number."""
    method = build_method(entry["kind"], entry.get("params"))
    return resolve_beta(method.beta, model, dataset, method.kind)
