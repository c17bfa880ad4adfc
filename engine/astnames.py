"""Dotted names read from a learner's AST: shared by the static checks and the code notes."""

from __future__ import annotations

import ast

# Names everybody writes short; resolved even without an import line.
CONVENTIONAL = {"nn": "torch.nn", "F": "torch.nn.functional", "optim": "torch.optim", "np": "numpy"}


def dotted_name(node: ast.AST) -> str | None:
    """`torch.nn.functional.relu` for that attribute chain; None when it does not start at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
