"""The lesson format: pydantic models for one YAML lesson file.

A lesson carries learner-facing text and code (task, starter, solution,
decoys, hints), static constraints checked on the AST, and checks.  A check
names a small Python expression that a probe evaluates inside the learner's
sandboxed process on seeded inputs; the trusted parent compares what comes
back with what the reference solution produced on the same inputs, or with
a declared property.  Nothing here imports torch.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.lessons.skills import MOST_PER_LESSON, SKILLS

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)+$"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Kind = Literal["drill", "quiz", "application", "challenge", "project"]


class Strict(BaseModel):
    """Base for every model: unknown keys are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """Where in the syllabus a lesson comes from."""

    seed: str = Field(description="Seed file name, e.g. 002_ba92adc3014158ce.txt")
    section: str = Field(description="Section inside the seed, e.g. 'Week 1 / Exercise 1.1'")


class Requirements(Strict):
    torch: bool = True
    torchvision: bool = False
    dataset: str | None = Field(default=None, description="Dataset the lesson needs, e.g. 'mnist'")
    device: Literal["cpu", "gpu-preferred", "gpu-required"] = "cpu"


class Limits(Strict):
    """Per-run sandbox limits; defaults suit a drill."""

    seconds: float = Field(default=10.0, gt=0, le=600)
    memory_mb: int = Field(default=2048, ge=64, le=65536)


class Program(Strict):
    """Another program for a lesson: given whole (`code`), or as edits of the reference (`replace`)."""

    code: str | None = None
    replace: list[tuple[str, str]] | None = Field(
        default=None, description="[old, new] pairs applied in order to the reference solution"
    )

    @model_validator(mode="after")
    def _one_form(self) -> Program:
        if (self.code is None) == (self.replace is None):
            raise ValueError("give exactly one of 'code' or 'replace'")
        return self


class Decoy(Program):
    """A known-wrong solution: it must fail, and a learner's code that fails the same way is named."""

    mistake: str = Field(min_length=3, description="The mistake it embodies, in a learner's words")


class Constraints(Strict):
    """Rules checked statically on the learner's code, before it runs."""

    no_loops: list[str] = Field(
        default_factory=list,
        description="Function names that may not contain for/while/comprehensions; '*' means every function, '<module>' the top level",
    )
    banned: list[str] = Field(
        default_factory=list,
        description="Dotted names the code may not use: modules (torch.optim), attributes (torch.sigmoid, nn.Module), or '.name' for any attribute of that name (.sigmoid)",
    )
    required: list[str] = Field(default_factory=list, description="Dotted names the code must use, e.g. torch.no_grad")


# --- checks -----------------------------------------------------------------

ParamValue = int | float | str | bool | list[Any] | None


class Between(Strict):
    """A parameter drawn at random (seeded): an integer from an inclusive range of
    integers, or a float uniformly from a range given with a float bound."""

    between: tuple[int, int] | tuple[float, float]

    @field_validator("between")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError("lower bound above upper bound")
        return v


class Choice(Strict):
    """A parameter drawn at random (seeded) from a list of values."""

    choice: list[Any] = Field(min_length=1)


CaseValue = Between | Choice | ParamValue


class Tolerance(Strict):
    rtol: float = Field(default=1e-5, ge=0)
    atol: float = Field(default=1e-6, ge=0)


class Curve(Strict):
    """Properties of a sequence of losses."""

    finite: bool = True
    min_length: int = Field(default=2, ge=1)
    decreases_by: float | None = Field(default=None, gt=1, description="first / last must be at least this factor")
    final_below: float | None = None
    non_increasing_fraction: float | None = Field(default=None, ge=0, le=1, description="share of steps that must not go up")


class Expect(Strict):
    """What a check's value must satisfy.  Every listed property must hold."""

    reference: bool = Field(default=True, description="Compare with the reference solution's value on the same inputs")
    tolerance: Tolerance = Field(default_factory=Tolerance)
    dtype: bool = Field(default=True, description="The dtype must match the reference")
    device: bool = Field(default=False, description="The device type must match the reference")
    shape: list[int | str] | None = Field(default=None, description="Required shape; strings name case parameters")
    finite: bool = False
    nonzero: bool = Field(default=False, description="Not all zero")
    requires_grad: bool | None = None
    max: float | None = Field(default=None, description="Value (a number) at most this")
    min: float | None = Field(default=None, description="Value (a number) at least this")
    curve: Curve | None = None
    same_as: str | None = Field(default=None, description="Another expression whose value must match this one (within tolerance)")
    type: str | None = Field(default=None, description="Python type name the value must have, e.g. 'float'")


class Check(Strict):
    """One thing the checker decides, on one or more seeded cases."""

    name: str = Field(min_length=3, description="Shown to the learner, e.g. 'columns have mean 0'")
    expr: str = Field(
        min_length=1,
        description="Python expression evaluated after the learner's code, in its namespace plus the inputs",
    )
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="Name -> expression, evaluated in order with probe helpers (randn, rand, ...) and case parameters",
    )
    cases: list[dict[str, CaseValue]] = Field(
        default_factory=lambda: [{}], min_length=1, description="Parameter sets; each is a separate seeded run"
    )
    expect: Expect = Field(default_factory=Expect)
    stdout: Literal["reference", "ignore"] = "ignore"
    message: str | None = Field(default=None, description="Shown when the check fails")

    @field_validator("expr", "inputs")
    @classmethod
    def _compiles(cls, v: Any) -> Any:
        exprs = v.values() if isinstance(v, dict) else [v]
        for e in exprs:
            try:
                compile(e, "<check>", "eval")
            except SyntaxError as exc:
                raise ValueError(f"{e!r} is not a Python expression: {exc.msg}") from None
        return v

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not re.match(NAME_PATTERN, key):
                raise ValueError(f"input name {key!r} is not a Python identifier")
        return v


class Scale(Strict):
    """A larger hidden input, for timing a passing solution against the reference (never a check)."""

    expr: str = Field(min_length=1, description="The call to time, e.g. 'standardize(X)'")
    inputs: dict[str, str] = Field(default_factory=dict, description="Built before timing, like a check's inputs")
    params: dict[str, Any] = Field(default_factory=dict, description="Concrete sizes the inputs use")
    label: str = Field(min_length=1, description="The size in words, e.g. '4000 × 256'")
    samples: int | None = Field(
        default=None, gt=0, description="For a training call: the rows it trains on, so the figures read as samples/s"
    )


class Quiz(Strict):
    """Predict what a short snippet gives: the lesson's `solution` is the snippet, run once for the truth.

    The learner types the value of `ask` (a shape, a dtype, a value) or, when
    the snippet raises, the error's type.  Decoys edit the snippet into the
    program a mistaken mental model imagines: its answer is the wrong answer
    that names the mistake.
    """

    ask: str = Field(min_length=1, description="Expression evaluated after the snippet, e.g. 'y.shape'")
    question: str = Field(default="", description="How the question reads; default: What is `ask`?")

    @field_validator("ask")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            compile(v, "<ask>", "eval")
        except SyntaxError as exc:
            raise ValueError(f"{v!r} is not a Python expression: {exc.msg}") from None
        return v


class Alternative(Program):
    """A correct solution written differently from the reference: it must pass."""

    note: str = Field(min_length=3, description="How it differs, e.g. 'einsum instead of matmul'")


class Lesson(Strict):
    """One lesson file."""

    id: str = Field(pattern=ID_PATTERN, description="Stable id 'track/name'")
    title: str = Field(min_length=3)
    track: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: Kind
    source: Source
    skills: list[str] = Field(
        min_length=1, max_length=MOST_PER_LESSON, description="1 to 4 tags from the skill vocabulary (tutor lessons skills)"
    )
    minutes: int = Field(ge=1, le=600, description="Estimated minutes for a learner")
    order: int = Field(default=100, description="Position within its track (lower first)")
    time_limit: int | None = Field(default=None, ge=10, description="Seconds allowed in timed mode")
    requires: Requirements = Field(default_factory=Requirements)
    limits: Limits = Field(default_factory=Limits)
    params: dict[str, Choice | Between] = Field(
        default_factory=dict,
        description="Variant parameters; each seeded variant picks one value, substituted for {{name}}",
    )
    seed: int = Field(default=0, description="Base of the hidden seeds for the inputs")
    task: str = Field(min_length=10, description="Markdown shown to the learner")
    starter: str
    solution: str
    decoys: list[Decoy] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(
        default_factory=list, description="Correct solutions written differently: each must pass"
    )
    hints: list[str] = Field(min_length=2, description="From a nudge to nearly the answer")
    constraints: Constraints = Field(default_factory=Constraints)
    checks: list[Check] = Field(default_factory=list, description="At least one, except in a quiz (its one check is the answer)")
    quiz: Quiz | None = None
    why: str | None = Field(default=None, description="Why the reference is written this way: shown beside it after a pass")
    notes_off: list[str] = Field(default_factory=list, description="Notes on how code is written that this lesson does not give")
    scale: Scale | None = Field(default=None, description="A larger input for the speed comparison after a pass")

    @field_validator("skills")
    @classmethod
    def _known_skills(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in SKILLS]
        if unknown:
            raise ValueError(f"not in the skill vocabulary: {unknown} (`tutor lessons skills` lists it)")
        if len(set(v)) != len(v):
            raise ValueError("a skill is listed twice")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Lesson:
        if self.id.split("/")[0] != self.track:
            raise ValueError(f"id {self.id!r} must start with its track {self.track!r}/")
        names = [c.name for c in self.checks]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"check names must be unique: {sorted(dupes)}")
        if (self.kind == "quiz") != (self.quiz is not None):
            raise ValueError("a quiz has a 'quiz' block, and only a quiz has one")
        if self.kind != "quiz" and not self.checks:
            raise ValueError("checks: at least one check is needed")
        for what, edits in [(f"decoy {d.mistake!r}", d.replace) for d in self.decoys] + [
            (f"alternative {a.note!r}", a.replace) for a in self.alternatives
        ]:
            for old, _new in edits or []:
                if old not in self.solution:
                    raise ValueError(f"{what}: {old!r} does not occur in the solution")
        used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", self.task + self.starter + self.solution))
        unknown = used - set(self.params)
        if unknown:
            raise ValueError(f"template names without a param: {sorted(unknown)}")
        return self

    @property
    def is_variant_drill(self) -> bool:
        return bool(self.params)


class Track(Strict):
    """A track's title and place, from a pack's _tracks.yaml."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    blurb: str = ""


class TrackList(Strict):
    tracks: list[Track]


def decoy_code(lesson: Lesson, piece: Program) -> str:
    """A decoy's (or an alternative's) whole program: given, or the reference with its edits applied."""
    if piece.code is not None:
        return piece.code
    code = lesson.solution
    for old, new in piece.replace or []:
        code = code.replace(old, new)
    return code


def json_schema() -> dict[str, Any]:
    """The JSON Schema authors point their editors at."""
    schema = Lesson.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tutor lesson"
    return schema
