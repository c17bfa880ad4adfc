"""The real app, driven with Pilot: solve, fail, stop, chart, autosave, keys."""

from __future__ import annotations

import asyncio

import pytest

from tests.tui.conftest import SIZE, open_lesson, replace_code, run_and_wait, type_text
from tutor.screens.workspace import WorkspaceScreen
from tutor.widgets.chart import MetricsChart


def _plain(view) -> str:
    from rich.console import Console

    console = Console(width=120, file=open("/dev/null", "w"), record=True)
    console.print(view.last_shown)
    return " ".join(console.export_text().replace("│", " ").split())


async def test_solving_a_lesson_shows_passed_and_marks_it_done(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "broadcasting/grid")
        assert isinstance(screen, WorkspaceScreen)
        assert screen.editor.is_syntax_aware, "tree-sitter highlighting must be active"
        await replace_code(
            pilot, "import torch\n\ndef grid(n, m):\nreturn 2 * torch.arange(n).view(-1, 1) + torch.arange(m).view(1, -1)\n"
        )
        assert app.focused is screen.editor  # F5 works while the editor has focus
        await run_and_wait(pilot)
        text = _plain(screen.query_one("VerdictView"))
        assert "PASSED 2/2 checks" in text, text
        assert app.session.state.progress("broadcasting/grid").status == "done"


@pytest.mark.parametrize(
    ("typed_before", "key", "typed_after", "expected"),
    [
        (None, "ctrl+a", "x = 1", "x = 1"),  # ctrl+a selects the starter, so typing replaces it
        ("def f():\nreturn 1\n", "backspace", "x = 2", "def f():\n    return 1\nx = 2"),  # one indent level back
    ],
    ids=["ctrl-a-selects-all", "backspace-dedents"],
)
async def test_editor_keys_a_coder_expects(make_app, typed_before, key, typed_after, expected):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "broadcasting/grid")
        screen.editor.focus()
        if typed_before is not None:
            await replace_code(pilot, typed_before)
        await pilot.press(key)
        await type_text(pilot, typed_after)
        assert screen.editor.text == expected


async def test_a_wrong_answer_shows_the_failing_check_and_the_mistake(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, "broadcasting/grid")
        await replace_code(
            pilot, "import torch\n\ndef grid(n, m):\nreturn torch.arange(n).view(-1, 1) + 2 * torch.arange(m).view(1, -1)\n"
        )
        await run_and_wait(pilot)
        text = _plain(app.screen.query_one("VerdictView"))
        assert "NOT PASSED 0/2" in text
        assert "values differ" in text and "doubled the column index" in text
        assert "expected" in text and "actual" in text


async def test_escape_stops_a_run_that_loops_forever(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "broadcasting/grid")
        await replace_code(pilot, "while True:\npass\n")
        await pilot.press("f5")
        for _ in range(100):  # until the child is really running
            await asyncio.sleep(0.05)
            if screen.check_run is not None and screen.check_run._child is not None:
                break
        assert screen.running
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = _plain(screen.query_one("VerdictView"))
        assert "the run was stopped" in text
        assert not screen.running and app.is_running
        await replace_code(
            pilot, "import torch\n\ndef grid(n, m):\nreturn 2 * torch.arange(n).view(-1, 1) + torch.arange(m).view(1, -1)\n"
        )
        await run_and_wait(pilot)
        assert "PASSED" in _plain(screen.query_one("VerdictView"))


async def test_the_chart_receives_the_logged_loss(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "extra/curve")
        solution = app.session.lesson("extra/curve").solution
        screen.editor.load_text(solution)
        await run_and_wait(pilot)
        chart = screen.query_one(MetricsChart)
        assert "loss" in chart.series and len(chart.series["loss"][1]) >= 40
        xs, ys = chart.series["loss"]
        assert ys[0] > ys[-1]
        assert screen.query_one("TabbedContent").active == "tab-chart"


async def test_code_is_autosaved_and_restored_after_a_restart(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/tridiagonal")
        await type_text(pilot, "# my work in progress\n")
        await asyncio.sleep(0.8)  # the autosave fires within a second
        await pilot.pause()
        saved = app.session.state.code("tensors/tridiagonal")
        assert saved is not None and "# my work in progress" in saved
        text = screen.editor.text
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/tridiagonal")
        assert screen.editor.text == text


async def test_hints_reset_and_solution_gate(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")
        await pilot.press("f1")
        await pilot.press("f1")
        assert app.session.state.progress("tensors/zeros").hints_used == 2
        await replace_code(pilot, "z = 'mine'\n")
        await pilot.press("f6")
        await pilot.pause()
        assert screen.editor.text == app.session.lesson("tensors/zeros").starter
        assert any(v.text == "z = 'mine'\n" for v in app.session.state.versions("tensors/zeros"))
        await pilot.press("f8")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"  # not solved yet: asks first
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_keys_can_be_remapped_by_binding_id(make_app, tutor_home):
    tutor_home.mkdir(parents=True, exist_ok=True)
    (tutor_home / "keymap.yaml").write_text("run: f9\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")
        await pilot.press("f9")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "NOT PASSED" in _plain(screen.query_one("VerdictView"))  # the starter, checked via F9


async def test_browser_filters_and_opens_a_lesson(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        tree = app.screen.query_one("Tree")
        leaves = [n for track in tree.root.children for n in track.children]
        assert {n.data for n in leaves} >= {"tensors/zeros", "broadcasting/grid", "extra/curve"}
        app.screen.query_one("#kind").value = "application"
        await pilot.pause()
        leaves = [n for track in tree.root.children for n in track.children]
        kinds = {app.session.item(n.data).lesson.kind for n in leaves}
        assert kinds == {"application"} and "extra/curve" in {n.data for n in leaves}
        tree.select_node(next(n for n in leaves if n.data == "extra/curve"))
        await pilot.pause()
        assert isinstance(app.screen, WorkspaceScreen) and app.screen.lesson_id == "extra/curve"


async def test_progress_from_learner_code_moves_a_bar(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "extra/curve")
        code = app.session.lesson("extra/curve").solution.replace(
            "tutor.log(step=step, loss=loss.item())",
            "tutor.log(step=step, loss=loss.item())\n        tutor.progress(step + 1, steps)",
        )
        screen.editor.load_text(code)
        await run_and_wait(pilot)
        bar = screen.query_one("#run-progress")
        assert bar.display and bar.total == 40 and bar.progress == 40


async def test_a_fast_double_f5_starts_one_check(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")
        started = []
        real = app.session.check
        monkeypatch.setattr(app.session, "check", lambda *a, **k: (started.append(1), real(*a, **k))[1])
        await pilot.press("f5", "f5")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(started) == 1
        assert screen.check_action("run", ()) is True  # and F5 works again afterwards


async def test_a_failure_inside_a_check_leaves_f5_working(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")

        def broken(*_a, **_k):
            raise RuntimeError("the runner fell over")

        monkeypatch.setattr(app.session, "check", broken)
        await run_and_wait(pilot)
        assert "the runner fell over" in _plain(screen.query_one("VerdictView"))
        assert screen.check_run is None and screen.check_action("run", ()) is True


async def test_learner_text_is_never_read_as_markup(make_app):
    """Brackets in code survive in the versions list; `[/]` does not crash it; search shows ids in brackets."""
    from textual.widgets import OptionList

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")
        app.session.state.keep_version("tensors/zeros", "import torch\nz = a[i] + b[/]\n", "test")
        screen.editor.load_text("import torch\nz = 1\n")
        await pilot.press("ctrl+r")
        await pilot.pause()
        versions = app.screen.query_one("#versions", OptionList)
        label = str(versions.get_option_at_index(0).prompt)
        assert "z = a[i] + b[/]" in label  # the line that differs, brackets intact
        await pilot.press("escape")
        await pilot.press("f9")  # home
        await pilot.pause()
        app.screen.query_one("#search").value = "zeros"
        await pilot.pause()
        results = app.screen.query_one("#home-list", OptionList)
        assert any("[tensors/zeros]" in str(results.get_option_at_index(i).prompt) for i in range(results.option_count))


async def test_reset_keeps_one_copy_of_the_code(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")
        await replace_code(pilot, "z = 'mine'\n")
        screen.save_now()
        await pilot.press("f6")
        await pilot.pause()
        kept = [v.text for v in app.session.state.versions("tensors/zeros")]
        assert kept.count("z = 'mine'\n") == 1


async def test_output_stays_visible_past_the_line_cap(make_app):
    from tutor.widgets.output import OUTPUT_LINES, OutputLog

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")
        log = screen.query_one(OutputLog)
        for chunk in range(OUTPUT_LINES // 100 + 10):
            log.write("".join(f"line {chunk * 100 + i}\n" for i in range(100)))
        await pilot.pause()
        assert log.virtual_size.height == log.line_count <= OUTPUT_LINES
        assert log.scroll_y <= log.max_scroll_y and log.max_scroll_y < log.line_count


async def test_output_over_a_mebibyte_says_it_was_cut(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")
        screen.editor.load_text("import torch\nprint('x' * (2 << 20))\nz = torch.zeros(1, 10, dtype=torch.bool)\n")
        await run_and_wait(pilot)
        assert "output over 1 MiB on stdout was cut" in _plain(screen.query_one("VerdictView"))


async def test_at_80_by_24_the_verdict_shows_every_failing_check_with_expected_and_actual(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_lesson(pilot, "broadcasting/grid")
        await replace_code(
            pilot, "import torch\n\ndef grid(n, m):\nreturn torch.arange(n).view(-1, 1) + 2 * torch.arange(m).view(1, -1)\n"
        )
        await run_and_wait(pilot)
        verdict = screen.query_one("VerdictView")
        assert verdict.size.width >= 40  # the output tabs step aside on a narrow terminal
        text = _plain(verdict)
        assert text.count("✘") == 2 and text.count(" actual ") == 2  # each failing check with its values
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert screen.query_one("#tabs").display and not verdict.display


async def test_a_new_hint_is_scrolled_into_view_at_80_by_24(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_lesson(pilot, "broadcasting/grid")
        pane = screen.query_one("#task-pane")
        for _ in range(len(screen.lesson.hints)):
            await pilot.press("f1")
            await pilot.pause()
            await pilot.pause()
            hint = list(screen.query(".hint"))[-1]
            assert pane.scrollable_content_region.contains(hint.region.x, hint.region.y), "the new hint is in view"


async def test_home_is_one_key_away_from_a_lesson(make_app):
    from tutor.screens.home import HomeScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, "tensors/zeros")
        await pilot.press("f9")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_a_long_file_is_highlighted_around_the_view_only(make_app):
    """Typing in a 5,000-line file took 0.6-1.1 s a key while the whole file was re-highlighted."""
    from tutor.widgets.editor import HIGHLIGHT_MARGIN

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, "tensors/zeros")
        editor = screen.editor
        editor.load_text("\n".join(f"x{i} = torch.zeros({i}, 3)  # line {i}" for i in range(5000)))
        editor.focus()
        await pilot.pause()
        await pilot.press("a")
        rows = [row for row, marks in editor._highlights.items() if marks]
        assert 0 in rows and max(rows) <= editor.size.height + HIGHLIGHT_MARGIN  # the top, not the whole file
        editor.move_cursor((4990, 0))  # scrolls to the end: highlights follow the view
        await pilot.pause()
        assert editor._highlights[4990] and not editor._highlights[10]


async def test_a_broken_lesson_pack_is_reported_with_the_command_that_explains_it(make_app):
    from tests.conftest import DATA
    from tutor.app import make_app as build
    from tutor.core.session import Session

    app = build(Session(lessons=[str(DATA / "broken")]), warm=False, blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = " ".join(str(n.message) for n in app._notifications)
        assert "could not be loaded" in said and f"tutor lessons validate --lessons {DATA / 'broken'}" in said


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_every_key_in_the_footer_fits_on_screen(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_lesson(pilot, "tensors/zeros")
        await pilot.pause()
        keys = list(app.screen.query("FooterKey"))
        assert {k.key_display for k in keys} >= {"f5", "f1", "f6", "f7", "f8", "^n", "f9", "^q"}
        assert all(0 < k.region.right <= size[0] for k in keys), [(k.key_display, k.region) for k in keys]


async def test_the_solution_question_is_shown_whole_at_80_by_24(make_app):
    from tutor.screens.modals import ConfirmScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lesson(pilot, "tensors/zeros")
        await pilot.press("f8")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.query_one(".question")
        assert question.size.height >= 2  # wrapped onto two lines, not cut at the dialog's edge


def test_a_crash_exits_with_a_failing_status():
    """`tutor` whose screen raises: the traceback is shown and the shell sees a failure, not 0."""
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tutor.core.envvars import FIRST_FRAME_ENV

    code = (
        "import sys\nimport tutor.screens.home as home\n"
        "def boom(self):\n    raise RuntimeError('the screen fell over')\n"
        "home.HomeScreen.compose = boom\n"
        "from tutor.app import run_app\nsys.exit(run_app())\n"
    )
    env = {**__import__("os").environ, FIRST_FRAME_ENV: "1"}  # headless
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode != 0 and "the screen fell over" in out.stdout + out.stderr
