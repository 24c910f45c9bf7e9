"""Training methods. Importing this package registers every built-in method kind."""

from neft.core.methods import aihwkit_hwa, correctnet, irs, noise_injection, ovf, plain  # noqa: F401  (registration side effect)
from neft.core.methods.base import Method, Step
from neft.core.methods.registry import METHODS, MethodSpec, build_method, register

__all__ = ["METHODS", "Method", "Step", "MethodSpec", "build_method", "register"]
