"""Training methods. Importing this package registers every built-in method kind."""

from neft.methods import aihwkit_hwa, correctnet, irs, noise_injection, ovf, plain  # noqa: F401  (registration side effect)
from neft.methods.base import Method, Step
from neft.methods.registry import METHODS, build_method, register

__all__ = ["METHODS", "Method", "Step", "build_method", "register"]
