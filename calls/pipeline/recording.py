"""Call audio recording: both sides of a call, aligned on one clock, written as a stereo WAV at the end.

The carrier streams caller audio continuously (silence included), so the number of inbound bytes received *is*
the call's clock: position = len(caller audio). Agent audio is placed where the carrier will play it — right now
if nothing is queued, else right after what is already queued — which is `max(now, end of agent audio so far)`.
On a barge-in `clear` the carrier drops whatever it had not played yet, so agent audio placed past "now" is
dropped too: the recording holds what the caller actually heard.

Per frame this costs a bytearray append (the session calls `inbound` 50 times a second per call); interleaving
into stereo happens once, in `save`, which the session runs in a thread. Memory is capped: audio past
`max_duration_s` is not kept (the session ends calls at the agent's maximum duration anyway).
"""

from __future__ import annotations

import asyncio
import logging
import os
import wave
from pathlib import Path


log = logging.getLogger("calls.recording")

RECORDINGS_DIR = "recordings"
# Slack past the agent's maximum call duration: the goodbye line is still spoken after the limit is hit.
CAP_SLACK_S = 30.0


def relative_path(workspace_id: int, call_pk: int) -> str:
    """Where a call's recording lives, relative to MEDIA_ROOT (what `Call.recording` stores)."""
    return f"{RECORDINGS_DIR}/{workspace_id}/{call_pk}.wav"


class CallAudioRecorder:
    """Caller (left) and agent (right) PCM16LE mono at the stream rate, on the inbound clock."""

    __slots__ = ("sample_rate", "bytes_per_ms", "max_bytes", "_in", "_out", "_full")

    def __init__(self, sample_rate: int, max_duration_s: float = 600.0) -> None:
        self.sample_rate = sample_rate
        self.bytes_per_ms = sample_rate * 2 / 1000
        self.max_bytes = int((max_duration_s + CAP_SLACK_S) * sample_rate) * 2
        self._in = bytearray()
        self._out = bytearray()  # agent audio; index i is heard at the same instant as caller byte i
        self._full = False

    # ------------------------------------------------------------------ recording (call path)

    def inbound(self, pcm: bytes) -> None:
        """One frame of caller audio, in arrival order."""
        if not self._full:
            self._in += pcm
            if len(self._in) >= self.max_bytes:
                self._full = True
                cap_s = self.max_bytes // 2 // self.sample_rate
                log.info("recording reached its %d s cap; later audio is not recorded", cap_s)

    def outbound(self, pcm: bytes) -> int:
        """Agent audio just sent to the carrier; returns where it lands in the recording (ms)."""
        out = self._out
        now = len(self._in)
        if len(out) < now:
            # The carrier had nothing queued: this plays now, after silence on the agent side.
            out += bytes(now - len(out))
        start = len(out)
        if start + len(pcm) <= self.max_bytes:
            out += pcm
        return self._ms(start)

    def truncate_outbound(self) -> int:
        """The carrier drops its unplayed audio (barge-in `clear`): so do we, past now. Returns the new end (ms)."""
        now = len(self._in)
        if len(self._out) > now:
            del self._out[now:]
        return self._ms(len(self._out))

    @property
    def position_ms(self) -> int:
        """Now, on the recording's clock: how much caller audio has arrived."""
        return self._ms(len(self._in))

    @property
    def outbound_end_ms(self) -> int:
        return self._ms(len(self._out))

    def _ms(self, nbytes: int) -> int:
        return int(nbytes // self.bytes_per_ms)

    # ------------------------------------------------------------------ saving (off the call path)

    @property
    def empty(self) -> bool:
        return not self._in and not self._out

    def stereo(self) -> bytes:
        """Interleaved PCM16LE: left caller, right agent, as long as the longer side."""
        samples = max(len(self._in), len(self._out)) // 2
        left = bytes(self._in[: samples * 2]).ljust(samples * 2, b"\0")
        right = bytes(self._out[: samples * 2]).ljust(samples * 2, b"\0")
        # Byte-level extended slices interleave in C: frame i is left[2i:2i+2] + right[2i:2i+2].
        frames = bytearray(samples * 4)
        frames[0::4], frames[1::4] = left[0::2], left[1::2]
        frames[2::4], frames[3::4] = right[0::2], right[1::2]
        return bytes(frames)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the stereo WAV (blocking: run it in a thread). Written beside, then renamed: never half a file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        earlier = _earlier_stream(path, self.sample_rate)
        with wave.open(str(tmp), "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(self.sample_rate)
            # A resumed stream continues the call: its audio follows the first stream's in the same file.
            wav.writeframes(earlier + self.stereo())
        os.replace(tmp, path)
        return path


def _earlier_stream(path: Path, sample_rate: int) -> bytes:
    """Frames already recorded for this call by an earlier stream (same format), else nothing."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getframerate() == sample_rate and wav.getnchannels() == 2 and wav.getsampwidth() == 2:
                return wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError):
        pass
    return b""


async def store(audio: CallAudioRecorder, call_recorder, media_root: str | os.PathLike | None = None) -> str | None:
    """Save `audio` for the call `call_recorder` writes (under MEDIA_ROOT), and point `Call.recording` at it.

    Returns the path relative to MEDIA_ROOT, or None when there was nothing to save or the disk refused it.
    """
    if media_root is None:
        from django.conf import settings

        media_root = settings.MEDIA_ROOT
    if audio.empty:
        return None
    rel = relative_path(call_recorder.workspace_id, call_recorder.call_id)
    try:
        await asyncio.to_thread(audio.save, Path(media_root) / rel)
    except OSError as exc:  # a full or read-only disk loses the recording, never the call record
        log.error("call %s: saving the recording failed: %r", call_recorder.call_id, exc)
        call_recorder.event("error", {"task": "recording", "error": repr(exc)[:300]})
        return None
    call_recorder.update_call(recording=rel)
    return rel
