"""Markdown and plain text. Markdown is cut at its headings as CommonMark parses them
(markdown-it-py: no `#` inside a code block is a heading); each section keeps its source text.
A YAML front matter's `title:` is the document's title. Plain text is one section."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from vectordb_assets.validation.documents.sections import Document, Section, nest_heading

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
_TITLE_LINE = re.compile(r"^title:\s*(.+?)\s*$", re.MULTILINE)


def read_markdown(text: str) -> Document:
    metadata: dict[str, str] = {}
    front = _FRONT_MATTER.match(text)
    if front:
        title = _TITLE_LINE.search(front.group(1))
        if title:
            metadata["title"] = title.group(1).strip("'\"")
        text = text[front.end() :]
    lines = text.splitlines()
    sections: list[Section] = []
    path: tuple[str, ...] = ()
    start = 0
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue
        body = "\n".join(lines[start : token.map[0]])
        if body.strip():
            sections.append(Section(heading_path=path, text=body))
        heading = tokens[index + 1].content.strip()
        path = nest_heading(path, int(token.tag[1]), heading)
        if token.tag == "h1":
            metadata.setdefault("title", heading)
        start = token.map[1]
    body = "\n".join(lines[start:])
    if body.strip():
        sections.append(Section(heading_path=path, text=body))
    return Document(sections=sections, metadata=metadata)


def read_text(text: str) -> Document:
    return Document(sections=[Section(heading_path=(), text=text)] if text.strip() else [])
