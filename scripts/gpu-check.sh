#!/usr/bin/env bash
# The GPU check, in one call, on a machine with an NVIDIA GPU whose Python (3.12) has torch and
# torchvision preinstalled, and no network.  Run scripts/gpu-prepare.sh first where there is a
# network, and carry .cache/gpu (wheels and MNIST) along.  It prints each figure:
#   1. tutor doctor                         devices, sandbox layers
#   2. tutor dev check                      every lesson that prefers a GPU (spawned children, CUDA)
#   3. tutor train mnist-mlp --device cuda  with and without --amp: accuracy, samples/s, time
#   4. tutor bench engine --device cuda     the job engine's overhead on the GPU
# and ends with one line per step, ok or FAILED.  Well inside 8 minutes on an H100.
#
# Here (no GPU):  DEVICE=cpu TUTOR_ENV=.venv bash scripts/gpu-check.sh   runs the same steps on the CPU,
# in the project's own environment instead of a fresh one.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
GPU_DIR=${GPU_DIR:-.cache/gpu}
started=$SECONDS

if [ -n "${TUTOR_ENV:-}" ]; then
    PY="$TUTOR_ENV/bin/python"
else
    # The machine's own torch, seen through --system-site-packages; everything else from the wheels.
    BASE=${PYTHON:-$(command -v python3.12 || command -v python3)}
    "$BASE" -m venv --system-site-packages .cache/gpu-venv
    .cache/gpu-venv/bin/pip install -q --no-index --find-links "$GPU_DIR/wheels" -e . || { echo "install FAILED"; exit 1; }
    PY=.cache/gpu-venv/bin/python
fi
TUTOR_HOME=$(mktemp -d)
TUTOR_DATASETS=$(mktemp -d)
export TUTOR_HOME TUTOR_DATASETS TUTOR_TORCHVISION_ROOT="$GPU_DIR"

results=()
step() {  # step NAME SECONDS COMMAND...: run it, time it, remember ok or FAILED
    local name=$1 limit=$2
    shift 2
    echo
    echo "== $name"
    local t0=$SECONDS
    if timeout "$limit" "$@"; then
        results+=("ok      $name ($((SECONDS - t0)) s)")
    else
        results+=("FAILED  $name ($((SECONDS - t0)) s)")
    fi
}


step "doctor" 60 "$PY" -m tutor.cli doctor
step "MNIST from the carried files" 120 "$PY" -m tutor.cli data get mnist
gpu_lessons=$("$PY" -c "from engine.lessons.loader import load_catalog
print(' '.join(i.lesson.id for i in load_catalog().lessons if i.lesson.requires.device != 'cpu'))")
echo "lessons that prefer a GPU: $gpu_lessons"
# shellcheck disable=SC2086
step "dev check, GPU lessons" 240 "$PY" -m tutor.cli dev check --variants 1 $gpu_lessons
step "train mnist-mlp --device $DEVICE" 150 "$PY" -m tutor.cli train mnist-mlp --device "$DEVICE"
if [ "$DEVICE" = cuda ]; then
    step "train mnist-mlp --device cuda --amp" 150 "$PY" -m tutor.cli train mnist-mlp --device cuda --amp
fi
step "bench engine --device $DEVICE" 120 "$PY" -m tutor.cli bench engine --device "$DEVICE"

echo
echo "== summary ($((SECONDS - started)) s in all, device $DEVICE)"
printf '%s\n' "${results[@]}"
! printf '%s\n' "${results[@]}" | grep -q FAILED
