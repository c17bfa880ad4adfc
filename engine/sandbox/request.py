"""What the trusted parent asks one sandboxed child to do: a check request.

The parent writes it as one JSON document on the child's request pipe; the child
(engine.sandbox.probe) reads it back with `from_json`.  It carries the
learner's (or a reference's) code, the probe spec of every check, the limits,
the run's secret token and the folder the child may write in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CheckRequest:
    code: str
    checks: list[dict[str, Any]] = field(default_factory=list)  # the probe spec (engine.checks.checker.probe_spec)
    params: dict[str, Any] = field(default_factory=dict)
    filename: str = "<your code>"
    module_seed: int = 0
    seconds: float = 10.0
    memory_mb: int = 2048
    confine: bool = True
    # Spawned, may use CUDA: memory is watched as resident size instead of an address-space limit.
    gpu: bool = False
    # Trace the learner's lines for one case, {"check": i, "case": j}, or the module itself, {}: after a failure only.
    trace: dict[str, int] | None = None
    # Time a lesson's scale-up call instead of running the checks: {"expr", "inputs", "params", "seed"}.
    timing: dict[str, Any] | None = None
    token: str = ""  # filled in by the client for each run
    work_dir: str = ""  # the one folder the child may write in, also filled in by the client

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> CheckRequest:
        return cls(**json.loads(raw))
