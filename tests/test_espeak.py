"""Local TTS: the ctypes espeak-ng engine and the EspeakTTS provider (no Django needed)."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from calls.providers.base import ProviderError
from calls.providers.tts import espeak_local
from calls.providers.tts.espeak_engine import EspeakEngine, get_espeak
from calls.providers.tts.espeak_local import EspeakTTS

SENTENCE = "I would like to book an appointment for tomorrow morning please."


def _samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _collect(tts: EspeakTTS, text: str) -> list[bytes]:
    async def run() -> list[bytes]:
        return [chunk async for chunk in tts.synthesize(text)]

    return asyncio.run(run())


def test_engine_speaks_a_sentence():
    pcm, rate = get_espeak().synthesize(SENTENCE)
    assert rate == 22050
    audio = _samples(pcm)
    seconds = audio.size / rate
    assert 2.0 < seconds < 6.0, seconds  # 11 words at 175 wpm
    assert np.sqrt(np.mean(audio**2)) > 1000  # clearly audible, not near-silence


def test_engine_empty_text():
    assert get_espeak().synthesize("") == (b"", 22050)
    assert get_espeak().synthesize("   \n") == (b"", 22050)


def test_rate_changes_length():
    slow, _ = get_espeak().synthesize(SENTENCE, rate_wpm=120)
    fast, _ = get_espeak().synthesize(SENTENCE, rate_wpm=260)
    assert len(slow) > 1.6 * len(fast)


def test_pitch_and_voices():
    engine = get_espeak()
    assert engine.synthesize("hello", pitch=20)[0] != engine.synthesize("hello", pitch=80)[0]
    voices = engine.list_voices()
    assert any("en-us" in v.languages for v in voices)
    assert engine.synthesize("hello", voice="en-gb")[0]  # a language name works too
    assert engine.synthesize("hello", voice="en-us+f3")[0]  # voice variants
    with pytest.raises(ProviderError) as err:
        engine.synthesize("hello", voice="no-such-voice")
    assert err.value.permanent and err.value.provider == "espeak"
    assert engine.synthesize("hello", voice="en-us")[0]  # a bad voice leaves the engine usable


def test_missing_library_is_a_permanent_error():
    with pytest.raises(ProviderError) as err:
        EspeakEngine(library_path="/nonexistent/libespeak-ng.so")
    assert err.value.permanent and err.value.provider == "espeak"


def test_engine_is_safe_across_threads():
    engine = get_espeak()
    expected = {t: len(engine.synthesize(t)[0]) for t in ("one two three", "a much longer sentence than that one")}
    results: list[tuple[str, int]] = []

    def worker(text: str) -> None:
        for _ in range(5):
            results.append((text, len(engine.synthesize(text)[0])))

    threads = [threading.Thread(target=worker, args=(t,)) for t in expected for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    for text, n in results:  # espeak varies by a few samples between runs, never by a whole other sentence
        assert abs(n - expected[text]) < 0.05 * expected[text]


@pytest.mark.parametrize("rate", [8000, 16000])
def test_provider_resamples_and_trims(rate):
    tts = EspeakTTS(rate, "", {})
    assert tts.voice == "en-us"
    chunks = _collect(tts, SENTENCE)
    assert len(chunks) == 1  # one sentence, one chunk (the session re-frames it)
    audio = _samples(chunks[0])
    native, native_rate = get_espeak().synthesize(SENTENCE)
    assert abs(audio.size / rate - len(native) / 2 / native_rate) < 0.15
    edge = rate * 40 // 1000  # at most ~30 ms of silence is left at either end
    assert np.abs(audio[:edge]).max() > espeak_local.SILENCE_LEVEL
    assert np.abs(audio[-edge:]).max() > espeak_local.SILENCE_LEVEL


def test_provider_empty_text_yields_nothing():
    tts = EspeakTTS(8000)
    assert _collect(tts, "") == []
    assert _collect(tts, "  \t ") == []


def test_provider_rate_option_and_cache():
    espeak_local._cache.clear()
    normal = EspeakTTS(8000, "en-us", {})
    fast = EspeakTTS(8000, "en-us", {"rate_wpm": 260})
    first = b"".join(_collect(normal, SENTENCE))
    assert len(b"".join(_collect(fast, SENTENCE))) < 0.8 * len(first)
    hits = espeak_local._cache.hits
    started = time.perf_counter()
    again = b"".join(_collect(normal, SENTENCE))
    assert again == first  # espeak itself varies by a few samples between runs: this came from the cache
    assert espeak_local._cache.hits == hits + 1
    assert time.perf_counter() - started < 0.05
    # The key includes the output rate, so a 16 kHz call does not get 8 kHz audio.
    wide = b"".join(_collect(EspeakTTS(16000, "en-us", {}), SENTENCE))
    assert abs(len(wide) - 2 * len(first)) < 0.05 * len(wide)


def test_cache_is_bounded():
    cache = espeak_local._LRU(3)
    for i in range(5):
        cache.put((i,), b"x")
    assert cache.get((0,)) is None and cache.get((1,)) is None
    assert cache.get((4,)) == b"x"
    cache.put((5,), b"y")  # evicts the least recently used: (2,), not (4,) which was just read
    assert cache.get((2,)) is None and cache.get((4,)) == b"x"
