"""Text helpers shared by the app's screens and the headless commands."""

from __future__ import annotations


def bar(done: int, total: int, width: int = 20) -> str:
    """A progress bar in block characters."""
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 attempt', '2 attempts' ('1 day', '3 days'); `many` for irregular plurals."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def telling_line(text: str, other: str) -> str:
    """The line that best tells `text` apart from `other`: its first line `other` lacks.

    Versions of one exercise all start with `import torch`; the versions list
    shows this line instead, so each entry says what is different about it.
    """
    others = {line.strip() for line in other.splitlines()}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    different = next((line for line in lines if line not in others), None)
    if different is not None:
        return different
    plain = (line for line in lines if not line.startswith(("import ", "from ", "#")))
    return next(plain, lines[0] if lines else "(empty)")


def item_label(item) -> str:
    """How a plan item is named in lists: "review 62%", "struggling", "new"."""
    if item.leech:
        return "struggling"
    if item.review:
        return "review" if item.recall is None else f"review {item.recall:.0%}"
    return "new"


# The syllabus documents a lesson's `source.seed` names, as a learner knows them.
DOCUMENTS = {
    "000": "Manual ML problems",
    "001": "Manual ML problems",
    "002": "Six-week fundamentals program",
    "003": "Notebook exercises",
    "004": "From-scratch course",
}


def document_name(seed: str) -> str:
    """'002_ba92….txt' -> 'Six-week fundamentals program' (an unknown file keeps its own name)."""
    return DOCUMENTS.get(seed.split("_")[0], seed)
