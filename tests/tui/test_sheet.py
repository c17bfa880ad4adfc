"""F10 shows the track's syntax sheet while practising; a review from memory keeps it shut."""

from __future__ import annotations

from tests.tui.conftest import SIZE, open_lesson
from tutor.screens.modals import SheetScreen


async def test_f10_opens_the_sheet_in_practice_but_not_in_a_review(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/linspace")
        await pilot.press("f10")
        await pilot.pause()
        assert isinstance(app.screen, SheetScreen) and app.screen.track == "tensors"
        assert "torch.linspace" in str(app.screen.query_one("#sheet-body Static").render())
        await pilot.press("escape")
        await pilot.pause()
        screen.from_memory = True
        screen.refresh_bindings()
        await pilot.press("f10")
        await pilot.pause()
        assert app.screen is screen
