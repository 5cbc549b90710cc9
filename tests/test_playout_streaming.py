"""A sentence plays while a streaming TTS is still producing it: its first words go out with the first chunk."""

from __future__ import annotations

import asyncio
import time

import pytest

from calls.pipeline.playout import Playout, SentenceAudio
from tests.session.helpers import TextSerializer  # readable wire messages: audio:<bytes>, mark:<name>, clear

RATE = 8000
BYTES_PER_MS = RATE * 2 // 1000


class Wire:
    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []

    async def send(self, text: str) -> None:
        self.sent.append((time.monotonic(), text))

    def audio_bytes(self) -> int:
        return sum(int(t.split(":")[1]) for _, t in self.sent if t.startswith("audio:"))


async def slow_tts(audio: SentenceAudio, first_ms: int, rest_after_ms: int) -> None:
    """First 200 ms of speech after `first_ms`, the remaining 800 ms `rest_after_ms` later (as the session's
    `_synthesize`: cancelled means dropped, and the audio stays incomplete)."""
    await asyncio.sleep(first_ms / 1000)
    audio.feed(b"\x01\x00" * (RATE * 200 // 1000))
    await asyncio.sleep(rest_after_ms / 1000)
    audio.feed(b"\x01\x00" * (RATE * 800 // 1000))
    audio.finish()


@pytest.mark.asyncio
async def test_first_audio_goes_out_before_the_sentence_is_synthesised():
    wire = Wire()
    playout = Playout(wire.send, TextSerializer(), RATE, chunk_ms=100, lead_ms=200)
    audio = SentenceAudio()
    started = time.monotonic()
    synth = asyncio.create_task(slow_tts(audio, first_ms=30, rest_after_ms=600))
    utt = playout.new_utterance("one two three four five six seven eight nine ten", b"", streaming=True)
    audio.attach(utt)
    await playout.play(utt)
    await synth
    first_audio = next(t for t, text in wire.sent if text.startswith("audio:"))
    assert first_audio - started < 0.3  # with the first chunk, not after the whole sentence (~0.63 s)
    assert wire.audio_bytes() == len(utt.pcm) == RATE * 2  # all of it, once
    assert wire.sent[-1][1] == f"mark:{utt.id}:{len(utt.pcm)}"  # the end mark tells when all of it was heard
    assert not utt.fully_heard
    playout.on_mark(f"{utt.id}:{len(utt.pcm)}")
    assert utt.fully_heard and utt.done.is_set()


@pytest.mark.asyncio
async def test_an_interrupted_sentence_still_being_synthesised_keeps_only_the_heard_words():
    wire = Wire()
    playout = Playout(wire.send, TextSerializer(), RATE, chunk_ms=100, lead_ms=200, mark_every_ms=100)
    audio = SentenceAudio()
    synth = asyncio.create_task(slow_tts(audio, first_ms=0, rest_after_ms=5000))
    text = "one two three four five six seven eight nine ten"
    utt = playout.new_utterance(text, b"", streaming=True)
    audio.attach(utt)
    player = asyncio.create_task(playout.play(utt))
    await asyncio.sleep(0.15)
    playout.on_mark(f"{utt.id}:{100 * BYTES_PER_MS}")  # the caller heard the first 100 ms
    player.cancel()
    synth.cancel()
    await asyncio.gather(player, synth, return_exceptions=True)
    cut = await playout.clear()
    assert cut == [utt]
    assert not utt.complete and not utt.fully_heard
    heard = utt.heard_text()
    # 100 ms of a sentence that will last about len(text) * 60 ms (not of the 200 ms synthesised so far, which
    # would say half of it was heard): a word at most.
    assert heard in ("", "one")
    assert wire.sent[-1][1] == "clear"


@pytest.mark.asyncio
async def test_audio_synthesised_before_its_turn_waits_and_then_plays_whole():
    wire = Wire()
    playout = Playout(wire.send, TextSerializer(), RATE, chunk_ms=100)
    audio = SentenceAudio()
    audio.feed(b"\x01\x00" * 800)
    audio.feed(b"\x01\x00" * 800)
    audio.finish()
    utt = playout.new_utterance("done already", b"", streaming=True)
    audio.attach(utt)
    await asyncio.wait_for(playout.play(utt), 2)
    assert utt.complete and wire.audio_bytes() == 3200


@pytest.mark.asyncio
async def test_a_streamed_sentence_heard_to_its_last_mark_before_it_is_finished_is_done_when_finished():
    # The realtime model streams audio while it plays: here the audio so far ends on a mark, the carrier echoes that
    # mark, and only then does the stream say "no more". The sentence was heard in full: nobody may wait for it.
    wire = Wire()
    playout = Playout(wire.send, TextSerializer(), RATE, chunk_ms=20, lead_ms=1000, mark_every_ms=200)
    utt = playout.new_utterance("hello there", b"", streaming=True)
    utt.feed(b"\x01\x00" * (RATE * 200 // 1000))  # exactly one mark's worth
    player = asyncio.create_task(playout.play(utt))
    await asyncio.sleep(0.05)
    mark = next(text for _, text in wire.sent if text.startswith("mark:"))
    assert mark == f"mark:{utt.id}:{len(utt.pcm)}"
    playout.on_mark(mark[5:])
    assert not utt.done.is_set()  # not complete yet: more audio may come
    utt.finish()
    await asyncio.wait_for(player, 1.0)
    assert utt.fully_heard and utt.done.is_set() and not playout.speaking
