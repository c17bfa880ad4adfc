"""Feedback in the app: shapes beside the editor's lines after a failure, the reference beside your code after a pass."""

from __future__ import annotations

import pytest

from tests.tui.conftest import SIZE, open_lesson, run_and_wait

pytestmark = pytest.mark.slow

FLAT = "import torch\n\ndef grid(n, m):\n    rows = torch.arange(n)\n    cols = torch.arange(m)\n    return 2 * rows + cols\n"
GOOD = "import torch\n\ndef grid(n, m):\n    rows = torch.arange(n)[:, None]\n    return 2 * rows + torch.arange(m)\n"


def _plain(widget) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(widget.last_shown)
    return console.export_text()


async def _checked_on_grid(pilot, code: str):
    screen = await open_lesson(pilot, "broadcasting/grid")
    screen.editor.load_text(code)
    await pilot.pause()
    await run_and_wait(pilot)
    return screen


async def test_a_failure_marks_the_lines_with_their_shapes_until_the_next_edit(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _checked_on_grid(pilot, FLAT)
        verdict = screen.query_one("VerdictView")
        assert "what your lines made" in _plain(verdict)
        line = screen.editor.get_line(3).plain  # `rows = torch.arange(n)`, with its mark after it
        assert line.startswith("    rows = torch.arange(n)") and "◂ rows (" in line and "int64" in line
        assert screen.editor.document.get_line(3) == "    rows = torch.arange(n)"  # a mark is never in the code
        screen.editor.insert("# ", (0, 0))
        await pilot.pause()
        assert "◂" not in screen.editor.get_line(4).plain  # an edit moves lines: the marks go


async def test_after_a_pass_f8_compares_with_the_reference_and_its_why(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _checked_on_grid(pilot, GOOD)
        assert "PASSED" in _plain(screen.query_one("VerdictView"))
        await pilot.press("f8")
        await pilot.pause()
        compare = app.screen
        assert type(compare).__name__ == "CompareScreen"
        assert compare.query_one("#compare-mine").text == GOOD
        assert "torch.arange(n).view(-1, 1)" in compare.query_one("#compare-reference").text
        assert "broadcast" in str(compare.query_one("#compare-why").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
