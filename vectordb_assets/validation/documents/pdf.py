"""PDF: a section per page with its text layer (pypdf), the document's info as metadata.

An encrypted PDF that needs a password, a corrupt one, and one with no text layer on any page (a
scan) are refused naming the reason; a page without text or whose text cannot be extracted is
named in the report while the other pages are indexed.
"""

from __future__ import annotations

import io

from pypdf import PasswordType, PdfReader
from pypdf.errors import PyPdfError

from vectordb_assets.validation.documents.sections import Document, Section
from vectordb_assets.validation.errors import UnreadableFileError
from vectordb_assets.validation.limits import ReadLimits

# What a malformed PDF makes pypdf raise besides its own errors.
_PARSE_ERRORS = (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError)


def _info(reader: PdfReader) -> dict[str, str]:
    info = reader.metadata or {}
    found = {"title": info.get("/Title"), "author": info.get("/Author"), "subject": info.get("/Subject")}
    language = reader.trailer["/Root"].get("/Lang")
    found["language"] = language
    return {name: str(value).strip() for name, value in found.items() if value and str(value).strip()}


def read_pdf(data: bytes, key: str, limits: ReadLimits) -> Document:
    try:
        reader = PdfReader(io.BytesIO(data))
        locked = reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED
        if not locked:
            pages = len(reader.pages)
            metadata = _info(reader)
    except _PARSE_ERRORS as error:
        raise UnreadableFileError(f"{key}: corrupt PDF: {error}") from error
    if locked:
        raise UnreadableFileError(f"{key}: encrypted PDF that needs a password (land it decrypted)")
    limits.check_pages(key, pages)
    document = Document(sections=[], metadata=metadata, pages=pages)
    extracted = 0
    for number, page in enumerate(reader.pages, 1):
        try:
            text = page.extract_text() or ""
        except _PARSE_ERRORS as error:
            document.pages_unreadable.append((number, f"page {number}: text could not be extracted ({error})"))
            continue
        extracted += len(text)
        limits.check_text(key, len(data), extracted)
        if text.strip():
            document.sections.append(Section(heading_path=(), text=text, page=number))
        else:
            document.pages_without_text.append(number)
    if not document.sections and document.pages_unreadable:
        raise UnreadableFileError(
            f"{key}: corrupt PDF: no page's text could be extracted; {document.pages_unreadable[0][1]}"
        )
    if not document.sections:
        raise UnreadableFileError(
            f"{key}: no text layer on any of its {pages} pages (a scanned or image-only PDF: run OCR before landing it)"
        )
    return document
