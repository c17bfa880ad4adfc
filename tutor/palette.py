"""Command palette: jump to any lesson by title or id."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider


class LessonCommands(Provider):
    def _lessons(self):
        return self.app.session.catalog.lessons

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for item in self._lessons():
            text = f"{item.lesson.title} ({item.lesson.id})"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.open_lesson, item.lesson.id), help=item.lesson.kind)

    async def discover(self) -> Hits:
        for item in self._lessons()[:20]:
            yield DiscoveryHit(Text(f"{item.lesson.title} ({item.lesson.id})"), partial(self.app.open_lesson, item.lesson.id))
