#!/usr/bin/env bash
# Prepare, on a machine with network, what scripts/gpu-check.sh needs on a GPU machine without:
#   .cache/gpu/wheels     the project's dependencies other than torch and torchvision, as wheels
#                         for the GPU machine's Python (3.12 by default), plus setuptools and wheel
#   .cache/gpu/MNIST/raw  MNIST in its original gzip'd idx files (about 11 MiB), from the test cache
# Carry .cache/gpu to the GPU machine with the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
PYVER=${GPU_PYTHON_VERSION:-3.12}
OUT=.cache/gpu
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT/wheels"
deps=$("$PY" - <<'PYEOF'
import tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print(" ".join(d for d in deps if not d.startswith(("torch", "torchvision"))))
PYEOF
)
# shellcheck disable=SC2086
"$PY" -m pip download -q --dest "$OUT/wheels" --only-binary=:all: --python-version "$PYVER" \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    $deps "setuptools>=68" wheel
TUTOR_DATASETS=${TUTOR_DATASETS:-.cache/datasets} "$PY" - "$OUT" <<'PYEOF'
# MNIST as idx files: tutor converts them offline with `tutor data get mnist` (TUTOR_TORCHVISION_ROOT).
import gzip, struct, sys
from pathlib import Path
import numpy as np
from engine.jobs import datasets
raw = Path(sys.argv[1]) / "MNIST" / "raw"
raw.mkdir(parents=True, exist_ok=True)
for split, prefix in (("train", "train"), ("test", "t10k")):
    data = datasets.load("mnist", split)
    for kind, array in (("images-idx3", data.images), ("labels-idx1", data.labels)):
        header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
        with gzip.open(raw / f"{prefix}-{kind}-ubyte.gz", "wb", compresslevel=6) as f:
            f.write(header + array.astype(np.uint8).tobytes())
PYEOF
du -sh "$OUT"/wheels "$OUT"/MNIST
