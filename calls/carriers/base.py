"""The carrier boundary: one serializer per carrier turns its media-socket JSON into these events and back.

Nothing past this module knows which carrier it serves. Serializers never perform side effects (no REST, no
database); `parse` raises `BadMessage` for junk so the consumer can count it, and returns nothing for events
that need no action.

The three carriers' sockets speak the same shape of JSON (Twilio's: `{"event": "<name>", "<name>": {...}}`), so
the skeleton is written once here: `MediaSerializer.parse` loads the message and dispatches on its event name to
the subclass's `on_<name>` method (an event with no handler is `unknown_event`), making the checks every media
message needs on the way (not before the start, a `media` object); the helpers below do the other checks every
carrier makes (bad base64, a malformed start, mark or DTMF digit). A carrier's module keeps only its wire
specifics: field names, codecs, ordering.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

# CallControl is re-exported: the carriers implement it beside their serializers.
from ..pipeline.ports import CallControl, CallStart, MediaEncoder  # noqa: F401


class BadMessage(Exception):
    """A media-socket message we cannot use. `reason` is a short, countable label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


#: Carrier messages nest three levels at most. `json.loads` recurses once per level: junk nested near the
#: interpreter's recursion limit ("[[[[…") fails there, and so does whatever else runs at that depth meanwhile (a
#: garbage collection's finalizers: their errors were lost). Deeper than this is refused before parsing.
MAX_NESTING = 32


def too_deep(text: str, limit: int = MAX_NESTING) -> bool:
    """Whether `text` opens more than `limit` JSON arrays/objects inside one another (brackets in strings do not
    count). Every real message has a handful of brackets: two C-speed counts, and the scan only for the rest."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def load_message(text: str) -> dict:
    """One media-socket text message as a JSON object, or BadMessage (never another exception)."""
    if isinstance(text, str) and too_deep(text):
        raise BadMessage("invalid_json", f"nested deeper than {MAX_NESTING} levels")
    try:
        msg = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: kept, should json ever recurse deeper
        raise BadMessage("invalid_json", str(exc)[:80]) from None
    if not isinstance(msg, dict):
        raise BadMessage("not_an_object")
    return msg


@dataclass(slots=True)
class AudioIn:
    """Caller audio, already decoded to PCM16LE at the stream's sample rate."""

    pcm: bytes


@dataclass(slots=True)
class DtmfIn:
    digit: str


@dataclass(slots=True)
class MarkPlayed:
    """The carrier played all audio queued before mark `name` (or dropped it on a clear)."""

    name: str


@dataclass(slots=True)
class StreamStopped:
    reason: str = "stop"


@dataclass(slots=True)
class Connected:
    pass


CarrierEvent = CallStart | AudioIn | DtmfIn | MarkPlayed | StreamStopped | Connected


@dataclass(slots=True)
class SerializerStats:
    """Per-stream counters of what the carrier sent us that we could not use, or had to repair."""

    bad: dict = field(default_factory=dict)
    late_dropped: int = 0
    duplicates: int = 0
    concealed: int = 0

    def count(self, reason: str) -> None:
        self.bad[reason] = self.bad.get(reason, 0) + 1


DTMF_DIGITS = frozenset("0123456789*#ABCD")


class MediaSerializer(MediaEncoder):
    """Carrier media-socket JSON <-> carrier events. One instance per stream (it may hold codec state).

    The encoding half (`MediaEncoder`) is all the session and playout see of it. Subclasses handle event `x` in a
    method `on_x(self, msg) -> list[CarrierEvent]` (media: `on_media(self, msg, media)`); the events a carrier
    accepts are exactly its `on_` methods."""

    carrier: str = ""
    # event name -> handler, collected once per class from its `on_<event>` methods (see __init_subclass__)
    _handlers: ClassVar[dict[str, Callable[[MediaSerializer, dict], list[CarrierEvent]]]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # on_media is not in the table: `parse` calls it itself, with the message's media object.
        cls._handlers = {
            name[3:]: getattr(cls, name) for name in dir(cls) if name.startswith("on_") and name != "on_media"
        }

    def __init__(self) -> None:
        self.stats = SerializerStats()
        self.started: CallStart | None = None

    def parse(self, text: str) -> list[CarrierEvent]:
        """Events in one text message; raises BadMessage for junk."""
        msg = load_message(text)
        event = msg.get("event")
        if event == "media":
            # 50 a second per call: its checks are made here, inline, before `on_media(msg, media)`.
            if self.started is None:
                raise BadMessage("media_before_start")
            media = msg.get("media")
            if not isinstance(media, dict):
                raise BadMessage("bad_media")
            return self.on_media(msg, media)
        # Only a str can name an event (a list would not even hash).
        handler = self._handlers.get(event) if type(event) is str else None
        if handler is None:
            raise BadMessage("unknown_event", str(event)[:40])
        return handler(self, msg)

    def on_media(self, msg: dict, media: dict) -> list[CarrierEvent]:
        """Caller audio: `media` is the message's `media` object, and the stream has started. Every carrier
        overrides it; a serializer that does not is one without audio."""
        raise BadMessage("unknown_event", "media")

    def flush(self) -> list[CarrierEvent]:
        """Events still held (e.g. in a reorder buffer) when the stream ends."""
        return []


def start_body(msg: dict) -> dict:
    start = msg.get("start")
    if not isinstance(start, dict):
        raise BadMessage("bad_start")
    return start


def decode_payload(media: dict) -> bytes:
    """A media message's base64 payload, strictly decoded."""
    try:
        return base64.b64decode(media["payload"], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError) as exc:
        raise BadMessage("invalid_base64") from exc


def section_field(msg: dict, section: str, key: str):
    """`msg[section][key]`, or BadMessage "bad_<section>"."""
    body = msg.get(section)
    if not isinstance(body, dict) or key not in body:
        raise BadMessage(f"bad_{section}")
    return body[key]


def dtmf_digit(msg: dict) -> str:
    digit = str(section_field(msg, "dtmf", "digit"))
    if digit not in DTMF_DIGITS:  # one of the sixteen keys; "12" or "" is not in the set either
        raise BadMessage("bad_dtmf", digit[:8])
    return digit
