#!/usr/bin/env bash
# On a machine with a CUDA GPU: the CUDA-only tests, the default suite with CUDA visible, and
# short CUDA benchmarks. Every step runs even if an earlier one fails; the exit status says
# whether all passed. Works without installing the package (it falls back to PYTHONPATH=.).
#   bash scripts/gpu_check.sh                       # email-eu benchmark (synthetic if absent)
#   DATASET=synthetic bash scripts/gpu_check.sh
#   GNN_SPARSE_SHARED_DATA=/path/to/data bash scripts/gpu_check.sh
#   SKIP_SUITE=1 bash scripts/gpu_check.sh          # only the CUDA tests and benchmarks
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
"$PY" -c "import gnn_sparse" 2>/dev/null || export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
# the real graphs of a checkout: ../shared/data beside it, unless named otherwise
[ -n "${GNN_SPARSE_SHARED_DATA:-}" ] || [ ! -d ../shared/data ] || export GNN_SPARSE_SHARED_DATA="$PWD/../shared/data"
"$PY" - <<'PY' || exit 1
import sys, torch
if not torch.cuda.is_available():
    sys.exit("gpu_check.sh: CUDA is not available (torch %s); run it on a machine with a GPU" % torch.__version__)
print("CUDA device:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
PY

failed=()
step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2; shift 2
    echo "=== $name"
    local start=$SECONDS
    timeout "$limit" "$@"
    local rc=$?
    echo "=== $name: exit $rc after $((SECONDS - start)) s"
    [ "$rc" -eq 0 ] || failed+=("$name (exit $rc)")
}

step "cuda tests" 150 "$PY" -m pytest -q -p no:cacheprovider -n 0 -m cuda_only \
    tests/training/test_training_cuda.py tests/sparsity/test_sparsifier.py
if [ -z "${SKIP_SUITE:-}" ]; then
    # The default suite with a GPU visible (tests that pick "auto" get CUDA).
    step "default suite" 200 "$PY" -m pytest -q -p no:cacheprovider ${SUITE_ARGS:-}
fi
step "sparsifier benchmark" 60 "$PY" benchmarks/bench_sparsifier.py --device cuda --steps 200
step "ResNet-50 benchmark" 60 "$PY" benchmarks/bench_cnn.py --device cuda
step "link-prediction benchmark" 100 "$PY" benchmarks/bench_link_prediction.py --dataset "${DATASET:-email-eu}" \
    --device cuda --timed-epochs 2 --repeats 2 --full-epochs "${FULL_EPOCHS:-5}"

if [ ${#failed[@]} -gt 0 ]; then
    printf 'gpu_check.sh: FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "gpu_check.sh: all steps passed"
