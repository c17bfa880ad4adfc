"""What a check's expressions see inside the child: the modules and the seeded helpers.

`Modules` imports torch and friends before the learner's code runs, so a
later patch of `__import__` cannot swap what the checks use; `helpers` gives
each case its seeded `randn`, `grad_of`, `numgrad`, `printed`, `metric`, ...
"""

from __future__ import annotations

import io
import random
from contextlib import redirect_stdout
from typing import Any, Callable

from engine.sandbox import codec


class Modules:
    """What check expressions see, imported before the learner's code can patch imports."""

    def __init__(self) -> None:
        import math

        import numpy as np
        import torch
        import torch._dynamo  # noqa: F401  (... which, imported late, would look up users and write to /tmp)
        import torch.distributions as dist
        import torch.nn.functional as F
        import torch.optim  # noqa: F401  (creating an optimizer imports torch._dynamo ...)
        from torch import nn

        self.torch, self.np, self.nn, self.F, self.dist, self.math = torch, np, nn, F, dist, math
        self.randn, self.rand, self.randint = torch.randn, torch.rand, torch.randint
        self.Generator = torch.Generator
        codec.bind_torch(torch)
        from engine.jobs import toy

        self.toy = toy


def helpers(mods: Modules, seed: int, logged: list[dict[str, Any]]) -> dict[str, Any]:
    torch = mods.torch
    gen = mods.Generator().manual_seed(seed)
    f32 = torch.float32

    def randn(*shape: int, dtype: Any = f32, requires_grad: bool = False) -> Any:
        return mods.randn(*shape, generator=gen, dtype=dtype).requires_grad_(requires_grad)

    def rand(*shape: int, dtype: Any = f32) -> Any:
        return mods.rand(*shape, generator=gen, dtype=dtype)

    def randint(low: int, high: int, shape: Any) -> Any:
        return mods.randint(low, high, tuple(shape), generator=gen)

    def grad_of(fn: Callable[..., Any], *args: Any, wrt: int = 0) -> Any:
        """The gradient of fn(*args) (summed if not scalar) with respect to args[wrt]."""
        args_ = list(args)
        args_[wrt] = args_[wrt].detach().clone().requires_grad_(True)
        out = fn(*args_)
        (out if out.dim() == 0 else out.sum()).backward()
        return args_[wrt].grad

    def numgrad(fn: Callable[[Any], Any], x: Any, eps: float = 1e-6) -> Any:
        """Central finite differences of a scalar function, in float64."""
        x = x.detach().to(torch.float64).clone()
        flat = x.view(-1)
        out = torch.zeros_like(flat)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + eps
            hi = float(fn(x))
            flat[i] = old - eps
            lo = float(fn(x))
            flat[i] = old
            out[i] = (hi - lo) / (2 * eps)
        return out.view_as(x)

    def printed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        buf = io.StringIO()
        with redirect_stdout(buf):
            fn(*args, **kwargs)
        return buf.getvalue()

    def metric(name: str) -> list[float]:
        return [entry[name] for entry in logged if name in entry]

    def with_cuda(available: bool, fn: Callable[..., Any], *args: Any) -> Any:
        """Call fn as if a CUDA device were (or were not) present: device choice, tested anywhere."""
        real = torch.cuda.is_available
        torch.cuda.is_available = lambda: available
        try:
            return fn(*args)
        finally:
            torch.cuda.is_available = real

    def accuracy_of(model: Any, x: Any, y: Any, batch: int = 1000) -> float:
        """Share of correct argmax predictions, in eval mode, without gradients, on the model's device."""
        device = next(model.parameters()).device
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(x), batch):
                correct += int((model(x[i : i + batch].to(device)).argmax(1).cpu() == y[i : i + batch]).sum())
        return correct / max(len(x), 1)

    return {
        "torch": torch, "np": mods.np, "nn": mods.nn, "F": mods.F, "dist": mods.dist, "math": mods.math, "toy": mods.toy,
        "seed": seed, "randn": randn, "rand": rand, "randint": randint,
        "grad_of": grad_of, "numgrad": numgrad, "printed": printed, "metric": metric, "accuracy_of": accuracy_of, "with_cuda": with_cuda,
    }  # fmt: skip


def seed_everything(seed: int, mods: Modules | None = None) -> None:
    mods = mods or Modules()
    random.seed(seed)
    mods.np.random.seed(seed % (2**32))
    # CPU only: children are forked and must never touch CUDA.
    mods.torch._C.default_generator.manual_seed(seed)
