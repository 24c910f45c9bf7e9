"""Layer 7, the top: the benchmark (python -m neft.tools.bench) and the GPU acceptance run (python -m
neft.tools.acceptance)."""
