"""PII redaction of stored transcripts: card numbers (Luhn-checked), national ids, e-mail addresses, phone numbers.

Transcripts come from speech recognition, so numbers arrive spaced or dashed in groups ("4111 1111 1111 1111",
"123-45-6789"). Order matters: e-mail first (addresses contain digits), then cards (a 16-digit run would also look
like a phone number), then ids, then phone numbers. A digit run that fails the Luhn check is not a card, and is
left to the later patterns.
"""

from __future__ import annotations

import re

CARD = "[card]"
ID = "[id]"
EMAIL = "[email]"
PHONE = "[phone]"

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# US SSN (3-2-4; never 000, 666 or 9xx first, 00 middle or 0000 last) and UK National Insurance numbers.
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([ -]?)(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
                   re.IGNORECASE)
# International (+ and 8-15 digits) or North American (10 digits, optional country code 1), common separators.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}(?!\d)"
    r"|(?<![\w+])\+\d(?:[ .-]?\d){7,14}(?!\d)"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return CARD if 13 <= len(digits) <= 19 and luhn_ok(digits) else match.group()


def redact(text: str) -> str:
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _CARD.sub(_card, text)
    text = _SSN.sub(ID, text)
    text = _NINO.sub(ID, text)
    return _PHONE.sub(PHONE, text)


def redact_tree(value):
    """`redact` applied to every string in a JSON-like value (a brain state: variables, LLM messages)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    return value
