from __future__ import annotations

import pytest

from tests.conftest import DATA
from tutor.app import TutorApp
from tutor.app import make_app as build_app
from tutor.core.session import Session

SIZE = (120, 40)


@pytest.fixture
def make_app():
    """A fresh app on the built-in lessons plus the test pack, cursor blink off."""
    apps = []

    def make(**kwargs) -> TutorApp:
        session = Session(lessons=[str(DATA / "pack")])
        # No warm runner at start: a test that presses F5 starts it then, as a check would.
        kwargs.setdefault("warm", False)
        app = build_app(session, blink=False, **kwargs)
        app.animation_level = "none"
        apps.append(app)
        return app

    yield make


async def type_text(pilot, text: str) -> None:
    keys = ["enter" if ch == "\n" else ch for ch in text]
    await pilot.press(*keys)


async def open_lesson(pilot, lesson_id: str):
    pilot.app.open_lesson(lesson_id)
    await pilot.pause()
    return pilot.app.screen


async def replace_code(pilot, code: str) -> None:
    editor = pilot.app.screen.query_one("#editor")
    editor.focus()
    editor.load_text("")
    await type_text(pilot, code)


async def run_and_wait(pilot) -> str:
    await pilot.press("f5")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    body = pilot.app.screen.query_one("#verdict-body")
    return str(body.render())
