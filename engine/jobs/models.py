"""The reference models of the built-in training jobs, written in the project."""

from __future__ import annotations

from torch import Tensor, nn


class MLP(nn.Module):
    """784 → 256 → 128 → 10 with ReLU and dropout: the MNIST reference (> 95 % test accuracy)."""

    def __init__(self, inputs: int = 784, hidden: tuple[int, ...] = (256, 128), classes: int = 10, dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = inputs
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head, for 1×28×28 (or 3×32×32) images."""

    def __init__(self, channels: int = 1, classes: int = 10, size: int = 28):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * (size // 4) ** 2, 128), nn.ReLU(), nn.Linear(128, classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and an identity (or 1×1 projected) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for 32×32 inputs: a 3×3 stem without max-pooling, then [2, 2, 2, 2] blocks.

    Same block counts and widths as torchvision's resnet18 (11.2 M parameters
    with a 10-class head); only the stem differs, as is usual for CIFAR.
    """

    def __init__(self, classes: int = 10, channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        layers = []
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.layers(self.stem(x))).flatten(1))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def torchvision_resnet18_count(classes: int = 10) -> int | None:
    """torchvision's resnet18 parameter count, for comparison, when torchvision is installed."""
    try:
        from torchvision.models import resnet18
    except Exception:
        return None
    return parameter_count(resnet18(num_classes=classes))
