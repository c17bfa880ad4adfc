"""A syntax sheet per track, generated from the lessons: the API their reference solutions use.

Each entry is a torch name (`torch.zeros`, `nn.Linear`, `F.relu`, `Tensor.view`)
with its signature and a one-line meaning, both read from torch's own
docstrings, and the lessons that use it.  Generating needs torch; the app reads
the result from `lessons/_sheet.json` (kept up to date by a test), so it never
imports torch on the UI thread.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, Iterable

from engine.lessons.format import Lesson, decoy_code

SHEET_FILE = "_sheet.json"
ROOTS = ("torch", "torch.nn", "torch.nn.functional", "torch.utils.data", "torch.optim", "torch.distributions")
SHORT = {"torch.nn.functional.": "F.", "torch.nn.": "nn."}


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to torch modules or objects by the solution's imports."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("torch"):
                    names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "torch"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch"):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def used_names(code: str) -> set[str]:
    """Full torch names a program calls: `torch.zeros`, `torch.nn.Linear`, `torch.Tensor.view`."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    aliases = _aliases(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts = _dotted(node.func)
        if parts and parts[0] in aliases:
            found.add(".".join([aliases[parts[0]], *parts[1:]]))
        elif isinstance(node.func, ast.Attribute):
            found.add(f"torch.Tensor.{node.func.attr}")  # a method on something: kept only if Tensor has it
    return found


def _resolve(name: str) -> Any:
    import importlib

    module, _, rest = name.partition(".")
    obj: Any = importlib.import_module(module)
    for part in rest.split(".") if rest else []:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(f"{obj.__name__}.{part}")
            except (ImportError, AttributeError):
                return None
    return obj


def describe(name: str) -> dict[str, str] | None:
    """Signature and one-line meaning from torch's docstrings; None for what is not torch API."""
    obj = _resolve(name)
    if obj is None or not (callable(obj) or isinstance(obj, type)):
        return None
    doc = (getattr(obj, "__doc__", None) or "").strip()
    if not doc:
        return None
    short = name
    for long, abbreviation in SHORT.items():
        short = short.replace(long, abbreviation)
    short = short.replace("torch.Tensor.", "Tensor.")
    signature, meaning = _signature_and_meaning(obj, doc, short.rsplit(".", 1)[-1])
    see = re.match(r"See (torch\.[\w.]+)", meaning)
    if see and see.group(1) != name:  # Tensor methods defer to the function: take its meaning
        meaning = (describe(see.group(1).rstrip(".")) or {}).get("meaning", meaning)
    return {"name": short, "signature": signature, "meaning": meaning}


def _signature_and_meaning(obj: Any, doc: str, bare: str) -> tuple[str, str]:
    import inspect

    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", doc) if p.strip()]
    first = paragraphs[0].splitlines()[0].strip() if paragraphs else ""
    if first.startswith(f"{bare}(") or re.match(r"[\w.]+\(", first):
        signature = first
        rest = paragraphs[1:]
    else:
        try:
            target = obj.__init__ if isinstance(obj, type) else obj
            params = str(inspect.signature(target)).replace("(self, ", "(").replace("(self)", "()")
        except (TypeError, ValueError):
            params = "(...)"
        signature = f"{bare}{params}"
        rest = paragraphs
    meaning = next((p for p in rest if not p.startswith((".. ", "Args", "Arguments", "Example", ">>>", "Note", "Warning"))), "")
    meaning = " ".join(meaning.split()).lstrip("-* ")
    meaning = re.sub(r":math:`[^`]*\\[^`]*`", "…", meaning)  # LaTeX does not read in a terminal
    meaning = re.sub(r":(class|func|attr|meth|math|ref|doc):`~?([^`]*)`", r"\2", meaning).replace("\\*", "*")
    meaning = meaning.replace("``", "`")
    sentence = re.split(r"(?<=[.!?])\s", meaning, maxsplit=1)[0]
    signature = signature.split(" -> ")[0].replace("\\*", "*")
    return signature[:140], sentence[:200]


def build(lessons: Iterable[Lesson]) -> dict[str, list[dict[str, Any]]]:
    """Track -> entries in the order the track's lessons first use them."""
    by_track: dict[str, dict[str, dict[str, Any]]] = {}
    cache: dict[str, dict[str, str] | None] = {}
    for lesson in lessons:
        if lesson.quiz is not None:
            continue  # a quiz's snippet is a question, not a model of how to write it
        codes = [
            code
            for rendered in _renderings(lesson)
            for code in (rendered.solution, *(decoy_code(rendered, a) for a in rendered.alternatives))
        ]
        names = sorted(set().union(*(used_names(code) for code in codes)))
        track = by_track.setdefault(lesson.track, {})
        for name in names:
            if name not in cache:
                cache[name] = describe(name)
            info = cache[name]
            if info is None:
                continue
            entry = track.setdefault(info["name"], {**info, "lessons": []})
            if lesson.id not in entry["lessons"]:
                entry["lessons"].append(lesson.id)
    return {track: list(entries.values()) for track, entries in by_track.items()}


def _renderings(lesson: Lesson, variants: int = 12) -> list[Lesson]:
    """The lesson as written, or several variants of it: params choose which functions are used."""
    from engine.lessons.variants import instantiate

    return [instantiate(lesson, v)[0] for v in range(variants)] if lesson.params else [lesson]


def load(pack: Path) -> dict[str, list[dict[str, Any]]]:
    """The sheet kept beside a pack's lessons, or nothing."""
    path = pack / SHEET_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def dump(sheet: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps(sheet, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
