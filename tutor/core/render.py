"""Rich renderables and JSON shapes for the headless commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from engine.feedback.speed import throughput
from engine.feedback.trace import shape_text
from engine.lessons.format import Lesson
from engine.lessons.loader import LoadedLesson
from tutor.core.state import Progress
from tutor.core.timed import strip_code_examples

STATUS_MARK = {"done": "[green]✔ done[/]", "attempted": "[yellow]… attempted[/]", "new": "[dim]new[/]"}


def lesson_row(item: LoadedLesson, progress: Progress | None) -> dict[str, Any]:
    lesson = item.lesson
    status = progress.status if progress else "new"
    return {
        "id": lesson.id,
        "title": lesson.title,
        "track": lesson.track,
        "kind": lesson.kind,
        "minutes": lesson.minutes,
        "source": {"seed": lesson.source.seed, "section": lesson.source.section},
        "status": status,
        "variants": lesson.is_variant_drill,
        "path": str(item.path),
    }


def fitting_table(title: str, width: int) -> Table:
    """A table for a terminal `width` wide: light rules below 100 columns, so no column is lost."""
    narrow = width < 100
    return Table(title=title, title_justify="left", expand=False, box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
                 pad_edge=not narrow, collapse_padding=narrow)  # fmt: skip


def lesson_table(rows: list[dict[str, Any]], width: int = 120) -> Table:
    """The lesson list; the kind and source columns only where the terminal has room for them."""
    wide, roomy = width >= 110, width >= 100
    table = fitting_table(f"{len(rows)} lessons", width)
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("title", min_width=16, ratio=1)
    if roomy:
        table.add_column("kind", no_wrap=True)
    table.add_column("min", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if wide:
        table.add_column("source", style="dim", no_wrap=True, overflow="ellipsis", max_width=32)
    for row in rows:
        seed = row["source"]["seed"].split("_")[0]
        cells = [
            row["id"],
            escape(row["title"]),
            *([row["kind"]] if roomy else []),
            str(row["minutes"]),
            STATUS_MARK[row["status"]],
        ]
        if wide:
            cells.append(escape(f"{seed} · {row['source']['section']}"))
        table.add_row(*cells)
    return table


def constraints_text(lesson: Lesson) -> list[str]:
    c = lesson.constraints
    lines = []
    if c.no_loops:
        where = "anywhere" if "*" in c.no_loops else "in " + ", ".join(f"`{n}`" for n in c.no_loops)
        lines.append(f"No `for`, `while` or comprehensions {where}.")
    if c.banned:
        lines.append("Not allowed: " + ", ".join(f"`{b}`" for b in c.banned) + ".")
    if c.required:
        lines.append("Must use: " + ", ".join(f"`{r}`" for r in c.required) + ".")
    return lines


def quiz_markdown(lesson: Lesson) -> str:
    """A quiz's snippet and its question, as markdown."""
    question = lesson.quiz.question or f"What is `{lesson.quiz.ask}`?"
    return (f"```python\n{lesson.solution.rstrip()}\n```\n\n**{question}** Type the answer in the editor and press F5 "
            "(a shape like `(2, 3)`, a dtype like `torch.float32`, a value, or `error: TypeName`).")  # fmt: skip


def lesson_view(lesson: Lesson, from_memory: bool = False) -> RenderableType:
    """The task, its rules, the starter and the checks; `from_memory` hides the task's code examples."""
    meta = Text.assemble(
        (lesson.id, "cyan"),
        "  ·  ",
        lesson.kind,
        "  ·  ",
        f"~{lesson.minutes} min",
        *(("  ·  ", f"{lesson.time_limit}s timed") if lesson.time_limit else ()),
        style="dim",
    )
    task = strip_code_examples(lesson.task) if from_memory else lesson.task
    parts: list[RenderableType] = [meta, Markdown(task)]
    if lesson.quiz is not None:
        parts.append(Markdown(quiz_markdown(lesson).replace("in the editor and press F5", "in the file and save")))
        return Panel(Group(*parts), title=f"[b]{escape(lesson.title)}[/]", title_align="left")
    rules = constraints_text(lesson)
    if rules:
        parts.append(Panel(Markdown("\n".join(f"- {r}" for r in rules)), title="Constraints", border_style="yellow"))
    parts.append(Panel(Syntax(lesson.starter.rstrip(), "python", theme="ansi_dark"), title="Starter code"))
    checks = "\n".join(f"- {c.name}" for c in lesson.checks)
    parts.append(Panel(Markdown(checks), title="What the checker decides", border_style="blue"))
    return Panel(Group(*parts), title=f"[b]{escape(lesson.title)}[/]", title_align="left")


def hints_view(lesson: Lesson, level: int) -> RenderableType:
    parts = [
        Panel(Markdown(text), title=f"Hint {i} of {len(lesson.hints)}", border_style="magenta")
        for i, text in enumerate(lesson.hints[:level], start=1)
    ]
    return Group(*parts)


def lesson_json(lesson: Lesson, params: dict[str, Any], path: Path) -> dict[str, Any]:
    return {
        "id": lesson.id,
        "title": lesson.title,
        "track": lesson.track,
        "kind": lesson.kind,
        "minutes": lesson.minutes,
        "time_limit": lesson.time_limit,
        "source": lesson.source.model_dump(),
        "skills": lesson.skills,
        "params": params,
        "task": lesson.task,
        "starter": lesson.starter,
        "constraints": constraints_text(lesson),
        "checks": [c.name for c in lesson.checks],
        "hint_levels": len(lesson.hints),
        "path": str(path),
    }


# --- verdicts --------------------------------------------------------------------------------------


def verdict_view(verdict: Any, width: int | None = None) -> RenderableType:
    """Every failing check first, each with its reason and expected beside (or above) actual.

    `width` is the room the verdict has: under 60 columns expected and
    actual are stacked instead of side by side, so no word breaks mid-token.
    """
    passed, total = verdict.score
    parts: list[RenderableType] = []
    if verdict.cancelled:
        head, head_style = "STOPPED", "bold yellow"
    else:
        head, head_style = ("PASSED", "bold green") if verdict.passed else ("NOT PASSED", "bold red")
    parts.append(Text.assemble((f"{head} ", head_style), f"{passed}/{total} checks · {verdict.duration_ms:.0f} ms"))
    if verdict.cancelled:
        parts.append(Text("the run was stopped before it finished: nothing was decided", style="yellow"))
    speed = getattr(verdict, "speed", None)
    if speed:
        parts.append(speed_line(speed))
    failing = [c for c in verdict.checks if not c.passed]
    if verdict.problem and not any(verdict.problem in c.message for c in failing):
        parts.append(Text(f"⚠ {verdict.problem}", style="yellow"))
    narrow = width is not None and width < 60
    trace = getattr(verdict, "trace", None)
    traced = next((c for c in failing if c.name == verdict.trace_of), None) if trace else None
    explained: set[str] = set()  # one error at one line, met by several checks, is explained once
    for check in failing:
        parts.append(Text.assemble(("✘ ", "red"), (check.name, "bold")))
        where = _raised_at(check.traceback)
        parts.append(Padding(failure_detail(check, narrow, explained=where in explained), (0, 0, 0, 2)))
        explained.add(where)
        if check is traced:  # the shapes beside the failure they explain
            parts.append(Padding(trace_view(trace, check.name), (0, 0, 0, 2)))
    if trace and traced is None:
        parts.append(trace_view(trace, verdict.trace_of))
    for check in verdict.checks:
        if check.passed:
            parts.append(Text.assemble(("✔ ", "green"), check.name))
    first = failing[0] if failing else None
    if verdict.traceback and (not first or verdict.traceback != first.traceback):
        parts.append(Panel(Text(verdict.traceback), title="traceback (your lines)", border_style="red"))
        if getattr(verdict, "explanation", None):
            parts.append(explanation_text(verdict.explanation))
    notes = getattr(verdict, "notes", None)
    if notes:
        parts.append(notes_view(notes))
    if getattr(verdict, "truncated", None):
        parts.append(Text(f"output over 1 MiB on {' and '.join(verdict.truncated)} was cut", style="dim"))
    return Group(*parts)


def speed_line(speed: dict[str, Any]) -> Text:
    """After a pass: how fast, next to the reference; a warning sentence when much slower."""
    if speed.get("note"):
        return Text(f"⏱ {speed['note']}", style="yellow")
    mine, ref = speed["mine_ms"], speed["reference_ms"]
    if speed.get("samples"):
        rate, ref_rate = throughput(speed["samples"], mine), throughput(speed["samples"], ref)
        return Text(f"⏱ {rate} on {speed['label']} (reference {ref_rate})", style="dim")
    return Text(f"⏱ {mine:.2f} ms on {speed['label']} (reference {ref:.2f} ms)", style="dim")


def trace_view(entries: list[dict[str, Any]], where: str | None) -> RenderableType:
    """What the learner's lines made on the failing case, line by line (names and shapes as Text, never markup)."""
    table = Table(show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(style="bold", overflow="fold")
    table.add_column(overflow="fold")
    for entry in entries:
        name = entry["name"]
        shown = "returns" if name == "return" else "" if name == "raises" else name
        passes = f" (last of {entry['count']})" if entry.get("count", 1) > 1 else ""
        style = "red" if entry.get("kind") == "error" else "cyan"
        table.add_row(f"line {entry['line']}", Text(shown), Text(shape_text(entry) + passes, style=style))
    title = f"what your lines made · {where}" if where else "what your lines made"
    return Panel(table, title=Text(title), title_align="left", border_style="cyan")


def compare_view(mine: str, reference: str, why: str | None, width: int = 120) -> RenderableType:
    """The learner's code beside the reference (one above the other when narrow), then why it is written so."""
    yours = Panel(
        Syntax(mine.rstrip() or "# (no code saved)", "python", line_numbers=True), title="your code", title_align="left"
    )
    ref = Panel(Syntax(reference.rstrip(), "python", line_numbers=True), title="reference", title_align="left",
                border_style="green")  # fmt: skip
    if width >= 120:
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column(ratio=1)
        table.add_column(ratio=1)
        table.add_row(yours, ref)
        body: RenderableType = table
    else:
        body = Group(yours, ref)
    if not why:
        return body
    return Group(body, Text.assemble(("Why the reference is written this way: ", "bold"), why))


def explanation_text(paragraph: str) -> Text:
    """A known error in plain words, beside its traceback (the message and code it quotes stay plain text)."""
    return Text.assemble(("In plain words: ", "bold yellow"), Text(paragraph))


def notes_view(notes: list[dict[str, Any]]) -> RenderableType:
    """Notes on how the code is written, each at its line: advice that never changes the verdict."""
    table = Table(show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for note in notes:
        table.add_row(f"line {note['line']}", Text.assemble(Text(note["message"]), (f"  [{note['id']}]", "dim")))
    return Panel(table, title=Text("on how it is written"), title_align="left", border_style="blue")


def _raised_at(traceback: str | None) -> str:
    """A traceback without its last line (the message, whose sizes differ from case to case): where it raised."""
    return (traceback or "").rstrip().rpartition("\n")[0]


def failure_detail(check: Any, narrow: bool = False, explained: bool = False) -> RenderableType:
    """The reason in words, then expected and actual (as Text: never read as markup), the traceback,
    and the error in plain words unless the same error at the same line was `explained` above."""
    rows: list[RenderableType] = [Text(check.message, style="red")]
    if check.expected is not None or check.actual is not None:
        expected, actual = Text(check.expected or ""), Text(check.actual or "")
        if narrow:  # a label and its value on one line, wrapped: no room to waste on a narrow pane
            rows += [Text.assemble(("expected ", "bold green"), expected), Text.assemble(("actual ", "bold red"), actual)]
        else:
            table = Table(show_header=True, box=None, pad_edge=False, expand=False)
            table.add_column("expected", style="green", overflow="fold")
            table.add_column("actual", style="red", overflow="fold")
            table.add_row(expected, actual)
            rows.append(table)
    if check.traceback:
        rows.append(Text(check.traceback, style="dim"))
    if getattr(check, "explanation", None) and not explained:
        rows.append(explanation_text(check.explanation))
    return Group(*rows)
