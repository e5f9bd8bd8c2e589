"""HTML: the page's main content (BeautifulSoup) cut at its headings; navigation, headers,
footers, asides, forms and scripts are left out; `<title>`, the meta description and `lang` are
the document's metadata."""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag

from vectordb_assets.validation.documents.sections import Document, Section, nest_heading

BOILERPLATE = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg")
BOILERPLATE_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search")
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BLOCKS = (
    "p",
    "li",
    "pre",
    "blockquote",
    "dt",
    "dd",
    "tr",
    "figcaption",
    "caption",
    "div",
    "section",
    "article",
    "table",
)
# Marks a heading in the flattened text; no landed text holds it (control characters are sanitised).
_MARK = "\x00"


def _meta(soup: BeautifulSoup) -> dict[str, str]:
    found: dict[str, str | None] = {"title": soup.title.get_text(" ", strip=True) if soup.title else None}
    description = soup.find("meta", attrs={"name": "description"})
    found["description"] = description.get("content") if isinstance(description, Tag) else None
    html = soup.find("html")
    found["language"] = html.get("lang") if isinstance(html, Tag) else None
    return {name: " ".join(str(value).split()) for name, value in found.items() if value and str(value).strip()}


def read_html(text: str) -> Document:
    soup = BeautifulSoup(text.replace(_MARK, " "), "html.parser")
    metadata = _meta(soup)
    for tag in soup(BOILERPLATE):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": BOILERPLATE_ROLES}):
        tag.decompose()
    body = soup.find("main") or soup.find("article") or soup.body or soup
    for heading in body.find_all(HEADINGS):
        heading.replace_with(f"\n\n{_MARK}{heading.name[1]}{heading.get_text(' ', strip=True)}{_MARK}\n\n")
    for cell in body.find_all(("td", "th")):
        cell.insert_after(" | ")
    for block in body.find_all(BLOCKS):
        block.insert_before("\n\n")
        block.insert_after("\n\n")
    for line_break in body.find_all("br"):
        line_break.replace_with("\n")
    return Document(sections=_sections(body.get_text()), metadata=metadata)


def _sections(flat: str) -> list[Section]:
    """Split text with marked headings into sections under their heading paths."""
    parts = flat.split(_MARK)  # text, heading, text, heading, text, …
    sections = []
    path: tuple[str, ...] = ()
    for index, part in enumerate(parts):
        if index % 2:
            path = nest_heading(path, int(part[0]), part[1:].strip())
        elif part.strip():
            sections.append(Section(heading_path=path, text=part))
    return sections
