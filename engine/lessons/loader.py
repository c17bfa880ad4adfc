"""Load lesson files and lesson packs, reporting errors as file:line: field: message.

The fast path parses with libyaml and validates with pydantic.  Only when a
file is bad do we compose the YAML node tree, to find the line of each
offending field.  The parsed data of good files is kept in a JSON cache keyed
by path, size and modification time, so a start-up skips YAML parsing for
files that did not change (validation still runs every time).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from engine import paths
from engine.lessons.format import Lesson, Track, TrackList

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKey(yaml.YAMLError):
    pass


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """libyaml's parser; a mapping with a repeated key is refused instead of silently merged."""

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        seen = set()
        for key_node, _ in node.value:
            if key_node.value in seen:
                raise _DuplicateKey(f"duplicate key {key_node.value!r}")
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


BUILTIN_LESSONS = paths.BUILTIN_LESSONS
LESSONS_ENV = "TUTOR_LESSONS"


@dataclass(frozen=True)
class LessonError:
    path: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True)
class LoadedLesson:
    lesson: Lesson
    path: Path
    pack: Path


@dataclass
class Catalog:
    """Every lesson found in the packs, in a stable order, with any errors."""

    lessons: list[LoadedLesson] = field(default_factory=list)
    errors: list[LessonError] = field(default_factory=list)
    track_info: dict[str, Track] = field(default_factory=dict)

    _index: dict[str, LoadedLesson] = field(default_factory=dict, repr=False, compare=False)

    def by_id(self) -> dict[str, LoadedLesson]:
        """Lessons by id, built once (and again only if lessons were added since)."""
        if len(self._index) != len(self.lessons):
            self._index = {item.lesson.id: item for item in self.lessons}
        return self._index

    def get(self, lesson_id: str) -> LoadedLesson | None:
        return self.by_id().get(lesson_id)

    def tracks(self) -> list[str]:
        return list(dict.fromkeys(item.lesson.track for item in self.lessons))

    def track_title(self, track: str) -> str:
        info = self.track_info.get(track)
        return info.title if info else track.replace("-", " ").capitalize()

    def in_track(self, track: str) -> list[LoadedLesson]:
        return [item for item in self.lessons if item.lesson.track == track]


class LessonFileError(Exception):
    def __init__(self, errors: list[LessonError]):
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


def pack_dirs(extra: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    """The built-in pack, then TUTOR_LESSONS entries, then --lessons arguments."""
    dirs = [BUILTIN_LESSONS]
    env = os.environ.get(LESSONS_ENV, "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += [Path(p) for p in extra]
    seen: dict[Path, None] = {}
    for d in dirs:
        seen.setdefault(d.expanduser().resolve(), None)
    return list(seen)


def lesson_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    # Files starting with "_" are pack metadata (such as _tracks.yaml), not lessons.
    return sorted(p for p in root.rglob("*.yaml") if not p.name.startswith((".", "_")))


class ParseCache:
    """Parsed YAML of valid lesson files, keyed by path and (mtime_ns, size).

    JSON, not pickle: loading it can never run code, whoever wrote the file.
    A file whose data does not survive a JSON round trip is simply not cached.
    """

    VERSION = 1

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.old: dict[str, list[Any]] = {}
        self.new: dict[str, list[Any]] = {}
        if path is None:
            return
        try:
            raw = json.loads(paths.read_text(path))
            if raw.get("version") == self.VERSION:
                self.old = raw["files"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # missing or damaged: rebuilt from the YAML files

    @classmethod
    def default(cls) -> ParseCache:
        return cls(paths.cache_dir() / "lessons.json")

    @staticmethod
    def _key(stat: os.stat_result) -> list[int]:
        return [stat.st_mtime_ns, stat.st_size]

    def get(self, path: Path, stat: os.stat_result) -> dict[str, Any] | None:
        entry = self.old.get(str(path))
        if entry is None or entry[0] != self._key(stat):
            return None
        self.new[str(path)] = entry
        return entry[1]

    def put(self, path: Path, stat: os.stat_result, data: dict[str, Any]) -> None:
        try:
            if json.loads(json.dumps(data)) != data:
                return  # e.g. integer keys or dates: JSON would change them
        except (TypeError, ValueError):
            return
        self.new[str(path)] = [self._key(stat), data]

    def save(self) -> None:
        if self.path is None or self.new == self.old:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": self.VERSION, "files": self.new}), encoding="utf-8")
            os.replace(tmp, self.path)  # atomic: a reader sees the old cache or the new one
        except OSError:
            pass  # a read-only home just means no cache


def load_lesson_file(path: Path, cache: ParseCache | None = None) -> Lesson:
    """Parse and validate one file; raise LessonFileError with located errors."""
    stat = None
    if cache is not None:
        try:
            stat = path.stat()
        except OSError:
            stat = None
        cached = cache.get(path, stat) if stat is not None else None
        if cached is not None:
            try:
                return Lesson.model_validate(cached)
            except ValidationError:
                pass  # the model changed since the cache was written: parse the file again
    try:
        text = paths.read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonFileError([LessonError(path, 1, "", f"cannot read: {exc}")]) from exc
    try:
        data = yaml.load(text, Loader=_Loader)
    except _DuplicateKey:
        # Only a bad file pays for the node tree that locates each error.
        raise LessonFileError(_duplicate_keys(path, yaml.compose(text, Loader=_Base))) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise LessonFileError([LessonError(path, line, "", f"YAML syntax error: {problem}")]) from exc
    if not isinstance(data, dict):
        raise LessonFileError([LessonError(path, 1, "", "a lesson file must be a mapping of fields")])
    try:
        lesson = Lesson.model_validate(data)
    except ValidationError as exc:
        raise LessonFileError(_located(path, yaml.compose(text, Loader=_Base), exc)) from None
    if cache is not None and stat is not None:
        cache.put(path, stat, data)
    return lesson


def load_catalog(extra: Iterable[str | os.PathLike[str]] = ()) -> Catalog:
    return load_paths(pack_dirs(extra), cache=ParseCache.default())


def load_paths(roots: Iterable[Path], cache: ParseCache | None = None) -> Catalog:
    """Every lesson under `roots`; `cache` skips parsing unchanged files (validation always runs)."""
    catalog = Catalog()
    first_seen: dict[str, Path] = {}
    for root in roots:
        if not root.exists():
            catalog.errors.append(LessonError(root, 0, "", "no such lesson file or folder"))
            continue
        pack = root if root.is_dir() else root.parent
        for path in lesson_files(root):
            try:
                lesson = load_lesson_file(path, cache)
            except LessonFileError as exc:
                catalog.errors += exc.errors
                continue
            if lesson.id in first_seen:
                line = _key_line(path, "id")
                catalog.errors.append(
                    LessonError(path, line, "id", f"duplicate id {lesson.id!r}, first in {first_seen[lesson.id]}")
                )
                continue
            first_seen[lesson.id] = path
            catalog.lessons.append(LoadedLesson(lesson, path, pack))
        if root.is_dir():
            _read_tracks(root, catalog)
    if cache is not None:
        cache.save()
    order = {track: i for i, track in enumerate(catalog.track_info)}
    catalog.lessons.sort(key=lambda item: (order.get(item.lesson.track, len(order)), item.lesson.order, item.lesson.id))
    return catalog


def _read_tracks(root: Path, catalog: Catalog) -> None:
    path = root / "_tracks.yaml"
    if not path.is_file():
        return
    try:
        listing = TrackList.model_validate(yaml.load(paths.read_text(path), Loader=_Loader))
    except (yaml.YAMLError, ValidationError, OSError) as exc:
        catalog.errors.append(LessonError(path, 1, "tracks", f"bad track list: {exc}".splitlines()[0]))
        return
    for track in listing.tracks:
        catalog.track_info.setdefault(track.id, track)


# --- locating errors ----------------------------------------------------------------


def _located(path: Path, root: yaml.Node | None, exc: ValidationError) -> list[LessonError]:
    out: list[LessonError] = []
    seen: set[tuple[int, str, str]] = set()
    for err in exc.errors():
        node, keys = _walk(root, err["loc"])
        line = node.start_mark.line + 1 if node is not None else 1
        name = ".".join(str(k) for k in keys) or "lesson"
        message = _message(err)
        key = (line, name, message)
        if key not in seen:
            seen.add(key)
            out.append(LessonError(path, line, name, message))
    return out


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    msg = err["msg"]
    return msg.removeprefix("Value error, ")


def _walk(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[yaml.Node | None, list[Any]]:
    """Follow a pydantic error location through the YAML nodes as far as it goes.

    Union member names and other model-internal steps do not exist in the YAML;
    they are skipped, so the reported field is the one the author wrote.
    """
    keys: list[Any] = []
    current = node
    for step in loc:
        nxt = None
        if isinstance(current, yaml.MappingNode):
            for knode, vnode in current.value:
                if knode.value == str(step):
                    # An unknown key is reported at the key itself.
                    nxt = vnode if vnode is not None else knode
                    if step == loc[-1]:
                        nxt = knode
                    break
        elif isinstance(current, yaml.SequenceNode) and isinstance(step, int):
            if 0 <= step < len(current.value):
                nxt = current.value[step]
        if nxt is None:
            if isinstance(step, str) and step[:1].isupper():
                continue  # a union member's model name
            if isinstance(current, (yaml.MappingNode, yaml.SequenceNode)) and step == loc[-1]:
                keys.append(step)  # a missing field: report at its parent
            break
        keys.append(step)
        current = nxt
    return current, keys


def _duplicate_keys(path: Path, node: yaml.Node | None) -> list[LessonError]:
    errors: list[LessonError] = []

    def visit(n: yaml.Node | None, prefix: str) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for knode, vnode in n.value:
                name = f"{prefix}{knode.value}"
                if knode.value in seen:
                    errors.append(LessonError(path, knode.start_mark.line + 1, name, "duplicate key"))
                seen.add(knode.value)
                visit(vnode, name + ".")
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                visit(item, f"{prefix}{i}.")

    visit(node, "")
    return errors


def _key_line(path: Path, key: str) -> int:
    node = yaml.compose(paths.read_text(path), Loader=_Base)
    if isinstance(node, yaml.MappingNode):
        for knode, _ in node.value:
            if knode.value == key:
                return knode.start_mark.line + 1
    return 1
