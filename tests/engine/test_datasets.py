"""Datasets offline: verified by checksum, read safely, converted from the formats people have."""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from engine.jobs import datasets

# --- datasets -------------------------------------------------------------------------------------


@pytest.fixture
def own_datasets(tmp_path, monkeypatch):
    """These tests write datasets: never into the shared cache the lesson tests read."""
    monkeypatch.setenv("TUTOR_DATASETS", str(tmp_path / "datasets"))


def test_stored_datasets_are_verified_by_checksum(own_datasets):
    split = datasets.Split(np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4), np.array([0, 1]))
    path = datasets.store("tiny", {"train": split, "test": split}, "tests")
    assert datasets.verify("tiny")["sizes"] == {"train": 2, "test": 2}
    loaded = datasets.load("tiny", "train")
    assert (loaded.images == split.images).all() and loaded.labels.tolist() == [0, 1]
    data = bytearray((path / "train.npz").read_bytes())
    data[-20] ^= 0xFF
    (path / "train.npz").write_bytes(bytes(data))
    with pytest.raises(datasets.DatasetError, match="checksum"):
        datasets.load("tiny", "train")
    with pytest.raises(datasets.DatasetError, match="tutor data get mnist"):
        datasets.verify("mnist")


def test_the_unpickler_accepts_arrays_and_refuses_anything_else():
    arrays = (np.zeros((2, 3), dtype=np.float32), np.array([1, 2]))
    back = datasets.safe_unpickle(pickle.dumps(arrays))
    assert back[0].shape == (2, 3)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        datasets.safe_unpickle(pickle.dumps(Evil()))


def test_mnist_from_a_torchvision_root(tmp_path, monkeypatch, own_datasets):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)

    def idx(path, array):
        header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
        with gzip.open(path, "wb") as f:
            f.write(header + array.astype(np.uint8).tobytes())

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        idx(raw / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        idx(raw / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    monkeypatch.setenv("TUTOR_TORCHVISION_ROOT", str(tmp_path))
    datasets.get_mnist(log=lambda *_: None)
    info = datasets.verify("mnist")
    assert info["sizes"] == {"train": 12, "test": 5} and info["shape"] == [28, 28]


@pytest.mark.parametrize("fmt", ["binary", "python"])
def test_the_real_cifar10_format_reader(tmp_path, fmt, own_datasets):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar"
    folder.mkdir()
    expected = {}
    for name in ["data_batch_1", "data_batch_2", "test_batch"]:
        images = rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, 4)
        expected[name] = (images, labels)
        if fmt == "binary":
            records = np.concatenate([labels[:, None].astype(np.uint8), images.reshape(4, -1)], axis=1)
            (folder / f"{name}.bin").write_bytes(records.tobytes())
        else:
            batch = {b"data": images.reshape(4, -1), b"labels": labels.tolist(), b"batch_label": b"x"}
            (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    datasets.get_cifar10(log=lambda *_: None, folder=folder)
    train, test = datasets.load("cifar10", "train"), datasets.load("cifar10", "test")
    assert train.images.shape == (8, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    assert (train.images[:4] == expected["data_batch_1"][0]).all()
    assert train.labels.tolist() == expected["data_batch_1"][1].tolist() + expected["data_batch_2"][1].tolist()


@pytest.mark.slow
def test_cifar_like_is_learnable_by_a_cnn_but_not_by_colour():
    import torch
    from torch import nn

    tr, te = datasets.cifar_like(1500, 0), datasets.cifar_like(500, 1)
    x, y = torch.from_numpy(tr.images).float() / 255, torch.from_numpy(tr.labels)
    tx, ty = torch.from_numpy(te.images).float() / 255, torch.from_numpy(te.labels)
    assert x.shape == (1500, 3, 32, 32) and set(y.tolist()) == set(range(10))

    def accuracy(make_model, epochs):
        torch.manual_seed(0)  # before the model is built: its initial weights are part of the run
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), 3e-3)
        for _ in range(epochs):
            for i in range(0, len(x), 100):
                opt.zero_grad()
                nn.functional.cross_entropy(model(x[i : i + 100]), y[i : i + 100]).backward()
                opt.step()
        with torch.no_grad():
            return (model(tx).argmax(1) == ty).float().mean().item()

    def mean_colour():
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 10))

    def cnn():
        return nn.Sequential(nn.Conv2d(3, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(16 * 64, 10))

    assert accuracy(mean_colour, 3) < 0.2
    # Over eight seeds this CNN ends between 47 % and 73 % after 12 epochs; chance is 10 %.
    assert accuracy(cnn, 12) > 0.3


def test_our_resnet18_matches_torchvision_in_size():
    from engine.jobs.models import ResNet18, parameter_count, torchvision_resnet18_count

    ours = parameter_count(ResNet18(classes=10))
    theirs = torchvision_resnet18_count(10)
    assert theirs is not None
    # Only the stem differs: a 3x3 conv instead of 7x7 (64*3*(49-9) weights fewer).
    assert theirs - ours == 64 * 3 * (49 - 9)
