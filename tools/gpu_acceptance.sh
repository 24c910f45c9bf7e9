#!/usr/bin/env bash
# One command on a machine with one NVIDIA GPU: is the workflow correct and fast there? (about 8 minutes)
#   tools/gpu_acceptance.sh            # on the GPU; numbers to docs/bench/<gpu-name>.json
#   tools/gpu_acceptance.sh --cpu      # the same steps on a CPU-only machine (CI's rehearsal)
#   tools/gpu_acceptance.sh --help     # options (--work, --out, --cores, --gpu-jobs, --chips, --quick-bench,
#                                      --skip-test-scale)
# The steps and what each checks: src/neft/tools/acceptance.py. Needs the project installed (README, "Quick start"); on a
# GPU machine torch must be a CUDA build of the locked version (docs/install.md; docs/paper-scale.md).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
[ -x "$py" ] || py=python3
exec "$py" -m neft.tools.acceptance "$@"
