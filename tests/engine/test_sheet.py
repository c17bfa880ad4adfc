"""The syntax sheets: generated from the lessons' own solutions, kept in step with them."""

from __future__ import annotations

import json

from engine.lessons import sheet
from engine.lessons.loader import BUILTIN_LESSONS, load_paths
from tests.conftest import run_cli


def test_the_committed_sheet_is_what_the_lessons_generate():
    built = sheet.build([item.lesson for item in load_paths([BUILTIN_LESSONS]).lessons])
    assert sheet.load(BUILTIN_LESSONS) == json.loads(sheet.dump(built)), "run `tutor dev sheet` after changing lessons"


def test_a_sheet_names_the_api_with_its_signature_meaning_and_lesson():
    tensors = {e["name"]: e for e in sheet.load(BUILTIN_LESSONS)["tensors"]}
    zeros = tensors["torch.zeros"]
    assert zeros["signature"].startswith("zeros(*size") and "filled with the scalar value `0`" in zeros["meaning"]
    assert "tensors/zeros" in zeros["lessons"] and "torch.full_like" in tensors
    reshaping = {e["name"]: e for e in sheet.load(BUILTIN_LESSONS)["reshaping"]}
    assert "See torch" not in reshaping["Tensor.squeeze"]["meaning"]  # a method's meaning is the function's


def test_used_names_follow_the_imports_of_the_code():
    code = "import torch\nfrom torch import nn\nimport torch.nn.functional as F\nx = torch.zeros(2)\ny = F.relu(nn.Linear(2, 2)(x)).view(-1)\n"
    assert sheet.used_names(code) >= {"torch.zeros", "torch.nn.functional.relu", "torch.nn.Linear", "torch.Tensor.view"}


def test_tutor_sheet_prints_one_track():
    out = run_cli("sheet", "tensors", "--json")
    data = json.loads(out.stdout)
    assert list(data) == ["tensors"] and any(e["name"] == "torch.arange" for e in data["tensors"])
    assert run_cli("sheet", "no-such-track").returncode == 2
