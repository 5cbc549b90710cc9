"""Telnyx media streaming wire format <-> carrier events.

Telnyx quirks handled here, so the session never sees them:

- Frames can arrive out of order: Telnyx does not guarantee their order on the socket (PROTOCOLS.md), and a
  recogniser fed swapped 20 ms frames hears garbled speech. They are put back in order by `sequence_number` in
  a bounded ReorderBuffer: a late frame within the window takes its place, an older one is dropped and counted,
  a gap the window gives up on is filled with the codec's silence (never a wait for a frame that is gone).
  `sequence_number` numbers every message Telnyx sends on the socket, not only media, so the slots of marks,
  DTMF and other-track frames are filled with placeholders — otherwise each mark would look like a lost frame.
- The format is whatever the `start` says, not what we asked for: on some legs PCMA arrives even when PCMU was
  requested (A-law is the G.711 variant outside North America, and the leg's codec can come through as is), so
  we decode by `media_format` and answer in the same codec and rate. A `media` message that names its own
  encoding is decoded by that.
- L16 is big-endian (network order, RFC 3551) on the wire; the pipeline is PCM16 little-endian, so L16 is
  byte-swapped both ways (`pipeline.audio.get_codec("L16")` does it).
- Names are snake_case and numbers may come as strings ("4") or integers.
- The stream token arrives in `custom_parameters` (TeXML `<Parameter>`) or, for Call Control, inside the base64
  `client_state` we set when answering. Either way it lands in `CallStart.params["token"]`.
"""

from __future__ import annotations

import base64
import json
import logging

from ...pipeline.audio import Codec, UnsupportedCodec, get_codec
from ...pipeline.reorder import ReorderBuffer
from ..base import (
    AudioIn,
    BadMessage,
    CallStart,
    CarrierEvent,
    Connected,
    DtmfIn,
    MarkPlayed,
    MediaSerializer,
    StreamStopped,
    decode_payload,
    dtmf_digit,
    section_field,
    start_body,
)
from . import client_state
from .stream_format import SUPPORTED

log = logging.getLogger("calls.carriers.telnyx")

# Frames held while waiting for a missing one: 5 x 20 ms. Covers frames a few places out of order; small enough
# that a frame that is really lost costs at most 100 ms of extra delay before its slot is concealed.
REORDER_WINDOW = 5
FRAME_MS = 20
_INBOUND = ("inbound", "inbound_track")


class TelnyxSerializer(MediaSerializer):
    carrier = "telnyx"

    def __init__(self, window: int = REORDER_WINDOW) -> None:
        super().__init__()
        self.codec: Codec | None = None
        self.stream_id = ""
        self._reorder = ReorderBuffer(window, conceal=self._conceal)
        self._silence = b""  # decoded codec silence, as long as the last real frame
        self._codecs: dict[tuple[str, int], Codec] = {}
        self._media_prefix = '{"event":"media","media":{"payload":"'

    # ------------------------------------------------------------------ inbound, one method per event

    def on_media(self, msg: dict, media: dict) -> list[CarrierEvent]:
        seq = _seq(msg)
        if media.get("track", "inbound") not in _INBOUND:
            return self._release(seq, None)  # the other track's frame: its slot is not a loss
        codec = self._frame_codec(msg, media)
        payload = decode_payload(media)
        if len(payload) % codec.bytes_per_sample:
            # Half an L16 sample would shift every later sample by a byte: drop the frame, its slot gets concealed.
            raise BadMessage("bad_payload_length", f"{len(payload)} bytes of {codec.name}")
        if not payload:
            return self._release(seq, None)
        pcm = codec.decode(payload)
        if len(pcm) != len(self._silence):
            # A concealed frame lasts as long as the real ones around it (Telnyx frames are 20 ms, but need not be).
            self._silence = codec.decode(codec.silence(1))[:2] * (len(pcm) // 2)
        return self._release(seq, pcm)

    def on_mark(self, msg: dict) -> list[CarrierEvent]:
        return self._sequenced(msg, MarkPlayed(str(section_field(msg, "mark", "name"))))

    def on_dtmf(self, msg: dict) -> list[CarrierEvent]:
        return self._sequenced(msg, DtmfIn(dtmf_digit(msg)))

    def on_stop(self, msg: dict) -> list[CarrierEvent]:
        if self.started is None:
            raise BadMessage("stop_before_start")
        # Whatever the reorder buffer still holds was heard before the stop: hand it over first.
        return [*self.flush(), StreamStopped("stop")]

    def on_connected(self, msg: dict) -> list[CarrierEvent]:
        return [Connected()]

    def on_error(self, msg: dict) -> list[CarrierEvent]:
        raise self._carrier_error(msg)

    def on_start(self, msg: dict) -> list[CarrierEvent]:
        if self.started is not None:
            raise BadMessage("duplicate_start")
        start = start_body(msg)
        seq = _seq(msg)  # before any state changes: a refused start must leave the stream able to start
        fmt = start.get("media_format")
        if not isinstance(fmt, dict):
            raise BadMessage("unsupported_media_format", "no media_format")
        codec = self._codec(fmt.get("encoding"), fmt.get("sample_rate", 8000))
        if str(fmt.get("channels", 1)) != "1":
            raise BadMessage("unsupported_media_format", f"{fmt.get('channels')} channels")
        self.codec = codec
        self._silence = codec.decode(codec.silence(FRAME_MS))
        self.stream_id = str(msg.get("stream_id") or start.get("stream_id") or "")
        params = _custom_parameters(start.get("custom_parameters"))
        call_control_id = str(start.get("call_control_id") or "")
        call_id = ""
        if not params.get("token"):
            token = client_state.decode_token(start.get("client_state"))
            if token:
                params["token"] = token
                # Call Control: our Call row is keyed by this very call_control_id, so the consumer can check the
                # token was issued for this call. TeXML rows are keyed by CallSid, which the stream does not carry
                # (its call_control_id is not documented to equal the CallSid): there the call id is left empty
                # and the HMAC-bound, single-use token alone names the call.
                call_id = call_control_id
        if call_control_id:
            params["call_control_id"] = call_control_id
        self.started = CallStart(
            carrier=self.carrier, call_id=call_id, stream_id=self.stream_id,
            sample_rate=codec.sample_rate, codec=codec.name, params=params,
        )
        # Anchor the reorder buffer on the start's number: the first media frames may themselves arrive swapped.
        if seq is not None:
            self._reorder.push(seq, None)
        return [self.started]

    def _sequenced(self, msg: dict, event: CarrierEvent) -> list[CarrierEvent]:
        """A non-audio event is delivered at once; its sequence number only fills its slot in the audio order."""
        if self.started is None:
            return [event]
        seq = _seq(msg)
        next_seq = self._reorder.next_seq
        if seq is None or (next_seq is not None and seq < next_seq):
            return [event]  # its slot was already passed: nothing to fill, and not a late frame either
        return [*self._release(seq, None), event]

    def _release(self, seq: int | None, pcm: bytes | None) -> list[CarrierEvent]:
        if seq is None:
            # No sequence number (not seen from Telnyx, but cheap to survive): deliver in arrival order.
            return [AudioIn(pcm)] if pcm else []
        ready = self._reorder.push(seq, pcm)
        self._copy_stats()
        if not ready:
            return []
        return [AudioIn(p) for p in ready if p]

    def flush(self) -> list[CarrierEvent]:
        ready = self._reorder.flush()
        self._copy_stats()
        return [AudioIn(p) for p in ready if p]

    def _conceal(self) -> bytes:
        return self._silence

    def _copy_stats(self) -> None:
        r = self._reorder.stats
        self.stats.late_dropped, self.stats.duplicates, self.stats.concealed = r.late_dropped, r.duplicates, r.concealed

    # ------------------------------------------------------------------ formats

    def _codec(self, encoding, sample_rate) -> Codec:
        try:
            rate = int(sample_rate)
        except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 / Infinity
            raise BadMessage("unsupported_media_format", f"sample rate {sample_rate!r}") from None
        key = (str(encoding), rate)
        codec = self._codecs.get(key)
        if codec is None:
            try:
                codec = get_codec(str(encoding), rate)
            except (UnsupportedCodec, ValueError):
                raise BadMessage("unsupported_media_format", f"{encoding!r} at {rate} Hz") from None
            if rate not in SUPPORTED.get(codec.name, ()):
                raise BadMessage("unsupported_media_format", f"{codec.name} at {rate} Hz")
            self._codecs[key] = codec
        return codec

    def _frame_codec(self, msg: dict, media: dict) -> Codec:
        """The stream's codec, unless this message names its own format (then that one, at the stream's rate)."""
        fmt = media.get("media_format") or msg.get("media_format")
        fmt = fmt if isinstance(fmt, dict) else {}
        encoding = media.get("encoding") or fmt.get("encoding")
        if not encoding:
            return self.codec
        codec = self._codec(encoding, fmt.get("sample_rate", self.codec.sample_rate))
        if codec.sample_rate != self.codec.sample_rate:
            # The session cannot change rate mid-call, and resampling one 20 ms frame alone would click.
            raise BadMessage("media_rate_mismatch", f"{codec.sample_rate} Hz on a {self.codec.sample_rate} Hz stream")
        return codec

    def _carrier_error(self, msg: dict) -> BadMessage:
        body = msg.get("payload") if isinstance(msg.get("payload"), dict) else msg.get("error")
        body = body if isinstance(body, dict) else {}
        code, title = body.get("code", "?"), str(body.get("title") or "error")
        log.warning("telnyx stream %s reported error %s %s: %s", self.stream_id or "(not started)", code, title,
                    str(body.get("detail", ""))[:200])
        return BadMessage("carrier_error", f"{code} {title}"[:80])

    # ------------------------------------------------------------------ outbound

    def encode_audio(self, pcm: bytes) -> str:
        # RTP bidirectional mode: raw payload in the stream's codec and rate, 20 ms to 30 s per message.
        return self._media_prefix + base64.b64encode(self.codec.encode(pcm)).decode() + '"}}'

    def encode_mark(self, name: str) -> str:
        return json.dumps({"event": "mark", "mark": {"name": name}})

    def encode_clear(self) -> str:
        return '{"event":"clear"}'


def _seq(msg: dict) -> int | None:
    raw = msg.get("sequence_number")
    if raw is None:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError, OverflowError):
        raise BadMessage("bad_sequence_number", str(raw)[:20]) from None


def _custom_parameters(raw) -> dict[str, str]:
    """TeXML `<Parameter>`s as a mapping; a list of {name, value} (the Call Control request shape) also works."""
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return {str(p["name"]): str(p.get("value", "")) for p in raw if isinstance(p, dict) and "name" in p}
    return {}
