"""Word (.docx): paragraphs and tables in document order (python-docx), cut at paragraphs whose
style is a heading; the core properties' title, author, subject and language as metadata.

A .docx is a zip: what its parts decompress to is checked against the read limits before any
part is parsed.
"""

from __future__ import annotations

import io
import zipfile

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError

from vectordb_assets.validation.documents.sections import Document, Section, nest_heading
from vectordb_assets.validation.errors import UnreadableFileError
from vectordb_assets.validation.limits import ReadLimits

_PARSE_ERRORS = (zipfile.BadZipFile, PackageNotFoundError, XMLSyntaxError, KeyError, ValueError)


def _heading_level(paragraph: Paragraph) -> int | None:
    name = paragraph.style.name if paragraph.style is not None else ""
    if name.startswith("Heading "):
        level = name.removeprefix("Heading ")
        return int(level) if level.isdigit() else None
    return None


def _table_text(table: Table) -> str:
    return "\n\n".join(" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows)


def _check_expansion(data: bytes, key: str, limits: ReadLimits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as error:
        raise UnreadableFileError(f"{key}: not a readable Word document (.docx is a zip): {error}") from error
    if expanded > min(limits.expansion_limit(len(data)), limits.max_batch_bytes):
        raise limits.refuse_expansion(key, len(data))


def read_docx(data: bytes, key: str, limits: ReadLimits) -> Document:
    _check_expansion(data, key, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        properties = document.core_properties
        found = {
            "title": properties.title,
            "author": properties.author,
            "subject": properties.subject,
            "language": properties.language,
        }
    except _PARSE_ERRORS as error:
        raise UnreadableFileError(f"{key}: not a readable Word document: {error}") from error
    sections: list[Section] = []
    path: tuple[str, ...] = ()
    paragraphs: list[str] = []
    for block in blocks:
        level = _heading_level(block) if isinstance(block, Paragraph) else None
        if level is None:
            text = _table_text(block) if isinstance(block, Table) else block.text
            if text.strip():
                paragraphs.append(text)
            continue
        if paragraphs:
            sections.append(Section(heading_path=path, text="\n\n".join(paragraphs)))
            paragraphs = []
        path = nest_heading(path, level, block.text.strip())
    if paragraphs:
        sections.append(Section(heading_path=path, text="\n\n".join(paragraphs)))
    metadata = {name: value.strip() for name, value in found.items() if value and value.strip()}
    return Document(sections=sections, metadata=metadata)
