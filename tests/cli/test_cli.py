"""The headless command line, run as a user runs it."""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata

import pytest

from tests.conftest import DATA, run_cli


def tutor(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env_extra, columns=140)


def test_version_and_help():
    assert tutor("--version").stdout.strip() == f"tutor {metadata.version('tutor')}"
    out = tutor("--help").stdout
    for command in ("list", "show", "hint", "lessons", "doctor"):
        assert command in out


def test_list_json_has_every_field_and_status():
    from tutor.core.state import State

    State().record_attempt("tensors/zeros", passed=True, checks_passed=1, checks_total=1, duration_ms=5)
    rows = json.loads(tutor("list", "--json").stdout)
    assert len(rows) >= 10
    for row in rows:
        assert set(row) >= {"id", "title", "track", "kind", "source", "status"}
        assert set(row["source"]) == {"seed", "section"}
    status = {r["id"]: r["status"] for r in rows}
    assert status["tensors/zeros"] == "done"
    assert status["indexing/pick"] == "new"


def test_list_filters_by_track_and_rejects_an_unknown_one():
    rows = json.loads(tutor("list", "--track", "indexing", "--json").stdout)
    assert rows and {r["track"] for r in rows} == {"indexing"}
    bad = tutor("list", "--track", "nope")
    assert bad.returncode == 2 and "tracks:" in bad.stderr


def test_extra_pack_from_option_and_environment():
    pack = str(DATA / "pack")
    ids = {r["id"] for r in json.loads(tutor("--lessons", pack, "list", "--json").stdout)}
    assert "extra/hello" in ids
    ids = {r["id"] for r in json.loads(tutor("list", "--lessons", pack, "--json").stdout)}
    assert "extra/hello" in ids
    ids = {r["id"] for r in json.loads(tutor("list", "--json", env_extra={"TUTOR_LESSONS": pack}).stdout)}
    assert "extra/hello" in ids


def test_show_renders_the_task_of_a_variant():
    out = tutor("show", "tensors/zeros", "--variant", "3")
    assert out.returncode == 0
    data = json.loads(tutor("show", "tensors/zeros", "--variant", "3", "--json").stdout)
    assert "{{" not in out.stdout
    assert f"torch.{data['params']['dtype']}" in out.stdout
    assert "Zeros of a given shape and dtype" in out.stdout


def test_show_an_unknown_lesson_suggests_close_ids():
    out = tutor("show", "tensors/zero")
    assert out.returncode == 2 and "did you mean tensors/zeros" in out.stderr


def test_hint_reveals_levels_and_is_recorded():
    out = tutor("hint", "broadcasting/grid", "--level", "2")
    assert "Hint 1 of 3" in out.stdout and "Hint 2 of 3" in out.stdout and "Hint 3 of 3" not in out.stdout
    from tutor.core.state import State

    assert State().progress("broadcasting/grid").hints_used == 2
    assert tutor("hint", "broadcasting/grid", "--level", "9").returncode == 2


def test_validate_passes_on_builtin_lessons_and_fails_on_broken_ones():
    ok = tutor("lessons", "validate")
    assert ok.returncode == 0, ok.stderr
    bad = tutor("lessons", "validate", str(DATA / "broken"))
    assert bad.returncode == 2
    assert f"{DATA / 'broken' / 'unknown-key.yaml'}:11: colour: unknown field" in bad.stderr
    report = json.loads(tutor("lessons", "validate", str(DATA / "broken"), "--json").stdout)
    assert not report["valid"] and {e["field"] for e in report["errors"]} >= {"colour", "minutes", "solution", "id"}


def test_schema_is_json():
    schema = json.loads(tutor("lessons", "schema").stdout)
    assert "checks" in schema["properties"]


def test_doctor_tells_the_truth():
    info = json.loads(tutor("doctor", "--json").stdout)
    assert info["python"] == platform.python_version()
    assert info["torch"] == metadata.version("torch")
    assert info["torchvision"] == metadata.version("torchvision")
    import torch

    assert info["devices"]["cuda"] == torch.cuda.is_available()
    assert info["devices"]["best"] in {"cuda", "mps", "cpu"}
    assert info["highlighting"]["active"] is True
    human = tutor("doctor")
    assert human.returncode == 0 and "torch" in human.stdout


def test_the_app_paints_and_lists_lessons_without_importing_torch():
    from tutor.bench.startup import startup

    lines: list[str] = []
    result = startup(runs=1, out=lines.append)  # raises if torch is imported on the UI's path
    assert 0 < result["p50_ms"] <= result["lessons_p50_ms"]
    assert lines[-1].startswith("first_frame p50_ms=")


def test_lists_fit_80_columns_without_losing_a_column_or_an_id():
    listing = run_cli("list", columns=80).stdout
    assert max(len(line) for line in listing.splitlines()) <= 80
    assert "status" in listing and "tensors/zeros" in listing and "speed/basic-network" in listing
    assert listing.count(" new ") >= 150  # every lesson's status is shown
    speed = run_cli("speed", "--list", columns=80).stdout
    assert max(len(line) for line in speed.splitlines()) <= 80 and "attempts" in speed and "speed/basic-network" in speed


def test_validate_says_which_packs_it_checked():
    out = run_cli("lessons", "validate", "--lessons", str(DATA / "broken"))
    assert out.returncode == 2
    assert "checked:" in out.stdout and str(DATA / "broken") in out.stdout
    plain = run_cli("lessons", "validate")
    assert "checked:" in plain.stdout and str(DATA / "broken") not in plain.stdout


def test_a_file_saved_with_a_byte_order_mark_is_checked(tmp_path):
    solution = tmp_path / "bom.py"
    solution.write_text("\ufeffimport torch\nz = torch.zeros(1, 10, dtype=torch.bool)\n", encoding="utf-8")
    out = run_cli("check", "tensors/zeros", str(solution))
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_bench_ui_measures_the_app_in_a_terminal():
    """The figures come from a real app in a pty, a training job started from its Runs screen."""
    from tutor.bench.ui import ui_cost

    lines: list[str] = []
    result = ui_cost(settle_s=2.0, measure_s=2.0, out=lines.append)
    assert lines[-1].startswith("ui_cpu home_pct=") and "key_p95_ms=" in lines[-1]
    assert all(result[k] >= 0 for k in ("home_pct", "workspace_pct", "runs_pct"))
    assert 0 < result["key_p50_ms"] <= result["key_p95_ms"] < 5000


def test_today_plans_new_lessons_then_brings_a_passed_one_back(tmp_path):
    good = tmp_path / "zeros.py"
    good.write_text("import torch\nz = torch.zeros(1, 10, dtype=torch.bool)\n")
    day1 = {"TUTOR_NOW": "2026-12-01T09:00"}
    plan = json.loads(run_cli("today", "--json", env=day1).stdout)
    assert plan["reviews"] == [] and plan["new"][0]["id"] == "tensors/zeros" and plan["minutes"] >= plan["goal_minutes"]
    assert run_cli("check", "tensors/zeros", str(good), env=day1).returncode == 0
    day2 = json.loads(run_cli("today", "--json", env={"TUTOR_NOW": "2026-12-02T09:00"}).stdout)
    assert day2["reviews"] == [] and "tensors/zeros" not in [n["id"] for n in day2["new"]]
    later = json.loads(run_cli("today", "--json", "--goal", "45", env={"TUTOR_NOW": "2027-01-15T09:00"}).stdout)
    assert later["reviews"][0]["id"] == "tensors/zeros" and later["goal_minutes"] == 45
