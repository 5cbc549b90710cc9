"""The rules of a transfer's SIP headers, for both carriers: the call's context (summary, intent, slots) travels to
the person taking the call in custom SIP headers. The carriers' own instructions, cold or warm, to a phone number
or a SIP address, are built in their folders (twilio/transfer.py: TwiML; telnyx/transfer.py: `transfer` params).

Rules enforced here, whatever the flow asked for (see ../shared/reference/PROTOCOLS.md):

- custom SIP header names start with ``x-`` and never with ``x-twilio`` (Twilio refuses those), checked without
  case (SIP header names are case-insensitive); ours are X-Summary, X-Intent and X-Slot-<Name>;
- values are single-line text, control characters removed, at most `MAX_VALUE_CHARS` characters;
- on Twilio the headers travel in the SIP URI's query, each name and value URL-encoded, the whole URI kept
  under `MAX_SIP_URI_CHARS` (slot headers are dropped first, then the custom ones, the summary last);
- on Telnyx they are the `custom_headers` list of the `transfer` command.

Warm transfers (the person answering hears the summary first): see warm_transfer.py.

Pure functions of their arguments (no settings, no I/O).
"""

from __future__ import annotations

import re
from urllib.parse import quote

# TransferOptions, DetailedTransfer and is_sip are the brain's vocabulary (providers.base), re-exported here.
from ..providers.base import DetailedTransfer, Transfer, TransferOptions, is_sip  # noqa: F401

__all__ = [
    "TransferOptions", "DetailedTransfer", "Transfer", "HeaderError", "is_sip", "check_header_name", "clean_value",
    "sip_headers", "sip_uri_with_headers",
]  # fmt: skip

SUMMARY, INTENT, SLOT_PREFIX = "X-Summary", "X-Intent", "X-Slot-"
MAX_VALUE_CHARS = 200
MAX_SIP_URI_CHARS = 1000
_NAME = re.compile(r"^x-[a-z0-9][a-z0-9-]{0,60}$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SLUG = re.compile(r"[^a-z0-9]+")


class HeaderError(ValueError):
    """A custom SIP header the carriers would refuse (or that could inject another header)."""


def check_header_name(name: str) -> str:
    """SIP header names are case-insensitive: the rules are checked without case, the name is kept as written."""
    if not _NAME.match(name) or name.lower().startswith("x-twilio"):
        raise HeaderError(f"SIP header {name!r}: custom headers start with 'x-' (letters, digits, '-') and never "
                          "with 'x-twilio'")
    return name


def clean_value(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """One line of text: CR/LF and other control characters (header injection) become spaces."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def sip_headers(summary: str, options: TransferOptions | None = None) -> dict[str, str]:
    """X-Summary, X-Intent, X-Slot-<Name> for each slot, then the flow's own headers (names checked)."""
    options = options or TransferOptions()
    headers: dict[str, str] = {}
    if summary:
        headers[SUMMARY] = clean_value(summary)
    if options.intent:
        headers[INTENT] = clean_value(options.intent, 60)
    for name, value in options.slots.items():
        slug = "-".join(part.capitalize() for part in _SLUG.sub("-", name.lower()).split("-") if part)
        if slug:
            headers[f"{SLOT_PREFIX}{slug}"[:62]] = clean_value(value)
    for name, value in options.headers.items():
        headers[check_header_name(name)] = clean_value(value)
    return {name: value for name, value in headers.items() if value}


def _query(headers: dict[str, str]) -> str:
    return "&".join(f"{quote(name, safe='-')}={quote(value, safe='')}" for name, value in headers.items())


def sip_uri_with_headers(uri: str, headers: dict[str, str], limit: int = MAX_SIP_URI_CHARS) -> str:
    """`uri` with `headers` URL-encoded in its query (Twilio's way of sending custom SIP headers). When the URI
    would be too long, slot headers go first (last slot first), then the flow's own headers; then the summary is
    shortened (dropped below 20 characters), and the intent goes last."""
    uri = uri.strip()
    sep = "&" if "?" in uri else "?"
    kept = dict(headers)

    def length() -> int:
        return len(uri) + 1 + len(_query(kept))

    slots = [name for name in kept if name.startswith(SLOT_PREFIX)]
    custom = [name for name in kept if name not in (SUMMARY, INTENT) and name not in slots]
    for name in [*reversed(slots), *reversed(custom)]:
        if length() <= limit:
            break
        kept.pop(name, None)
    if SUMMARY in kept and length() > limit:
        # The longest shortened summary that fits (encoded sizes vary: binary search on the character count).
        summary, low, high = kept[SUMMARY], 0, len(kept[SUMMARY])
        while low < high:
            middle = (low + high + 1) // 2
            kept[SUMMARY] = clean_value(summary, middle)
            low, high = (middle, high) if length() <= limit else (low, middle - 1)
        kept[SUMMARY] = clean_value(summary, low)
        if low < 20:
            del kept[SUMMARY]
    if length() > limit:
        kept.pop(INTENT, None)
    return f"{uri}{sep}{_query(kept)}" if kept else uri
