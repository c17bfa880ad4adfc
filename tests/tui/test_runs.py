"""The Runs screen: a job started from the app streams progress and curves, and keeps going elsewhere."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Select

from tests.tui.conftest import SIZE
from tutor.screens.runs import RunsScreen
from tutor.widgets.chart import MetricsChart

pytestmark = pytest.mark.slow


async def test_a_job_runs_in_the_background_with_progress_and_a_curve(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        app.screen.query_one("#job-choice", Select).value = "moons-mlp"
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("escape")  # leave the Runs screen: the job goes on
        for _ in range(720):  # up to three minutes on a loaded machine; seconds on an idle one
            await asyncio.sleep(0.25)
            runs = app.jobs.snapshot()
            if runs and runs[0].status not in ("starting", "running"):
                break
        run = app.jobs.snapshot()[0]
        assert run.status == "done" and run.summary.met is True
        assert len(run.epochs) == 4 and run.fraction == 1.0
        await pilot.press("f3")
        await pilot.pause(0.5)
        table = app.screen.query_one(DataTable)
        row = table.get_row_at(0)
        assert row[1] == "moons-mlp" and row[3] == "done" and row[5] == "100%"
        chart = app.screen.query_one(MetricsChart)
        assert "loss" in chart.series and len(chart.series["loss"][0]) >= 2
        assert "val_acc" in chart.series


async def test_cancel_a_run_from_the_screen(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        app.jobs.start("moons-mlp", epochs=100_000)
        table = app.screen.query_one(DataTable)
        for _ in range(300):  # started elsewhere: the screen lists it at its next flush
            await asyncio.sleep(0.1)
            if app.jobs.snapshot()[0].epochs and table.row_count:
                break
        assert table.row_count == 1
        await pilot.press("x")
        for _ in range(100):
            await asyncio.sleep(0.1)
            if app.jobs.snapshot()[0].status == "cancelled":
                break
        assert app.jobs.snapshot()[0].status == "cancelled"


async def test_the_runs_screen_is_quiet_when_nothing_changes_and_answers_keys(make_app, monkeypatch):
    """Two finished runs listed: no redraw loop (it once kept a core busy and froze the keys)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(2):
            app.jobs.start("moons-mlp", epochs=1)
        for _ in range(600):
            await asyncio.sleep(0.1)
            if all(r.status == "done" for r in app.jobs.snapshot()):
                break
        await pilot.press("f3")
        await pilot.pause(0.3)
        shown = []
        monkeypatch.setattr(RunsScreen, "_show", lambda self, *a, **k: shown.append(a))
        await pilot.pause(1.0)
        assert shown == []  # nothing changed, nothing redrawn
        await pilot.press("up")
        await pilot.pause()
        assert len(shown) == 1  # one new selection, one redraw
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RunsScreen)


async def test_a_failed_job_says_why_and_how_to_fix_it(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv("TUTOR_DATASETS", str(tmp_path / "no-datasets"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        choice = app.screen.query_one("#job-choice", Select)
        assert choice.value == "moons-mlp"  # no MNIST here: the job offered first is one that can run
        choice.value = "mnist-mlp"
        await pilot.press("s")
        for _ in range(300):
            await asyncio.sleep(0.1)
            if app.jobs.snapshot()[0].status == "failed":
                break
        for _ in range(30):  # the screen shows job events at its next flush, within a second
            await pilot.pause(0.1)
            detail = str(app.screen.query_one("#run-detail").render())
            if "failed" in detail:
                break
        assert "failed" in detail and "tutor data get mnist" in detail
        assert app.screen.query_one(DataTable).get_row_at(0)[3] == "failed"
