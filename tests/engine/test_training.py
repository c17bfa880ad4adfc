"""Training jobs: device choice, the event stream, cancel, checkpoint and exact resume, datasets."""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from engine import events as ev
from engine.jobs import datasets
from engine.jobs import worker as training
from engine.jobs.manager import TrainingRun, checkpoint_dir, run_to_end
from tests.conftest import ROOT

# --- devices -----------------------------------------------------------------------------------


def test_device_is_chosen_at_run_time(monkeypatch):
    import torch

    assert training.pick_device() == (
        "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert training.pick_device() == "cuda"  # preferred when present, without touching a GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training.pick_device() == "cpu" or training.pick_device() == "mps"
    with pytest.raises(RuntimeError, match="no CUDA device"):
        training.pick_device("cuda")
    assert training.pick_device("cpu") == "cpu"


def test_memory_readings_are_guarded():
    import torch

    resident = training.memory("cpu")["resident"]
    assert 10 << 20 < resident < os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if torch.cuda.device_count() < 8:  # a device that is not there reads as nothing, never a crash
        assert training.memory("cuda:7") == {}


# --- the event stream -------------------------------------------------------------------------


def test_a_job_streams_its_progress_and_meets_its_target():
    events = run_to_end(TrainingRun("moons-mlp", device="cpu"))
    assert isinstance(events[0], ev.JobStarted) and isinstance(events[-1], ev.JobEnd)
    job = events[0]
    assert job.device == "cpu" and job.device_name.startswith("CPU") and job.epochs == 4
    steps = [e for e in events if isinstance(e, ev.Step)]
    assert steps and steps[0].mem["resident"] > 0 and steps[0].samples_per_s > 0 and steps[0].loss > 0
    epochs = [e for e in events if isinstance(e, ev.EpochDone)]
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert any(isinstance(e, ev.Checkpoint) for e in events)
    end = events[-1]
    assert end.status == "done" and end.met is True and end.test_acc >= 0.95


def test_cancel_stops_a_job_cleanly():
    run = TrainingRun("moons-mlp", device="cpu", epochs=100_000).start()
    seen = []
    for event in run.events():
        seen.append(event)
        if isinstance(event, ev.EpochDone) and event.epoch == 2:
            run.cancel()
    end = seen[-1]
    assert isinstance(end, ev.JobEnd) and end.status == "cancelled"
    assert run.proc.poll() is not None  # the process is gone
    assert end.epochs_done < 100


def test_resume_continues_exactly_where_a_run_stopped():
    whole = run_to_end(TrainingRun("moons-mlp", device="cpu", epochs=4))[-1]
    shutil.rmtree(checkpoint_dir("moons-mlp"))
    first = run_to_end(TrainingRun("moons-mlp", device="cpu", epochs=2))[-1]
    assert first.epochs_done == 2
    events = run_to_end(TrainingRun("moons-mlp", device="cpu", epochs=4, resume=True))
    assert events[0].resumed_from == 2
    assert [e.epoch for e in events if isinstance(e, ev.EpochDone)] == [3, 4]
    resumed = events[-1]
    assert resumed.weights == whole.weights
    assert resumed.test_loss == pytest.approx(whole.test_loss, abs=0)


def test_tutor_train_json_prints_the_events():
    out = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "train", "moons-mlp", "--device", "cpu", "--epochs", "2", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = [ev.decode(line, ev.JOB_EVENTS) for line in out.stdout.splitlines()]  # each line a well-formed event
    assert isinstance(lines[0], ev.JobStarted) and isinstance(lines[-1], ev.JobEnd) and lines[-1].epochs_done == 2


def test_an_unavailable_device_fails_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")  # no GPU for the job, even on a machine that has one
    events = run_to_end(TrainingRun("moons-mlp", device="cuda"))
    assert events[-1].status == "failed" and "no CUDA device" in events[-1].error


def test_a_job_without_its_dataset_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_DATASETS", str(tmp_path / "none"))
    end = run_to_end(TrainingRun("mnist-mlp", device="cpu"))[-1]
    assert end.status == "failed" and "tutor data get mnist" in end.error


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
