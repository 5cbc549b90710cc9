"""Text out of uploaded files: plain text, Markdown, HTML and PDF (pypdf). Headings come out as Markdown
``#`` lines, whatever the format, so the chunker has one way to find sections."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

__all__ = ["DocumentError", "detect_kind", "extract_text", "MAX_BYTES"]

MAX_BYTES = 5 * 1024 * 1024
_EXTENSIONS = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html",
               ".htm": "html", ".pdf": "pdf"}  # fmt: skip


class DocumentError(ValueError):
    """The upload cannot become knowledge (unknown format, unreadable, no text in it). Said to the user as is."""


def detect_kind(filename: str, data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "pdf"
    name = filename.lower()
    for extension, kind in _EXTENSIONS.items():
        if name.endswith(extension):
            return kind
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    raise DocumentError("Unknown file type: upload .txt, .md, .html or .pdf.")


def extract_text(kind: str, data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise DocumentError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if kind == "pdf":
        text = _pdf(data)
    elif kind == "html":
        text = _html(_decode(data))
    elif kind == "markdown":
        text = _markdown(_decode(data))
    elif kind == "text":
        text = _decode(data)
    else:
        raise DocumentError(f"Unknown document kind {kind!r}.")
    text = re.sub(r"[ \t\r\f\v]+\n", "\n", text.replace("\r\n", "\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not re.search(r"\w", text):
        raise DocumentError("No text found in the file (a scanned PDF needs OCR first).")
    return text


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _markdown(text: str) -> str:
    """Markdown without its markup, headings kept: what a listener would read aloud."""
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # code blocks are not spoken knowledge
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)  # images -> alt text
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links -> their text
    # [ \t] rather than \s: these patterns must never eat the blank lines that separate paragraphs.
    text = re.sub(r"^[ \t]*(?:[-*+]|\d+\.)[ \t]+", "", text, flags=re.MULTILINE)  # list bullets
    text = re.sub(r"^[ \t]*>[ \t]?", "", text, flags=re.MULTILINE)  # quotes
    text = re.sub(r"^[ \t]*\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*$", "", text, flags=re.MULTILINE)  # table rules
    text = re.sub(r"[ \t]*\|[ \t]*", " ", text)
    text = re.sub(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1", r"\2", text)  # emphasis, inline code
    return re.sub(r"^(#{1,6})[ \t]*(.+?)[ \t]*#*[ \t]*$", r"\1 \2", text, flags=re.MULTILINE)


class _HtmlText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "svg", "head"}
    _BLOCK = {"p", "div", "section", "article", "li", "tr", "br", "table", "ul", "ol", "dd", "dt", "blockquote",
              "header", "footer", "main", "aside", "pre", "form"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html(text: str) -> str:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return "\n".join(lines)


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("The PDF is password-protected.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise DocumentError(f"The PDF could not be read ({type(exc).__name__}).") from exc
    return "\n\n".join(pages)
