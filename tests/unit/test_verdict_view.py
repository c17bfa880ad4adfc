"""The verdict as a learner reads it: errors in plain words once, notes beneath, nothing parsed as markup."""

from __future__ import annotations

from rich.console import Console

from engine.checks.checker import CheckResult, Verdict
from tutor.core.render import verdict_view

TRACEBACK = "  line 6, in ridge_loss\n    pred = X @ w.T + b\nRuntimeError: mat1 and mat2 shapes cannot be multiplied ({})"
PARAGRAPH = "Line 6 (`pred = X @ w.T + b`) multiplies a {} matrix by a [bold]1x4[/bold] one."


def screen(verdict: Verdict, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(verdict_view(verdict, width=width))
    return console.export_text()


def failing(name: str, sizes: str) -> CheckResult:
    return CheckResult(name, False, "raised RuntimeError", traceback=TRACEBACK.format(sizes),
                       explanation=PARAGRAPH.format(sizes))  # fmt: skip


def test_one_error_at_one_line_is_explained_once_across_checks():
    verdict = Verdict("x/y", False, [failing("first", "5x4"), failing("second", "61x3")])
    text = screen(verdict)
    assert text.count("In plain words:") == 1
    assert "a 5x4 matrix by a [bold]1x4[/bold] one" in text  # literal: never read as markup
    assert text.count("mat1 and mat2") == 2  # each check keeps its own traceback


def test_notes_show_beneath_the_verdict_with_line_and_id_even_on_a_pass():
    notes = [{"id": "legacy-constructor", "line": 10, "message": "`torch.Tensor(...)` is the legacy [red]constructor[/red]."}]
    text = screen(Verdict("x/y", True, [CheckResult("works", True)], notes=notes))
    assert "PASSED 1/1" in text and "on how it is written" in text
    assert "line 10" in text and "[legacy-constructor]" in text and "[red]constructor[/red]" in text


def test_a_module_error_shows_its_traceback_and_paragraph():
    verdict = Verdict("x/y", False, [CheckResult("works", False, "no result came back for this check")],
                      traceback="  line 3\n    x += 1\nRuntimeError: a leaf Variable", explanation="Line 3 (`x += 1`) changes a leaf.")  # fmt: skip
    text = screen(verdict)
    assert "traceback (your lines)" in text and "In plain words: Line 3 (`x += 1`) changes a leaf." in text
