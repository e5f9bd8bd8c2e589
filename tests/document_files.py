"""Real documents made for the tests: PDFs (with a text layer, encrypted, image-only), Word files
with headings and a table, HTML with navigation around its content, nested Markdown."""

from __future__ import annotations

import io

import docx
from fpdf import FPDF
from PIL import Image
from pypdf import PdfWriter


def pdf_bytes(pages: list[str | None], title: str = "Pump manual", author: str = "Docs team") -> bytes:
    """A PDF with a page per entry: its text, or an image and no text for None."""
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_lang("en")
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.image(Image.new("RGB", (240, 120), "gray"), x=20, y=20, w=120)
        else:
            pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def encrypted_pdf_bytes(text: str, password: str = "s3cret") -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes([text])))
    writer.encrypt(user_password=password, owner_password=password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    """A contract: a title, two headed sections (one nested), a table."""
    document = docx.Document()
    document.core_properties.title = "Supply contract"
    document.core_properties.author = "Legal"
    document.add_paragraph("Between Acme and Globex, signed in March.")
    document.add_heading("Terms", level=1)
    document.add_paragraph("Deliveries arrive within ten working days of each order.")
    document.add_heading("Payment", level=2)
    document.add_paragraph("Invoices are paid within thirty days.")
    table = document.add_table(rows=2, cols=2)
    for row, (item, price) in zip(table.rows, [("Item", "Price"), ("Pump", "120 EUR")]):
        row.cells[0].text, row.cells[1].text = item, price
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HTML_PAGE = """<!doctype html>
<html lang="en"><head><title>Resetting your router</title>
<meta name="description" content="How to reset the X200 router."></head>
<body>
<nav><a href="/">Home</a> | <a href="/shop">Shop</a> | Cookie settings</nav>
<header>Help center banner</header>
<main>
<h1>Resetting your router</h1>
<p>Hold the <b>reset</b> button for ten seconds.</p>
<h2>When the light blinks</h2>
<p>Wait until the light is steady green.</p>
<ul><li>Do not unplug it.</li><li>Reconnect after two minutes.</li></ul>
</main>
<aside>Related: other routers</aside>
<footer>Copyright Acme</footer>
<script>track("page")</script>
</body></html>
"""

MARKDOWN_GUIDE = """---
title: Install guide
---
Read this first.

# Install

Download the package.

## Linux

Run the installer.

```sh
# not a heading
./install.sh
```

## macOS

Open the disk image.

# Uninstall

Delete the folder.
"""
