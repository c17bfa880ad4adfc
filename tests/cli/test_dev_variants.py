"""`tutor dev variants`: every drill's variants change the code the learner types."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_every_drill_varies_what_the_learner_types():
    out = run_cli("dev", "variants", "--json")
    report = json.loads(out.stdout)
    narrow = [f"{r['id']}: {r['distinct']} of {r['sampled']} (needs {r['required']})" for r in report if not r["ok"]]
    assert not narrow and out.returncode == 0, "\n".join(narrow)
    assert len(report) >= 60  # every drill is looked at, not only those with params


def test_a_drill_whose_variants_change_only_a_starter_constant_fails(tmp_path):
    pack = tmp_path / "narrow"
    pack.mkdir()
    (pack / "narrow.yaml").write_text(
        """
id: narrow/scale
title: Scale a tensor
track: narrow
kind: drill
source: {seed: none, section: tests}
skills: [creation]
minutes: 1
params:
  k: {choice: [2, 3, 4, 5, 6, 7]}
task: Bind `y` to `x` times `k`, with `k = {{k}}`.
starter: "import torch\\nk = {{k}}\\nx = torch.ones(3)\\ny = None\\n"
solution: "import torch\\nk = {{k}}\\nx = torch.ones(3)\\ny = x * k\\n"
hints: [a, b]
checks:
  - name: y is x times k
    expr: y
"""
    )
    out = run_cli("dev", "variants", "narrow/scale", "--lessons", str(pack))
    assert out.returncode == 1
    assert "narrow/scale: 1 of 20 variants differ in what is typed (needs 5)" in out.stdout
