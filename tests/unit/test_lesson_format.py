"""The lesson format: built-in lessons load, variants render, bad files are located."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.lessons.format import Lesson, json_schema
from engine.lessons.loader import BUILTIN_LESSONS, load_catalog, load_paths
from engine.lessons.variants import instantiate, literal, pick_params
from tests.conftest import DATA


def builtin():
    return load_catalog().lessons


def test_every_builtin_lesson_is_valid():
    catalog = load_catalog()
    assert catalog.errors == []
    assert len(catalog.lessons) >= 10
    files = sorted(p for p in BUILTIN_LESSONS.rglob("*.yaml") if not p.name.startswith("_"))
    assert len(files) == len(catalog.lessons)


@pytest.mark.parametrize("item", builtin(), ids=lambda i: i.lesson.id)
def test_lesson_ids_match_their_folder_and_source_names_a_seed(item):
    lesson = item.lesson
    assert item.path.parent.name == lesson.track
    assert item.path.stem == lesson.id.split("/", 1)[1]
    seeds = {p.name for p in (BUILTIN_LESSONS.parent.parent / "shared" / "seeds").glob("*.txt")}
    if seeds:  # the syllabus sits beside the repository in development and CI
        assert lesson.source.seed in seeds


@pytest.mark.parametrize("item", [i for i in builtin() if i.lesson.params], ids=lambda i: i.lesson.id)
def test_variant_drills_render_every_template_and_vary(item):
    seen = set()
    for variant in range(12):
        lesson, params = instantiate(item.lesson, variant)
        text = json.dumps(lesson.model_dump())
        assert "{{" not in text, f"variant {variant} left a template unfilled"
        seen.add(json.dumps(params, sort_keys=True))
        compile(lesson.solution, "solution", "exec")
        compile(lesson.starter, "starter", "exec")
    assert len(seen) > 1, "a parameterised drill must produce different variants"


def test_variants_are_stable_per_seed():
    """The same variant number draws the same params in another interpreter (another hash seed)."""
    import subprocess
    import sys

    zeros = next(i.lesson for i in builtin() if i.lesson.id == "tensors/zeros")
    code = (
        "import json\nfrom engine.lessons.loader import load_catalog\nfrom engine.lessons.variants import pick_params\n"
        "print(json.dumps(pick_params(load_catalog().get('tensors/zeros').lesson, 5), sort_keys=True))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                           env={**__import__("os").environ, "PYTHONHASHSEED": "12345"})  # fmt: skip
    assert json.loads(other.stdout) == json.loads(json.dumps(pick_params(zeros, 5)))
    assert any(pick_params(zeros, v) != pick_params(zeros, 5) for v in range(6, 12))  # and other numbers differ
    rendered, params = instantiate(zeros, 5)
    assert literal(params["shape"]) in rendered.solution
    assert f"torch.{params['dtype']}" in rendered.task


def test_literal_writes_shapes_as_tuples():
    assert literal([3, 4]) == "(3, 4)"
    assert literal([5]) == "(5,)"
    assert literal("float32") == "float32"
    assert literal(0.5) == "0.5"


def test_schema_exports_the_lesson_fields():
    schema = json_schema()
    assert schema["title"] == "tutor lesson"
    for field in ("id", "task", "starter", "solution", "decoys", "hints", "constraints", "checks", "params"):
        assert field in schema["properties"]
    assert schema["additionalProperties"] is False
    json.dumps(schema)


def _errors_by_file(folder: Path):
    catalog = load_paths([folder])
    out: dict[str, list[str]] = {}
    for error in catalog.errors:
        out.setdefault(error.path.name, []).append(str(error))
    return catalog, out


def test_broken_lessons_are_reported_with_file_line_and_field():
    catalog, errors = _errors_by_file(DATA / "broken")
    folder = DATA / "broken"
    assert errors["unknown-key.yaml"] == [f"{folder}/unknown-key.yaml:11: colour: unknown field"]
    wrong = errors["wrong-type.yaml"]
    assert any(e.startswith(f"{folder}/wrong-type.yaml:6: minutes: ") and "integer" in e for e in wrong)
    assert any(e.startswith(f"{folder}/wrong-type.yaml:15: checks.0.expect.tolerance.rtol: ") for e in wrong)
    assert errors["no-solution.yaml"] == [f"{folder}/no-solution.yaml:1: solution: required field is missing"]
    (syntax,) = errors["syntax.yaml"]
    assert syntax.startswith(f"{folder}/syntax.yaml:6: ") and "YAML syntax error" in syntax
    (dup,) = errors["dup-b.yaml"]
    assert dup.startswith(f"{folder}/dup-b.yaml:1: id: duplicate id 'broken/same'")
    assert errors["dup-key.yaml"] == [f"{folder}/dup-key.yaml:5: title: duplicate key"]
    (expr,) = errors["bad-expr.yaml"]
    assert expr.startswith(f"{folder}/bad-expr.yaml:13: checks.0.expr: ")
    assert [i.lesson.id for i in catalog.lessons] == ["broken/same"]


def test_decoy_edits_must_apply_to_the_solution():
    data = {
        "id": "t/x",
        "title": "xxx",
        "track": "t",
        "kind": "drill",
        "skills": ["creation"],
        "source": {"seed": "s", "section": "s"},
        "minutes": 1,
        "task": "do the thing well",
        "starter": "z = None",
        "solution": "z = 1",
        "hints": ["a", "b"],
        "checks": [{"name": "z ok", "expr": "z"}],
        "decoys": [{"mistake": "off by one", "replace": [["z = 2", "z = 3"]]}],
    }
    with pytest.raises(ValueError, match="does not occur in the solution"):
        Lesson.model_validate(data)


def test_a_skill_outside_the_vocabulary_is_reported_with_file_line_and_field(tmp_path):
    from engine.lessons.skills import SKILLS

    pack = tmp_path / "pack"
    shutil.copytree(DATA / "pack", pack)
    hello = pack / "extra" / "hello.yaml"
    hello.write_text(hello.read_text().replace("skills: [creation]", "skills: [creation, tensor-wizardry]"))
    catalog = load_paths([pack])
    (error,) = [str(e) for e in catalog.errors]
    assert error.startswith(f"{hello}:5: skills: ") and "tensor-wizardry" in error and "tutor lessons skills" in error
    every = [s for item in load_paths([BUILTIN_LESSONS]).lessons for s in item.lesson.skills]
    assert set(every) <= set(SKILLS) and all(1 <= len(i.lesson.skills) <= 4 for i in load_paths([BUILTIN_LESSONS]).lessons)


def test_the_parse_cache_follows_edits_and_survives_damage(tmp_path):
    from engine.lessons.loader import ParseCache

    pack = tmp_path / "pack"
    shutil.copytree(DATA / "pack", pack)
    cache_file = tmp_path / "cache" / "lessons.json"
    fresh = load_paths([pack])
    first = load_paths([pack], cache=ParseCache(cache_file))
    assert cache_file.is_file()
    cached = load_paths([pack], cache=ParseCache(cache_file))
    assert [i.lesson for i in cached.lessons] == [i.lesson for i in first.lessons] == [i.lesson for i in fresh.lessons]

    hello = pack / "extra" / "hello.yaml"
    hello.write_text(hello.read_text().replace("title: ", "title: Edited ", 1))
    edited = load_paths([pack], cache=ParseCache(cache_file))
    assert edited.get("extra/hello").lesson.title.startswith("Edited ")  # an edit is seen at once

    hello.write_text(hello.read_text() + "colour: blue\n")
    broken = load_paths([pack], cache=ParseCache(cache_file))
    assert broken.get("extra/hello") is None and any("colour" in str(e) for e in broken.errors)

    cache_file.write_text("{not json")
    assert len(load_paths([pack], cache=ParseCache(cache_file)).lessons) == len(fresh.lessons) - 1
