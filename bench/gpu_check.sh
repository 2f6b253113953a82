#!/usr/bin/env bash
# What only a GPU can show, as one run with a time limit per part (bench/README.md, "The GPU run"):
# the card, the `gpu` tests on the tiny models, then the quick full-size bench. Each part's log is
# written to LOG_DIR as it runs, so a run cut short still leaves what finished.
#
#   bash bench/gpu_check.sh [LOG_DIR]          # PYTHON=python3 to use another interpreter than .venv's
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
logs=${1:-gpu-check}
mkdir -p "$logs"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1

nvidia-smi > "$logs/nvidia-smi.txt" 2>&1
"$python" - > "$logs/versions.txt" 2>&1 << 'EOF'
import importlib.metadata as metadata, sys, torch
print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())
for name in ("diffusers", "transformers", "peft", "accelerate", "cog", "coglet", "nvidia-ml-py", "numpy"):
    print(name, metadata.version(name))
EOF
cat "$logs/versions.txt"
"$python" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA device'" || exit 1

timeout 150 "$python" -m pytest -m gpu -s -q -rs -p no:cacheprovider tests/test_gpu.py 2>&1 |
    tee "$logs/pytest-gpu.log"
tests=${PIPESTATUS[0]}
timeout "${BENCH_TIMEOUT_S:-420}" "$python" bench/gpu.py --quick --size 1024 --steps 20 \
    --scenarios "${SCENARIOS:-capped,training,compiled}" 2>&1 |
    tee "$logs/bench-gpu.log"
bench=${PIPESTATUS[0]}
echo "gpu tests rc $tests, gpu bench rc $bench"
exit $((tests || bench))
