"""Uploads become text with headings marked, then chunks of ~100-200 words that overlap within a section."""

from __future__ import annotations

import pytest

from knowledge.chunking import MAX_WORDS, OVERLAP_WORDS, chunk_text
from knowledge.extract import DocumentError, detect_kind, extract_text

from .pdf import make_pdf


def test_markdown_keeps_headings_and_drops_markup():
    text = extract_text("markdown", b"# Clinic\n\n## Hours\n- **Mon-Fri**: 8 to 6\n- [Book online](https://x)\n\n"
                                    b"```\ncode()\n```\n\n| Day | Open |\n|---|---|\n| Sat | 9 |\n")
    assert text.splitlines()[:4] == ["# Clinic", "", "## Hours", "Mon-Fri: 8 to 6"]
    assert "Book online" in text and "https" not in text and "code()" not in text and "Sat 9" in text


def test_html_headings_blocks_and_no_scripts():
    html = (b"<html><head><title>x</title><style>p{}</style></head><body><h1>Clinic</h1><p>Welcome &amp; hello."
            b"</p><script>alert(1)</script><h2>Parking</h2><ul><li>Free parking</li><li>Bike racks</li></ul>"
            b"</body></html>")
    text = extract_text(detect_kind("page.html", html), html)
    assert "# Clinic" in text and "## Parking" in text and "Welcome & hello." in text
    assert "alert" not in text and "p{}" not in text
    chunks = chunk_text(text)
    assert [c.heading for c in chunks] == ["Clinic", "Clinic > Parking"]
    assert chunks[1].text == "Free parking Bike racks"


def test_pdf_text_is_extracted():
    data = make_pdf(["Opening hours", "We are open Monday to Friday, 8 am to 6 pm.", "Parking is free."])
    assert detect_kind("info.bin", data) == "pdf"
    text = extract_text("pdf", data)
    assert "We are open Monday to Friday, 8 am to 6 pm." in text and "Parking is free." in text


def test_plain_text_headings_are_guessed_and_bad_files_refused():
    text = extract_text("text", b"Opening hours\n\nWe open at 8.\n\nParking\n\nFree parking.")
    chunks = chunk_text(text, guess_headings=True)
    assert [(c.heading, c.text) for c in chunks] == [("Opening hours", "We open at 8."), ("Parking", "Free parking.")]
    with pytest.raises(DocumentError, match="Unknown file type"):
        detect_kind("photo.jpg", b"\xff\xd8\xff")
    with pytest.raises(DocumentError, match="No text"):
        extract_text("text", b"   \n\n ")
    with pytest.raises(DocumentError, match="could not be read"):
        extract_text("pdf", b"%PDF-1.4 not really")
    assert extract_text("text", "caf\xe9".encode("cp1252")) == "café"


def test_long_sections_are_cut_with_overlap():
    sentences = [f"Fact number {i} about our clinic is worth knowing." for i in range(90)]  # 720 words
    paragraphs = "\n\n".join(" ".join(sentences[i : i + 6]) for i in range(0, 90, 6))
    chunks = chunk_text(f"# Facts\n\n{paragraphs}")
    assert len(chunks) >= 4 and all(c.heading == "Facts" for c in chunks)
    assert all(60 <= c.words <= MAX_WORDS for c in chunks[:-1])
    for before, after in zip(chunks, chunks[1:], strict=False):
        carried = " ".join(before.text.split()[-OVERLAP_WORDS // 2 :])
        assert after.text.startswith(" ".join(after.text.split()[: len(carried.split())]))
        assert carried in after.text  # the end of one chunk opens the next
    # Every sentence survives somewhere.
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)
