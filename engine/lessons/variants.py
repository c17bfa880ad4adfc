"""Seeded variants: pick a lesson's parameters and render its templates.

A drill such as "create a zeros tensor of shape S and dtype D" declares
params; each variant seed picks one value per param, and every `{{name}}`
in the task, code, hints and checks is replaced by that value written as a
Python literal (lists become tuples, so shapes read naturally).
"""

from __future__ import annotations

import random
import re
from typing import Any

from engine.lessons.format import Between, Choice, Lesson

_TEMPLATE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def literal(value: Any) -> str:
    """A value as Python source: [3, 4] -> (3, 4), [5] -> (5,)."""
    if isinstance(value, list):
        return repr(tuple(literal_value(v) for v in value))
    return str(value) if isinstance(value, str) else repr(value)


def literal_value(value: Any) -> Any:
    return tuple(literal_value(v) for v in value) if isinstance(value, list) else value


def draw(spec: Choice | Between | Any, rng: random.Random) -> Any:
    if isinstance(spec, Choice):
        return spec.choice[rng.randrange(len(spec.choice))]
    if isinstance(spec, Between):
        lo, hi = spec.between
        if isinstance(lo, int) and isinstance(hi, int):
            return rng.randint(lo, hi)
        return rng.uniform(lo, hi)
    return spec


def pick_params(lesson: Lesson, variant: int) -> dict[str, Any]:
    """The parameter values of one variant; variant 0 is the lesson's default."""
    rng = random.Random(f"{lesson.id}#{variant}")
    return {name: draw(spec, rng) for name, spec in lesson.params.items()}


def render(text: str, params: dict[str, Any]) -> str:
    if not params or "{{" not in text:
        return text
    return _TEMPLATE.sub(lambda m: literal(params[m.group(1)]) if m.group(1) in params else m.group(0), text)


def instantiate(lesson: Lesson, variant: int = 0) -> tuple[Lesson, dict[str, Any]]:
    """The lesson with every template filled in for this variant, and its params."""
    params = pick_params(lesson, variant)
    if not params:
        return lesson, params
    data = lesson.model_dump()
    rendered = _render_tree(data, params)
    rendered["params"] = {}
    return Lesson.model_validate(rendered), params


def _render_tree(node: Any, params: dict[str, Any]) -> Any:
    if isinstance(node, str):
        return render(node, params)
    if isinstance(node, list):
        return [_render_tree(v, params) for v in node]
    if isinstance(node, tuple):
        return tuple(_render_tree(v, params) for v in node)
    if isinstance(node, dict):
        return {k: _render_tree(v, params) for k, v in node.items()}
    return node
