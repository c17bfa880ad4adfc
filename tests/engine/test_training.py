"""Training jobs: device choice, the event stream, cancel, checkpoint and exact resume, datasets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from engine import events as ev
from engine.jobs import devices as training
from engine.jobs.manager import TrainingRun, checkpoint_dir, run_to_end
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

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


@pytest.mark.parametrize(
    ("schedule", "at_half", "at_end"),
    [("onecycle", 0.8, 0.0), ("cosine", 0.5, 0.0), ("step", 0.1, 0.01), ("none", 1.0, 1.0)],
)
def test_each_schedule_shapes_the_learning_rate_as_named(schedule, at_half, at_end):
    import torch

    from engine.jobs.worker import make_scheduler

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = make_scheduler(schedule, optimizer, 0.1, total_steps=100)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    peak = max(rates)
    assert peak == pytest.approx(0.1, rel=0.01)  # every schedule reaches the job's rate
    assert rates[50] / 0.1 == pytest.approx(at_half, abs=0.1)
    assert rates[-1] / 0.1 == pytest.approx(at_end, abs=0.02)
    if schedule == "onecycle":
        assert rates[0] < 0.01  # warms up from a small rate


def test_compare_schedules_runs_the_job_under_each_and_keeps_their_checkpoints_apart(tmp_path):
    env = {**os.environ, "TUTOR_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "train", "moons-mlp", "--device", "cpu", "--epochs", "2", "--compare-schedules"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    table = out.stdout[out.stdout.index("schedules compared") :]
    for schedule in ("onecycle", "cosine", "step", "none"):
        assert schedule in table
        assert (tmp_path / "runs" / f"moons-mlp-{schedule}" / "last.pt").is_file()
    assert "★" in table
