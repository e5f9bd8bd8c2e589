"""Documents validated into canonical rows: sections, chunks and their ids, the file's own
metadata, and the refusals that name the file, page and reason."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.document_files import HTML_PAGE, MARKDOWN_GUIDE, docx_bytes, encrypted_pdf_bytes, pdf_bytes
from vectordb_assets.validation.documents.sections import Section, chunk_text, section_ids
from vectordb_assets.validation.limits import ReadLimits
from vectordb_assets.validation.readers import ReadOptions, UnreadableFileError
from vectordb_assets.validation.report import ValidationOptions
from vectordb_assets.validation.validate import validate_file


def validated(tmp_path: Path, key: str, data: bytes, limits: ReadLimits = ReadLimits()):
    """The report and the canonical rows (metadata parsed) of a document landed as `key`."""
    path = tmp_path / key.replace("/", "_")
    path.write_bytes(data)
    out = tmp_path / "out.parquet"
    report = validate_file(path, key, "etag-1", out, options=ValidationOptions(read=ReadOptions(limits=limits)))
    rows = pq.read_table(out).to_pylist()
    for row in rows:
        row["metadata"] = json.loads(row["metadata"])
    return report, rows


def test_chunks_keep_paragraphs_whole_never_cut_a_word_and_overlap() -> None:
    paragraphs = [" ".join(f"w{p}x{i}" for i in range(30)) for p in range(4)]  # ~180 characters each
    chunks = chunk_text("\n\n".join(paragraphs), size=400, overlap=20)
    assert [c.count("\n\n") for c in chunks] == [1, 1]  # two paragraphs per chunk
    words = set(" ".join(paragraphs).split())
    assert all(word in words for chunk in chunks for word in chunk.split())
    assert chunks[1].startswith(" ".join(paragraphs[1].split()[-3:]) + "\n")
    long_paragraph = " ".join(["word"] * 500)
    pieces = chunk_text(long_paragraph, size=100, overlap=0)
    assert all(len(piece) <= 100 for piece in pieces) and " ".join(pieces).split() == long_paragraph.split()
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("x", size=10, overlap=10)


def test_section_ids_are_pages_or_heading_paths_and_never_repeat() -> None:
    sections = [
        Section((), "intro"),
        Section(("Install",), "a"),
        Section(("Install", "Linux & BSD"), "b"),
        Section(("Install",), "c"),
        Section((), "p", page=7),
    ]
    assert section_ids(sections) == ["top", "install", "install/linux-bsd", "install-2", "p7"]


def test_a_pdf_becomes_a_row_per_page_chunk_with_its_info(tmp_path: Path) -> None:
    pages = ["The pump draws 40 watts.", None, "Clean the filter every month."]
    report, rows = validated(tmp_path, "manuals/pump.pdf", pdf_bytes(pages))
    assert [r["doc_id"] for r in rows] == ["manuals/pump.pdf#p1#0", "manuals/pump.pdf#p3#0"]
    assert [r["text"] for r in rows] == ["The pump draws 40 watts.", "Clean the filter every month."]
    first = rows[0]["metadata"]
    assert (first["page"], first["title"], first["author"], first["language"]) == (1, "Pump manual", "Docs team", "en")
    assert report.document == {
        "format": "pdf",
        "title": "Pump manual",
        "pages": 3,
        "sections": 2,
        "chunks": 2,
        "pages_without_text": [2],
    }
    assert report.rows_rejected == 0 and report.summary()["document"]["pages_without_text"] == [2]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (encrypted_pdf_bytes("secret terms"), "manual.pdf: encrypted PDF that needs a password"),
        (pdf_bytes([None, None]), "manual.pdf: no text layer on any of its 2 pages (a scanned or image-only PDF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog", "manual.pdf: corrupt PDF"),
    ],
    ids=["encrypted", "image-only", "corrupt"],
)
def test_a_pdf_without_readable_text_is_refused_saying_why(tmp_path: Path, data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFileError) as refused:
        validated(tmp_path, "manual.pdf", data)
    assert str(refused.value).startswith(reason)


def test_a_pdf_with_more_pages_than_the_bound_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match=r"big.pdf: 4 pages, over the 3 .*VECTORDB_MAX_PAGES"):
        validated(tmp_path, "big.pdf", pdf_bytes(["a", "b", "c", "d"]), ReadLimits(max_pages=3))


def test_html_keeps_the_main_content_under_its_headings(tmp_path: Path) -> None:
    report, rows = validated(tmp_path, "help/reset.html", HTML_PAGE.encode())
    assert [(r["doc_id"], r["text"]) for r in rows] == [
        ("help/reset.html#resetting-your-router#0", "Hold the reset button for ten seconds."),
        (
            "help/reset.html#resetting-your-router/when-the-light-blinks#0",
            "Wait until the light is steady green.\n\nDo not unplug it.\n\nReconnect after two minutes.",
        ),
    ]
    meta = rows[1]["metadata"]
    assert meta["heading_path"] == "Resetting your router > When the light blinks"
    assert (meta["title"], meta["description"], meta["language"]) == (
        "Resetting your router",
        "How to reset the X200 router.",
        "en",
    )
    everything = json.dumps(rows)
    assert not any(noise in everything for noise in ("Cookie settings", "banner", "Related", "Copyright", "track("))
    assert report.document["sections"] == 2
    # Without <main> the page's body is read, its navigation, header, footer and aside left out.
    plain = HTML_PAGE.replace("<main>", "<div>").replace("</main>", "</div>")
    _, without_main = validated(tmp_path, "help/reset.html", plain.encode())
    assert [r["text"] for r in without_main] == [r["text"] for r in rows]


def test_markdown_is_cut_at_its_headings_not_at_a_hash_in_code(tmp_path: Path) -> None:
    _, rows = validated(tmp_path, "docs/install.md", MARKDOWN_GUIDE.encode())
    assert [(r["doc_id"].split("#", 1)[1], r["metadata"].get("heading_path")) for r in rows] == [
        ("top#0", None),
        ("install#0", "Install"),
        ("install/linux#0", "Install > Linux"),
        ("install/macos#0", "Install > macOS"),
        ("uninstall#0", "Uninstall"),
    ]
    assert "# not a heading" in rows[2]["text"] and rows[0]["metadata"]["title"] == "Install guide"


def test_plain_text_is_one_section_of_paragraph_chunks(tmp_path: Path) -> None:
    paragraphs = [f"Note {n}: " + " ".join(["detail"] * 120) for n in range(3)]  # ~730 characters each
    report, rows = validated(tmp_path, "notes.txt.gz", gzip.compress("\n\n".join(paragraphs).encode()))
    assert [r["doc_id"] for r in rows] == ["notes.txt.gz#top#0", "notes.txt.gz#top#1", "notes.txt.gz#top#2"]
    assert [r["text"].split("\n")[-1] for r in rows] == paragraphs
    assert rows[0]["metadata"]["title"] == "notes.txt.gz" and report.document["format"] == "text"


def test_invalid_utf8_in_a_text_document_is_replaced_and_counted(tmp_path: Path) -> None:
    report, rows = validated(tmp_path, "notes.md", b"# Caf\xe9\n\nOpen at nine.\n\nMenu \xff here.")
    assert report.repaired == {"invalid UTF-8 replaced": 1}
    assert [(r["text"], r["metadata"]["heading_path"]) for r in rows] == [
        ("Open at nine.\n\nMenu \ufffd here.", "Caf\ufffd")
    ]


def test_word_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    report, rows = validated(tmp_path, "legal/contract.docx", docx_bytes())
    assert [(r["doc_id"], r["text"]) for r in rows] == [
        ("legal/contract.docx#top#0", "Between Acme and Globex, signed in March."),
        ("legal/contract.docx#terms#0", "Deliveries arrive within ten working days of each order."),
        (
            "legal/contract.docx#terms/payment#0",
            "Invoices are paid within thirty days.\n\nItem | Price\n\nPump | 120 EUR",
        ),
    ]
    assert (rows[2]["metadata"]["title"], rows[2]["metadata"]["author"]) == ("Supply contract", "Legal")
    assert report.document["sections"] == 3


def test_a_word_file_that_expands_past_the_bound_is_refused_before_parsing(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<" + b"a" * (8 << 20) + b">")
    with pytest.raises(UnreadableFileError, match="bomb.docx: decompresses to more than 100x"):
        validated(tmp_path, "bomb.docx", out.getvalue())
    with pytest.raises(UnreadableFileError, match="broken.docx: not a readable Word document"):
        validated(tmp_path, "broken.docx", b"PK\x03\x04 not really a zip")


def test_a_document_larger_than_a_batch_is_refused_naming_the_setting(tmp_path: Path) -> None:
    big = ("word " * (300 << 10)).encode()  # 1.5 MiB
    with pytest.raises(UnreadableFileError, match="big.md: a document is read whole.*VECTORDB_MAX_BATCH_BYTES"):
        validated(tmp_path, "big.md", big, ReadLimits(max_batch_bytes=1 << 20))
