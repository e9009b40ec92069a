#!/usr/bin/env bash
# On a machine with a CUDA GPU: run the CUDA-only tests, then a short CUDA benchmark.
#   bash scripts/gpu_check.sh            # email-eu benchmark (falls back to synthetic if absent)
#   DATASET=synthetic bash scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("gpu_check.sh: CUDA is not available (torch %s); run it on a machine with a GPU" % torch.__version__)
print("CUDA device:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
PY
python -m pytest -q -m cuda_only
DATASET="${DATASET:-email-eu}"
python benchmarks/bench_link_prediction.py --dataset "$DATASET" --device cuda --timed-epochs 2 --repeats 2 \
    --full-epochs "${FULL_EPOCHS:-5}"
python benchmarks/bench_sparsifier.py --device cuda --steps 200
python benchmarks/bench_cnn.py --device cuda
