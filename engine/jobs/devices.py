"""Devices for training: which to use (chosen at run time), its name, and memory readings.

Asking whether CUDA is there does not initialise it; training on it happens
only in spawned processes (the worker, a GPU check), never in one that forks.
"""

from __future__ import annotations

import os
import resource


def pick_device(preferred: str | None = None) -> str:
    """CUDA, then MPS, then CPU; a preferred device must really be there."""
    import torch

    if preferred:
        kind = preferred.split(":")[0]
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("--device cuda asked for, but no CUDA device is available")
        if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise RuntimeError("--device mps asked for, but MPS is not available")
        return preferred
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    if device == "mps":
        return "Apple MPS"
    import platform

    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def memory(device: str) -> dict[str, int]:
    """Allocated and peak bytes on a GPU; resident bytes on the CPU.  Never raises."""
    try:
        import torch

        if device.startswith("cuda"):
            dev = torch.device(device)
            if not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count():
                return {}  # no such GPU: nothing to read (and nothing to initialise)
            return {"allocated": torch.cuda.memory_allocated(dev), "peak": torch.cuda.max_memory_allocated(dev)}
        if device == "mps" and hasattr(torch, "mps"):
            return {"allocated": int(torch.mps.current_allocated_memory())}
    except Exception:
        return {}
    try:
        with open("/proc/self/statm") as f:
            return {"resident": int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")}
    except OSError:
        return {"resident": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
