"""The Realtime server's events, read defensively: each one the session acts on becomes a small typed record, with
its fields checked; the rest of the protocol is known and skipped; anything else is counted, never raised.

Field names are those of the installed SDK (`openai/types/realtime/*_event.py`). The SDK's own `parse_event`
builds models without validating them (`construct_type_unchecked`), so a missing field would surface later as an
AttributeError deep in the session: reading the JSON here keeps the damage to one skipped event.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, fields


@dataclass(slots=True)
class AudioDelta:
    response_id: str
    item_id: str
    content_index: int
    delta: str  # base64 audio in the session's output format


@dataclass(slots=True)
class AudioDone:
    item_id: str


@dataclass(slots=True)
class AgentTranscriptDelta:
    """`response.output_audio_transcript.delta`: words of what the model is saying, as it says them (a cancelled
    item gets no `.done`: these are all its words)."""

    item_id: str
    delta: str


@dataclass(slots=True)
class AgentTranscript:
    """`response.output_audio_transcript.done`: the words of an item the model spoke."""

    item_id: str
    transcript: str


@dataclass(slots=True)
class CallerTranscript:
    """`conversation.item.input_audio_transcription.completed` (input transcription is on)."""

    item_id: str
    transcript: str


@dataclass(slots=True)
class CallerTranscriptFailed:
    item_id: str


@dataclass(slots=True)
class SpeechStarted:
    audio_start_ms: int
    item_id: str


@dataclass(slots=True)
class SpeechStopped:
    audio_end_ms: int
    item_id: str


@dataclass(slots=True)
class FunctionCall:
    response_id: str
    call_id: str
    name: str
    arguments: str
    item_id: str


@dataclass(slots=True)
class ResponseCreated:
    response_id: str
    tag: str = ""  # the `metadata` tag of a response we asked for (`Link.create_response`); "" for the server VAD's


TAG_KEY = "voicebot"  # our key in a response's `metadata`


@dataclass(slots=True)
class ResponseDone:
    response_id: str
    status: str
    usage: dict


@dataclass(slots=True)
class ServerError:
    message: str
    code: str


Event = (AudioDelta | AudioDone | AgentTranscriptDelta | AgentTranscript | CallerTranscript | CallerTranscriptFailed
         | SpeechStarted | SpeechStopped | FunctionCall | ResponseCreated | ResponseDone | ServerError)

# Server events we read fields from, by type: the record and, for each field, where it is and its type.
_FLAT = {
    "response.output_audio.delta": AudioDelta,
    "response.output_audio.done": AudioDone,
    "response.output_audio_transcript.delta": AgentTranscriptDelta,
    "response.output_audio_transcript.done": AgentTranscript,
    "conversation.item.input_audio_transcription.completed": CallerTranscript,
    "conversation.item.input_audio_transcription.failed": CallerTranscriptFailed,
    "input_audio_buffer.speech_started": SpeechStarted,
    "input_audio_buffer.speech_stopped": SpeechStopped,
    "response.function_call_arguments.done": FunctionCall,
}
_TYPES = {str: str, int: int, "str": str, "int": int}

# The rest of the protocol: known, nothing to do (the session learns what it needs from the events above).
KNOWN = frozenset({
    "session.created", "session.updated", "conversation.created", "conversation.item.created",
    "conversation.item.added", "conversation.item.done", "conversation.item.retrieved", "conversation.item.deleted",
    "conversation.item.truncated", "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.segment", "input_audio_buffer.committed",
    "input_audio_buffer.cleared", "input_audio_buffer.timeout_triggered", "input_audio_buffer.dtmf_event_received",
    "output_audio_buffer.started", "output_audio_buffer.stopped", "output_audio_buffer.cleared",
    "response.output_item.added", "response.output_item.done", "response.content_part.added",
    "response.content_part.done", "response.output_text.delta", "response.output_text.done",
    "response.function_call_arguments.delta", "rate_limits.updated",
    "mcp_list_tools.in_progress", "mcp_list_tools.completed", "mcp_list_tools.failed",
})


class EventReader:
    """Turns raw messages into records; `skipped` counts what was not usable, by reason ("unknown:<type>",
    "malformed:<type>", "not_json")."""

    def __init__(self) -> None:
        self.skipped: Counter[str] = Counter()

    def read(self, raw: str | bytes) -> Event | None:
        try:
            msg = json.loads(raw)
        except (ValueError, TypeError, RecursionError):
            self.skipped["not_json"] += 1
            return None
        kind = msg.get("type") if isinstance(msg, dict) else None
        if not isinstance(kind, str):
            self.skipped["malformed:no-type"] += 1
            return None
        try:
            return self._record(kind, msg)
        except (KeyError, TypeError, ValueError):
            self.skipped[f"malformed:{kind}"[:60]] += 1
            return None

    def _record(self, kind: str, msg: dict) -> Event | None:
        flat = _FLAT.get(kind)
        if flat is not None:
            return flat(**{f.name: _field(msg, f.name, f.type) for f in fields(flat)})
        if kind in ("response.created", "response.done"):
            response = msg["response"]
            if not isinstance(response, dict):
                raise TypeError("response is not an object")
            rid = _field(response, "id", "str")
            if kind == "response.created":
                metadata = response.get("metadata")
                tag = metadata.get(TAG_KEY) if isinstance(metadata, dict) else None
                return ResponseCreated(rid, tag if isinstance(tag, str) else "")
            usage = response.get("usage") or {}
            return ResponseDone(rid, str(response.get("status") or ""), usage if isinstance(usage, dict) else {})
        if kind == "error":
            error = msg["error"]
            if not isinstance(error, dict):
                raise TypeError("error is not an object")
            return ServerError(str(error.get("message") or ""), str(error.get("code") or error.get("type") or ""))
        if kind not in KNOWN:
            self.skipped[f"unknown:{kind}"[:60]] += 1
        return None


def _field(msg: dict, name: str, kind) -> object:
    value = msg[name]
    wanted = _TYPES[kind]
    if wanted is int and isinstance(value, bool):
        raise TypeError(f"{name} is a bool")
    if not isinstance(value, wanted):
        raise TypeError(f"{name} is {type(value).__name__}, not {wanted.__name__}")
    return value
