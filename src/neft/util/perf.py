"""Process-level performance settings every workflow job applies at start-up.

glibc serves every allocation of at least M_MMAP_THRESHOLD bytes (up to 32 MiB by default, dynamically) with a
fresh mmap and returns it with munmap, so each large activation tensor is page-faulted in again on every forward
pass: on a 2-core CPU this costs up to half the time of an evaluation at batch 128+. Raising the threshold (and the
trim threshold) keeps freed blocks in the heap for reuse. ``python -m neft.tools.bench`` measures the effect.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass, fields

import torch

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: glibc's ceiling for its dynamic mmap threshold on 64-bit (what a long-running process converges to)
GLIBC_DEFAULT_MMAP_THRESHOLD = 32 * 1024 * 1024
TUNED_MMAP_THRESHOLD = 1 << 30


def _libc():
    if os.name != "posix":
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") else None
    except OSError:
        return None


def set_mmap_threshold(nbytes: int) -> bool:
    """Allocations below ``nbytes`` come from (and return to) the heap. True if glibc accepted it."""
    libc = _libc()
    if libc is None:
        return False
    ok = libc.mallopt(M_MMAP_THRESHOLD, ctypes.c_int(min(nbytes, 2**31 - 1)))
    libc.mallopt(M_TRIM_THRESHOLD, ctypes.c_int(min(2 * nbytes, 2**31 - 1)))
    return bool(ok)


def tune_process(threads: int, deterministic: bool = False) -> None:
    """Fixed torch thread count (from config, so results do not depend on --cores), the allocator fix, and true
    fp32 on GPUs (cuDNN would use TF32 for convolutions by default; reduced precision is an explicit option).

    ``deterministic`` (``compute.deterministic``) makes GPU training repeatable where PyTorch can: deterministic
    kernels wherever one exists, cuDNN's deterministic kernels without autotuning, and the cuBLAS workspace setting
    CUDA requires for them (set here, before the first cuBLAS call). An op without a deterministic CUDA kernel warns
    instead of failing (``warn_only``): adaptive average pooling's backward is one (ResNet-18's global pool, the IRS
    heads), so those trainings can still differ in the last bits. CPUs are deterministic without it.
    """
    torch.set_num_threads(max(1, int(threads)))
    set_mmap_threshold(TUNED_MMAP_THRESHOLD)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


@dataclass(frozen=True)
class ComputeSpec:
    """Where and how a job computes: the config's ``compute`` section, the part a job reads (the rest are cluster
    requests the Snakefile reads). Each default is stated here once and equals the schema's (tests/test_specs.py)."""

    device: str = "auto"
    threads: int = 1
    deterministic: bool = False

    @classmethod
    def from_params(cls, compute) -> ComputeSpec:
        """From a rule's ``params.compute`` (:meth:`params`) or the config's ``compute`` section: a missing key takes
        its default; keys a job does not read (runtimes, memory) are ignored."""
        if isinstance(compute, cls):
            return compute
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(compute).items() if k in names})

    def params(self) -> dict:
        """The rule params Snakemake tracks: device and threads; ``deterministic`` only when on, so finished jobs stay
        fresh while it is off."""
        out = {"device": self.device, "threads": self.threads}
        if self.deterministic:
            out["deterministic"] = True
        return out

    def apply(self) -> None:
        """This process computes as the spec says (:func:`tune_process`)."""
        tune_process(self.threads, bool(self.deterministic))
