"""Local STT: the packaged Whisper tiny.en through a phone line (espeak -> 8 kHz G.711 u-law -> WhisperSTT)."""

from __future__ import annotations

import asyncio
import os
import time
import warnings

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from calls.providers.stt.whisper_engine import get_whisper  # noqa: E402
from calls.providers.stt.whisper_local import WhisperSTT  # noqa: E402
from voicebot.testing.speech import caller_speech  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # stdlib until 3.13; only the tests use it, as a reference G.711 codec

BOOKING = "I would like to book an appointment for tomorrow morning"


@pytest.fixture(scope="module")
def engine():
    engine = get_whisper()
    engine.warm_up()
    return engine


def phone_audio(text: str, rate: int, lead_ms: int = 200, tail_ms: int = 0) -> bytes:
    """What the session hands the STT for `text` said on a call at `rate` (u-law on narrowband lines)."""
    samples = np.frombuffer(caller_speech(text, rate, wpm=175), dtype="<i2")
    pcm = np.concatenate(
        [np.zeros(rate * lead_ms // 1000, np.int16), samples, np.zeros(rate * tail_ms // 1000, np.int16)]
    ).tobytes()
    if rate == 8000:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pcm = audioop.ulaw2lin(audioop.lin2ulaw(pcm, 2), 2)
    return pcm


def feed(stt: WhisperSTT, pcm: bytes, frame_ms: int = 20) -> None:
    step = stt.sample_rate * 2 * frame_ms // 1000
    for off in range(0, len(pcm), step):
        stt.send_audio(pcm[off : off + step])


@pytest.mark.parametrize("rate", [8000, 16000])
def test_phone_round_trip(engine, rate):
    async def run() -> str:
        stt = WhisperSTT(rate, {})
        await stt.start()
        feed(stt, phone_audio(BOOKING, rate, tail_ms=300))
        try:
            return await stt.transcript()
        finally:
            await stt.close()

    text = asyncio.run(run()).lower()
    for word in ("book", "appointment", "tomorrow"):
        assert word in text, text


def test_speculative_transcripts_are_cached_until_commit(engine):
    async def run() -> None:
        stt = WhisperSTT(8000, {})
        await stt.start()
        feed(stt, phone_audio(BOOKING, 8000, tail_ms=100))  # the pause: speculate
        first = await stt.transcript()
        assert "appointment" in first.lower()
        calls = engine.calls
        started = time.perf_counter()
        assert await stt.transcript() == first
        assert time.perf_counter() - started < 0.01
        # More end-of-turn silence adds nothing to say: still the speculative result, no model call.
        feed(stt, np.zeros(8000 * 200 // 1000, np.int16).tobytes())
        assert await stt.transcript() == first
        assert engine.calls == calls
        stt.commit()
        assert await stt.transcript() == ""
        assert engine.calls == calls
        await stt.close()

    asyncio.run(run())


def test_transcript_while_a_shorter_one_is_running(engine):
    """The caller resumes during the speculative request: a new request for the longer audio runs after it."""
    part1, part2 = "I would like to book an appointment", "for tomorrow morning"

    async def run() -> tuple[str, str, str]:
        stt = WhisperSTT(8000, {})
        await stt.start()
        feed(stt, phone_audio(part1, 8000, tail_ms=100))
        speculative = asyncio.create_task(stt.transcript())
        await asyncio.sleep(0)  # the speculative job has started
        feed(stt, phone_audio(part2, 8000, lead_ms=100, tail_ms=300))
        final = await stt.transcript()
        first = await speculative
        # Asking at the same time for the same audio joins the running job instead of starting another.
        calls = engine.calls
        stt.send_audio(phone_audio("yes", 8000, lead_ms=0))
        a, b = await asyncio.gather(stt.transcript(), stt.transcript())
        assert a == b and engine.calls == calls + 1
        await stt.close()
        return first, final, a

    first, final, last = asyncio.run(run())
    assert "tomorrow" not in first.lower() and "appointment" in first.lower()
    assert "appointment" in final.lower() and "tomorrow" in final.lower()
    assert "tomorrow" in last.lower()


def test_too_short_or_empty_audio_costs_nothing(engine):
    async def run() -> None:
        stt = WhisperSTT(8000, {})
        calls = engine.calls
        assert await stt.transcript() == ""
        stt.send_audio(phone_audio("hi", 8000, lead_ms=0)[: 8000 * 2 // 10])  # 100 ms
        assert await stt.transcript() == ""
        assert engine.calls == calls
        await stt.close()

    asyncio.run(run())


def test_buffer_keeps_the_tail(engine):
    async def run() -> str:
        stt = WhisperSTT(8000, {"max_utterance_s": 3})
        feed(stt, np.zeros(8000 * 10, np.int16).tobytes())  # 10 s of line noise before the words
        feed(stt, phone_audio("tomorrow morning", 8000, tail_ms=300))
        assert len(stt._buf) <= (3 + 5) * 8000 * 2  # trimmed in steps, never beyond cap + slack
        text = await stt.transcript()
        await stt.close()
        return text

    assert "tomorrow" in asyncio.run(run()).lower()


def test_partials_while_speaking(engine):
    partials: list[str] = []

    async def run() -> tuple[str, int]:
        stt = WhisperSTT(8000, {"partials": True, "partial_interval_s": 0.8}, on_partial=partials.append)
        await stt.start()
        pcm = phone_audio(BOOKING, 8000, tail_ms=300)
        step = 8000 * 2 * 20 // 1000
        for off in range(0, len(pcm), step):  # 4x faster than real time
            stt.send_audio(pcm[off : off + step])
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.3)
        n = len(partials)
        final = await stt.transcript()
        stt.commit()
        feed(stt, phone_audio("hello", 8000))
        await stt.close()  # cancels the partial task; nothing after commit is reported late
        return final, n

    final, n = asyncio.run(run())
    assert n >= 1 and partials[0]
    assert "tomorrow" in final.lower()


def test_no_partials_without_a_callback_or_when_disabled(engine):
    async def run() -> None:
        stt = WhisperSTT(8000, {"partials": False}, on_partial=lambda text: None)
        await stt.start()
        assert stt._partial_task is None
        await stt.close()
        stt = WhisperSTT(8000, {})
        await stt.start()
        assert stt._partial_task is None
        await stt.close()
        await stt.close()  # twice is fine

    asyncio.run(run())


def test_engine_direct(engine):
    pcm = phone_audio(BOOKING, 8000)
    text = engine.transcribe(pcm, 8000)
    assert "appointment" in text.lower()
    assert engine.transcribe(b"", 8000) == ""
    assert get_whisper() is engine  # one model per process


def test_silence_and_noise_say_nothing(engine):
    rng = np.random.default_rng(1)
    for audio in (np.zeros(8000, np.int16), (rng.standard_normal(16000) * 300).astype(np.int16)):
        assert engine.transcribe(audio.tobytes(), 8000) == ""


def test_full_window_path_and_beam_option(engine):
    pcm = phone_audio(BOOKING, 8000)
    window = engine.window_s
    try:
        engine.window_s = 0  # faster-whisper's own 30 s path
        assert "appointment" in engine.transcribe(pcm, 8000, beam_size=2).lower()
    finally:
        engine.window_s = window


@pytest.mark.parametrize(
    "looped, kept",
    [
        ("Goodbye! Goodbye!", "Goodbye!"),
        ("no have not right no have not right no have not right no", "no have not right no"),
        ("I would like to book, book, book, book an appointment", "I would like to book, an appointment"),
        ("Tomorrow morning please", "Tomorrow morning please"),
    ],
)
def test_collapse_repeats_keeps_each_phrase_once(looped, kept):
    from calls.providers.stt.whisper_engine import collapse_repeats

    assert collapse_repeats(looped) == kept


def test_a_looping_short_window_is_collapsed_not_redone(engine, monkeypatch):
    """The 30 s redo was the whole tail of the turn latency: a loop's first pass is kept, its repeats collapsed."""
    pcm = phone_audio("Goodbye", 8000)
    monkeypatch.setattr(engine, "_short_window",
                        lambda audio, beam, prompt=None, language=None: ("Goodbye! Goodbye! Goodbye!", True, -0.2))
    monkeypatch.setattr(engine, "_full_window",
                        lambda audio, beam, prompt=None, language=None: pytest.fail("redone over the full window"))
    loops = engine.loops
    assert engine.transcribe(pcm, 8000) == "Goodbye!"
    assert engine.transcribe(pcm, 8000, wait=False) == ""  # a looping partial says nothing
    assert engine.loops == loops + 2
