"""Training jobs: the worker process and the loop it runs.

`python -m engine.jobs.worker '<json>'` is always *spawned*, never forked, so
it may use CUDA.  It picks the best device present (CUDA, then MPS, then
CPU) unless told, trains a built-in job, and writes JSON-line events to the
file descriptor it was given: the job events of engine.events (job, step,
metric, epoch, checkpoint, end).

Runs are reproducible: data order comes from a generator seeded per epoch,
and every checkpoint holds the model, optimizer, scheduler, scaler and all
random states, so `resume` continues exactly where a run stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine import events
from engine.jobs.devices import device_name, memory, pick_device
from engine.jobs.specs import JOBS, SCHEDULES, JobSpec

STEP_EVENT_S = 0.5  # at most two step events a second: neither the loop nor the app pays for the progress bar


# --- data -----------------------------------------------------------------------------------------


@dataclass
class Data:
    train_x: Any
    train_y: Any
    val_x: Any
    val_y: Any
    test_x: Any
    test_y: Any
    source: str


def load_data(spec: JobSpec, seed: int) -> Data:
    import numpy as np
    import torch

    if spec.dataset == "moons":
        from engine.jobs import toy

        x, y = toy.moons(2000, noise=0.15, seed=seed)
        tx, ty = toy.moons(500, noise=0.15, seed=seed + 1)
        n_val = spec.val_size
        return Data(x[n_val:], y[n_val:], x[:n_val], y[:n_val], tx, ty, "generated two moons")
    from engine.jobs import datasets

    name = spec.dataset
    if name == "cifar10" and datasets.manifest("cifar10") is None:
        if datasets.manifest("cifar-like") is None:
            datasets.get_cifar_like(log=lambda *_: None)
        name = "cifar-like"
    train = datasets.load(name, "train")
    test = datasets.load(name, "test")

    def tensors(split) -> tuple[Any, Any]:
        x = torch.from_numpy(split.images.astype(np.float32) / 255.0)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return x, torch.from_numpy(split.labels)

    x, y = tensors(train)
    tx, ty = tensors(test)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True)
    x, tx = (x - mean) / std, (tx - mean) / std
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = order[: spec.val_size], order[spec.val_size :]
    if spec.limit:
        train_idx = train_idx[: spec.limit]
    return Data(x[train_idx], y[train_idx], x[val_idx], y[val_idx], tx, ty, datasets.manifest(name)["source"])


def build_model(spec: JobSpec, data: Data):
    from engine.jobs import models

    shape = tuple(data.train_x.shape[1:])
    classes = int(max(data.train_y.max(), data.test_y.max()) + 1)
    if spec.model == "mlp":
        return models.MLP(inputs=int(math.prod(shape)), classes=classes)
    if spec.model == "mlp-small":
        return models.MLP(inputs=int(math.prod(shape)), hidden=(32, 32), classes=classes, dropout=0.0)
    if spec.model == "cnn":
        return models.SmallCNN(channels=shape[0], classes=classes, size=shape[-1])
    if spec.model == "resnet18":
        return models.ResNet18(classes=classes, channels=shape[0])
    raise ValueError(f"unknown model {spec.model}")


# --- events -------------------------------------------------------------------------------------------


class Emitter:
    """Job events to a file descriptor, one line each; `None` discards (the bare benchmark)."""

    def __init__(self, fd: int | None):
        self.fd = fd

    def __call__(self, event: events.Event) -> None:
        if self.fd is None:
            return
        data = events.encode(event)
        while data:
            data = data[os.write(self.fd, data) :]


@dataclass
class Reporter:
    """Counts steps cheaply; emits step and metric events at most every STEP_EVENT_S."""

    emit: Emitter
    device: str
    epochs: int
    steps_per_epoch: int
    batch_size: int
    first_epoch: int = 0
    started: float = field(default_factory=time.perf_counter)
    last_emit: float = 0.0
    done_steps: int = 0
    window_samples: int = 0
    window_start: float = field(default_factory=time.perf_counter)
    lr: float = 0.0

    def step(self, epoch: int, step: int, loss_value: Callable[[], float]) -> None:
        self.done_steps += 1
        self.window_samples += self.batch_size
        now = time.perf_counter()
        last_of_epoch = step == self.steps_per_epoch - 1  # every epoch leaves a point on the curve
        if now - self.last_emit < STEP_EVENT_S and not last_of_epoch:
            return
        self.last_emit = now
        loss = loss_value()  # syncs the device: only when an event is really sent
        rate = self.window_samples / max(now - self.window_start, 1e-9)
        self.window_samples, self.window_start = 0, now
        total = (self.epochs - self.first_epoch) * self.steps_per_epoch
        per_step = (now - self.started) / max(self.done_steps, 1)
        global_step = epoch * self.steps_per_epoch + step
        self.emit(events.Step(
            epoch=epoch, step=step, steps=self.steps_per_epoch, loss=loss, lr=self.lr,
            samples_per_s=round(rate, 1), eta_s=round(per_step * max(total - self.done_steps, 0), 1),
            mem=memory(self.device), global_step=global_step,
        ))  # fmt: skip
        self.emit(events.Metric(step=global_step, values={"loss": loss}))


# --- the loop ---------------------------------------------------------------------------------------


class Cancelled(Exception):
    pass


_cancel = {"asked": False}


def _ask_cancel(*_: object) -> None:
    _cancel["asked"] = True


def train_steps(
    model,
    batches,
    optimizer,
    loss_fn,
    device: str,
    on_step=None,
    scaler=None,
    amp: bool = False,
    epoch: int = 0,
    augment: Callable | None = None,
) -> tuple[float, float]:
    """One pass over `batches`: the same loop for the bare benchmark and for jobs."""
    import torch

    model.train()
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for step, (xb, yb) in enumerate(batches):
        if _cancel["asked"]:
            raise Cancelled()
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        if augment is not None:
            xb = augment(xb)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.float16, enabled=amp):
            out = model(xb)
            loss = loss_fn(out, yb)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        total_loss += loss.detach() * len(xb)
        correct += (out.detach().argmax(1) == yb).sum()
        seen += len(xb)
        if on_step is not None:
            on_step(epoch, step, lambda loss=loss: float(loss.detach()))
    return float(total_loss) / max(seen, 1), float(correct) / max(seen, 1)


def evaluate(model, x, y, device: str, batch_size: int = 1000) -> tuple[float, float]:
    import torch
    import torch.nn.functional as F

    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb, yb = x[i : i + batch_size].to(device), y[i : i + batch_size].to(device)
            out = model(xb)
            total += float(F.cross_entropy(out.float(), yb, reduction="sum"))
            correct += int((out.argmax(1) == yb).sum())
    return total / max(len(x), 1), correct / max(len(x), 1)


def _batches(x, y, batch_size: int, seed: int, epoch: int):
    import torch

    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    for i in range(0, len(x), batch_size):
        idx = order[i : i + batch_size]
        yield x[idx], y[idx]


def _augment(xb):
    """Random crop with 4-pixel padding and horizontal flips, on the batch's device."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = xb.shape
    padded = F.pad(xb, (4, 4, 4, 4), mode="reflect")
    dx, dy = torch.randint(0, 9, (2,)).tolist()
    out = padded[:, :, dy : dy + h, dx : dx + w]
    flip = torch.rand(n, device=xb.device) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def _rng_state(device: str) -> dict[str, Any]:
    import numpy as np
    import torch

    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]), "python_version": random.getstate()[0],
             "python_gauss": random.getstate()[2], "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64)),
             "numpy_pos": int(np.random.get_state()[2])}  # fmt: skip
    if device.startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], device: str) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(state["torch"])
    random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0))
    if device.startswith("cuda") and "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def weights_digest(model) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def train(config: dict[str, Any], emit: Emitter) -> dict[str, Any]:
    import torch
    from torch import nn

    base = JOBS[config["job"]]
    spec = JobSpec(**{**asdict(base), **{k: v for k, v in config.get("overrides", {}).items() if v is not None}})
    seed = int(config.get("seed", 0))
    device = pick_device(config.get("device"))
    amp = bool(config.get("amp")) and device.startswith("cuda")
    ckpt_dir = Path(config["checkpoint_dir"])
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = ckpt_dir / "last.pt"
    every = max(1, int(config.get("checkpoint_every", 1)))

    torch.manual_seed(seed)
    random.seed(seed)
    data = load_data(spec, seed)
    model = build_model(spec, data).to(device)
    if spec.optimizer == "sgd":
        optimizer = torch.optim.SGD(
            model.parameters(), lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay, nesterov=True
        )
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    steps_per_epoch = math.ceil(len(data.train_x) / spec.batch_size)
    scheduler = make_scheduler(spec.schedule, optimizer, spec.lr, spec.epochs * steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda") if amp else None
    history: list[dict[str, Any]] = []
    first_epoch = 0
    resumed = None
    if config.get("resume") and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"], device)
        first_epoch = resumed = int(state["epoch"])
        history = json.loads(state["history"])

    emit(events.JobStarted(
        job=spec.name, title=spec.title, device=device, device_name=device_name(device), epochs=spec.epochs,
        steps_per_epoch=steps_per_epoch, batch_size=spec.batch_size, params=sum(p.numel() for p in model.parameters()),
        amp=amp, resumed_from=resumed, target=spec.target, data=data.source, train_size=len(data.train_x),
    ))  # fmt: skip
    reporter = Reporter(emit, device, spec.epochs, steps_per_epoch, spec.batch_size, first_epoch=first_epoch)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    status = "done"
    try:
        for epoch in range(first_epoch, spec.epochs):
            epoch_start = time.perf_counter()
            reporter.lr = optimizer.param_groups[0]["lr"]
            batches = _batches(data.train_x, data.train_y, spec.batch_size, seed, epoch)
            on_step = reporter.step
            if scheduler is not None:

                def on_step(e, s, loss_value, _report=reporter.step):  # noqa: E306 - the scheduler steps per batch
                    scheduler.step()
                    reporter.lr = optimizer.param_groups[0]["lr"]
                    _report(e, s, loss_value)

            train_loss, train_acc = train_steps(
                model, batches, optimizer, loss_fn, device, on_step, scaler, amp, epoch,
                _augment if spec.augment else None,
            )  # fmt: skip
            val_loss, val_acc = evaluate(model, data.val_x, data.val_y, device)
            row = {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss,
                   "val_acc": val_acc, "lr": optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - epoch_start}  # fmt: skip
            history.append(row)
            emit(events.EpochDone(**row))
            emit(events.Metric(step=(epoch + 1) * steps_per_epoch,
                               values={"val_loss": val_loss, "val_acc": val_acc, "train_acc": train_acc}))  # fmt: skip
            if (epoch + 1) % every == 0 or epoch + 1 == spec.epochs:
                _save_checkpoint(ckpt_path, model, optimizer, scheduler, scaler, epoch + 1, history, device)
                emit(events.Checkpoint(epoch=epoch + 1, path=str(ckpt_path)))
    except Cancelled:
        status = "cancelled"
    test_loss, test_acc = evaluate(model, data.test_x, data.test_y, device) if status == "done" else (None, None)
    summary = {
        "status": status, "test_loss": test_loss, "test_acc": test_acc, "target": spec.target,
        "met": None if test_acc is None or spec.target is None else test_acc >= spec.target,
        "seconds": time.perf_counter() - started, "device": device, "weights": weights_digest(model),
        "epochs_done": len(history), "peak": memory(device),
    }  # fmt: skip
    emit(events.JobEnd(**summary))
    return summary


def make_scheduler(schedule: str, optimizer, lr: float, total_steps: int):
    """The job's learning-rate schedule, stepped once per batch; None for a fixed rate."""
    import torch

    sched = torch.optim.lr_scheduler
    if schedule == "onecycle":
        return sched.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)
    if schedule == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=total_steps)
    if schedule == "step":
        return sched.MultiStepLR(optimizer, milestones=[total_steps // 2, total_steps * 3 // 4], gamma=0.1)
    if schedule == "none":
        return None
    raise ValueError(f"unknown schedule {schedule!r}; one of {', '.join(SCHEDULES)}")


def _save_checkpoint(path: Path, model, optimizer, scheduler, scaler, epoch: int, history, device: str) -> None:
    import torch

    state = {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "epoch": epoch, "history": json.dumps(history), "rng": _rng_state(device),
    }  # fmt: skip
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # a crash mid-write never leaves a half checkpoint behind


def main() -> None:
    config = json.loads(sys.argv[1])
    fd = int(config["events_fd"])
    emit = Emitter(fd)
    signal.signal(signal.SIGTERM, _ask_cancel)
    signal.signal(signal.SIGINT, _ask_cancel)
    try:
        train(config, emit)
    except Exception as exc:  # say why, on the channel, then fail
        emit(events.JobEnd(status="failed", error=f"{type(exc).__name__}: {exc}"))
        sys.exit(1)


if __name__ == "__main__":
    main()
