"""Reading pages in tests without a browser: elements by id, with their text.

A small parser on the standard library's `html.parser` (no dependency): enough to say
"the error under field X reads Y" or "there is no submit button".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[Element] = []
        self.elements: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.parts.append(data)


class Page:
    def __init__(self, response_or_html: Any) -> None:
        html = (
            response_or_html
            if isinstance(response_or_html, str)
            else response_or_html.content.decode()
        )
        parser = _Parser()
        parser.feed(html)
        self.elements = parser.elements
        self.html = html

    def id(self, element_id: str) -> Element:
        """The element with this id; a test that reads it fails here, naming it, if it is
        missing (`id_or_none` asks whether it is there)."""
        found = self.id_or_none(element_id)
        if found is None:
            raise AssertionError(f"no element with id {element_id!r} on the page")
        return found

    def id_or_none(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.attrs.get("id") == element_id), None)

    def all(self, tag: str = "", **attrs: str) -> list[Element]:
        """Elements of `tag` (any when empty) whose attributes equal those given
        (`data_step="submit"` matches data-step)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.elements
            if (not tag or e.tag == tag) and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]

    def first(self, tag: str = "", **attrs: str) -> Element:
        """The first element `all` finds; fails here, naming what it looked for, if none
        (`first_or_none` asks whether there is one)."""
        found = self.first_or_none(tag, **attrs)
        if found is None:
            raise AssertionError(f"no <{tag or '*'}> with {attrs} on the page")
        return found

    def first_or_none(self, tag: str = "", **attrs: str) -> Element | None:
        found = self.all(tag, **attrs)
        return found[0] if found else None

    @property
    def text(self) -> str:
        body = self.first_or_none("body") or self.first_or_none("html")
        return body.text if body else " ".join(self.html.split())
