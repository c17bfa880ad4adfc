"""The built-in training jobs: what each trains, on what, for how long, and the target it must reach.

Kept apart from the worker so the app and the CLI can list jobs without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobSpec:
    name: str
    title: str
    model: str
    dataset: str
    epochs: int
    batch_size: int
    lr: float
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "none"  # one of SCHEDULES
    target: float | None = None  # test accuracy to reach
    augment: bool = False
    val_size: int = 5000
    limit: int | None = None  # train on the first N examples only


# Learning-rate schedules a job can run under, all stepped once per batch so they compare on one axis:
# onecycle warms up then anneals (OneCycleLR); cosine anneals from the start; step divides by 10 at
# half and three quarters of the steps (the classic ResNet recipe); none keeps the rate fixed.
SCHEDULES = ("onecycle", "cosine", "step", "none")

JOBS: dict[str, JobSpec] = {
    "mnist-mlp": JobSpec("mnist-mlp", "MLP on MNIST", "mlp", "mnist", epochs=3, batch_size=128, lr=1e-3, target=0.95),
    "mnist-cnn": JobSpec("mnist-cnn", "Small CNN on MNIST", "cnn", "mnist", epochs=2, batch_size=128, lr=1e-3, target=0.98),
    "cifar-resnet18": JobSpec(
        "cifar-resnet18",
        "ResNet-18 on CIFAR-10 (or cifar-like)",
        "resnet18",
        "cifar10",
        epochs=15,
        batch_size=128,
        lr=0.1,
        optimizer="sgd",
        weight_decay=5e-4,
        schedule="onecycle",
        target=0.90,
        augment=True,
    ),
    "moons-mlp": JobSpec(
        "moons-mlp",
        "Small MLP on two moons (seconds)",
        "mlp-small",
        "moons",
        epochs=4,
        batch_size=64,
        lr=1e-2,
        target=0.95,
        val_size=200,
    ),
}
