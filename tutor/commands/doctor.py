"""`tutor doctor`: true facts about this machine, as tutor sees them."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from importlib import metadata
from typing import Any

from rich.console import Console
from rich.table import Table

from engine import paths
from tutor.commands import EXIT_OK


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _highlighting() -> dict[str, Any]:
    """Whether the editor can highlight Python: tree-sitter and its Python grammar load."""
    try:
        import tree_sitter
        import tree_sitter_python

        tree_sitter.Language(tree_sitter_python.language())
    except Exception as exc:  # any failure means plain text in the editor
        return {"active": False, "why": f"{type(exc).__name__}: {exc}"}
    return {"active": True, "tree_sitter": _version("tree-sitter"), "grammar": _version("tree-sitter-python")}


def _devices() -> dict[str, Any]:
    # This process never forks afterwards, so asking CUDA here is safe.
    import torch

    info: dict[str, Any] = {"cuda": torch.cuda.is_available(), "cuda_build": torch.version.cuda}
    if info["cuda"]:
        info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    info["mps"] = bool(mps and mps.is_available())
    info["best"] = "cuda" if info["cuda"] else "mps" if info["mps"] else "cpu"
    info["cpu_threads"] = torch.get_num_threads()
    return info


def _datasets() -> dict[str, Any]:
    root = paths.datasets_dir()
    present = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []
    return {"dir": str(root), "present": present}


def _sandbox() -> dict[str, str]:
    """The confinement layers a check run gets here, found by trying each one."""
    import os
    import shutil

    from engine.sandbox.confine import available_layers, bwrap_usable

    layers = available_layers()
    if bwrap_usable() and os.environ.get("TUTOR_BWRAP") != "0":
        layers["bubblewrap"] = "active (outer layer: read-only filesystem but the jobs folder, empty network namespace)"
    elif shutil.which("bwrap"):
        layers["bubblewrap"] = "unavailable: installed but cannot create a sandbox here (user namespaces?)"
    else:
        layers["bubblewrap"] = "not installed (optional outer layer; e.g. apt install bubblewrap)"
    return layers


def facts() -> dict[str, Any]:
    out: dict[str, Any] = {
        "sandbox": _sandbox(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "tutor": _version("tutor"),
        "torch": _version("torch"),
        "torchvision": _version("torchvision"),
        "textual": _version("textual"),
        "highlighting": _highlighting(),
        "data_dir": str(paths.home()),
        "datasets": _datasets(),
    }
    out["devices"] = _devices() if out["torch"] else {"best": "none", "why": "torch is not installed"}
    return out


def doctor(args: argparse.Namespace) -> int:
    info = facts()
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    table = Table(title="tutor doctor", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    ok, bad = "[green]✔[/]", "[red]✘[/]"
    table.add_row("Python", f"{info['python']} ({info['executable']})")
    table.add_row("tutor", str(info["tutor"]))
    table.add_row("torch", f"{ok if info['torch'] else bad} {info['torch'] or 'not installed'}")
    table.add_row("torchvision", f"{ok if info['torchvision'] else bad} {info['torchvision'] or 'not installed'}")
    dev = info["devices"]
    if "cuda" in dev:
        cuda = (
            f"{ok} {', '.join(dev['cuda_devices'])}"
            if dev["cuda"]
            else f"no GPU (torch built for CUDA {dev['cuda_build']})"
            if dev["cuda_build"]
            else "no (CPU build of torch)"
        )
        table.add_row("CUDA", cuda)
        table.add_row("MPS", "yes" if dev["mps"] else "no")
    table.add_row("runs on", f"[b]{dev['best']}[/]")
    hl = info["highlighting"]
    table.add_row(
        "highlighting",
        f"{ok} tree-sitter {hl['tree_sitter']}, python grammar {hl['grammar']}"
        if hl["active"]
        else f"{bad} plain text ({hl['why']})",
    )
    for layer, state in info["sandbox"].items():
        mark = ok if state.startswith("active") else "[yellow]–[/]"
        table.add_row(f"sandbox: {layer}", f"{mark} {state}")
    table.add_row("data dir", info["data_dir"])
    ds = info["datasets"]
    table.add_row("datasets", ", ".join(ds["present"]) or f"none yet (in {ds['dir']})")
    Console().print(table)
    return EXIT_OK
