"""What a document reader yields (its sections and the file's own metadata) and how a section is
cut into chunks: paragraphs first, then words, never inside a word, with ids stable across
re-landings.

Example::

    chunk_text("First paragraph.\\n\\nSecond one.", size=20, overlap=12)
    # ['First paragraph.', 'paragraph.\\nSecond one.']
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_NOT_SLUG = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Section:
    """Text under one heading path (outermost heading first), or one page of a PDF."""

    heading_path: tuple[str, ...]
    text: str
    page: int | None = None


@dataclass
class Document:
    """A parsed document: its sections in order, the file's own metadata (title, author,
    description, language when the file says), and the pages that carry no text."""

    sections: list[Section]
    metadata: dict[str, str] = field(default_factory=dict)
    pages: int | None = None
    pages_without_text: list[int] = field(default_factory=list)
    pages_unreadable: list[tuple[int, str]] = field(default_factory=list)
    invalid_utf8: bool = False  # bytes that were not UTF-8 were replaced (U+FFFD)


def _words_within(paragraph: str, size: int) -> list[str]:
    """A paragraph longer than `size` cut between words into pieces of at most `size` characters
    (a single longer word stays whole)."""
    pieces: list[str] = []
    current = ""
    for word in paragraph.split():
        if current and len(current) + 1 + len(word) > size:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*pieces, current] if current else pieces


def _tail(text: str, overlap: int) -> str:
    """The last whole words of `text` within `overlap` characters."""
    words: list[str] = []
    for word in reversed(text.split()):
        if len(" ".join([word, *words])) > overlap:
            break
        words.insert(0, word)
    return " ".join(words)


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    """Paragraphs packed into chunks of at most `size` characters of their own, a paragraph longer
    than that cut between words; every chunk after the first starts with the last words (at most
    `overlap` characters) of the one before."""
    if not 0 <= overlap < size:
        raise ValueError(f"chunk overlap {overlap} must be at least 0 and less than the chunk size {size}")
    paragraphs = [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text)]
    pieces = [piece for p in paragraphs if p for piece in _words_within(p, size)]
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 2 + len(piece) > size:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        chunks.append(current)
    overlapped = chunks[:1]
    for before, chunk in zip(chunks, chunks[1:]):
        tail = _tail(before, overlap)
        overlapped.append(f"{tail}\n{chunk}" if tail else chunk)
    return overlapped


def _slug(heading: str) -> str:
    return _NOT_SLUG.sub("-", heading.lower()).strip("-") or "untitled"


def section_ids(sections: list[Section]) -> list[str]:
    """A stable id per section: `p<page>` for a page, else the slugs of its heading path joined
    by `/` (`top` for text before the first heading); a repeated id gets `-2`, `-3`, … in order."""
    seen: Counter[str] = Counter()
    ids = []
    for section in sections:
        if section.page is not None:
            base = f"p{section.page}"
        else:
            base = "/".join(_slug(h) for h in section.heading_path) or "top"
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def nest_heading(path: tuple[str, ...], level: int, heading: str) -> tuple[str, ...]:
    """The heading path after a heading of `level` (1 outermost): its parents kept, then it."""
    return (*path[: level - 1], heading)
