"""Static constraints, decided on the learner's AST in the trusted parent.

Names are resolved through the learner's imports, so `import torch.nn as nn;
nn.Module`, `from torch import optim` and `from torch.nn import Module` all
count as using `torch.nn.Module` / `torch.optim`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from engine.astnames import CONVENTIONAL, dotted_name
from engine.lessons.format import Constraints

LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_LOOP_WORDS = {
    ast.For: "a for loop", ast.AsyncFor: "a for loop", ast.While: "a while loop",
    ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression",
}  # fmt: skip


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    line: int


def check_constraints(code: str, constraints: Constraints, filename: str = "<your code>") -> list[Violation]:
    try:
        tree = ast.parse(code, filename=filename)
    except SyntaxError as exc:
        return [Violation("syntax", describe_syntax_error(exc), exc.lineno or 1)]
    return check_tree(tree, constraints)


def check_tree(tree: ast.Module, constraints: Constraints) -> list[Violation]:
    """The lesson's rules (no loops, banned and required names) on code already parsed."""
    out: list[Violation] = []
    out += _loops(tree, constraints.no_loops)
    used = _used_names(tree)
    for banned in constraints.banned:
        for name, line in used:
            if _matches(name, banned):
                out.append(Violation("banned", f"`{banned}` is not allowed here (line {line})", line))
                break
    for required in constraints.required:
        if not any(_matches(name, required) for name, _ in used):
            out.append(Violation("required", f"this lesson asks you to use `{required}`", 1))
    return out


def describe_syntax_error(exc: SyntaxError) -> str:
    return f"SyntaxError: {exc.msg} (line {exc.lineno})"


def syntax_error(code: str, filename: str = "<your code>") -> Violation | None:
    try:
        ast.parse(code, filename=filename)
    except SyntaxError as exc:
        return Violation("syntax", describe_syntax_error(exc), exc.lineno or 1)
    return None


def _loops(tree: ast.Module, names: list[str]) -> list[Violation]:
    if not names:
        return []
    out = []
    targets: list[tuple[str, ast.AST]] = []
    everywhere = "*" in names
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (everywhere or node.name in names):
            targets.append((f"`{node.name}`", node))
    if "<module>" in names or everywhere:
        top = ast.Module(
            body=[n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))],
            type_ignores=[],
        )
        targets.append(("the top level", top))
    missing = [n for n in names if n not in ("*", "<module>") and not any(t[0] == f"`{n}`" for t in targets)]
    for name in missing:
        out.append(Violation("missing", f"define a function named `{name}`", 1))
    for label, node in targets:
        for inner in ast.walk(node):
            if isinstance(inner, LOOPS):
                word = _LOOP_WORDS[type(inner)]
                out.append(
                    Violation(
                        "no_loops", f"{label} uses {word} (line {inner.lineno}); do it with whole-tensor operations", inner.lineno
                    )
                )
                break
    return out


def _used_names(tree: ast.Module) -> list[tuple[str, int]]:
    """Every dotted name the code imports or reads, resolved through its import aliases."""
    aliases: dict[str, str] = dict(CONVENTIONAL)
    used: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
                used.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                aliases[alias.asname or alias.name] = full
                used.append((full, node.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            dotted = dotted_name(node)
            if dotted:
                head, _, rest = dotted.partition(".")
                base = aliases.get(head, head)
                used.append((f"{base}.{rest}" if rest else base, node.lineno))
            used.append(("." + node.attr, node.lineno))
        elif isinstance(node, ast.Name) and node.id in aliases:
            used.append((aliases[node.id], node.lineno))
    return used


def _matches(name: str, rule: str) -> bool:
    """`torch.optim` bans torch.optim and everything under it; `.sigmoid` bans any attribute sigmoid."""
    if rule.startswith("."):
        return name == rule
    head = rule.split(".")[0]
    rule = CONVENTIONAL.get(head, head) + rule[len(head) :]
    return name == rule or name.startswith(rule + ".")
