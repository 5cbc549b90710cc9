"""The real Smart Turn v3.2 model: our Whisper features against `transformers`' numbers, its verdicts on caller
speech, and the smart-turn strategy running it on a real event loop.

Caller speech is espeak-ng (the project's caller-speech synthesis) at 16 kHz. The model was trained on human
speech, and espeak's flat prosody makes it unreliable: over 10 complete and 10 unfinished sentences, 8 renderings
each (espeak's timing varies a little from one rendering to the next), it called 90 % of the complete ones
complete but only 65 % of the unfinished ones unfinished ("I would like to book an" and "so I was wondering if"
sound complete to it every time, median p 0.93 and 0.91). The sentences below are the ones it decides with a
margin, judged on 5 renderings each; the misses are in the README's Smart Turn section, not hidden.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest

from calls.pipeline.turns import END_OF_TURN
from calls.providers.turn import features
from calls.providers.turn import smart_turn as model
from calls.session.smart_turn import SmartTurnEndOfTurn
from voicebot.testing.pcm import silence
from voicebot.testing.speech import caller_speech

FIXTURES = Path(__file__).parent / "fixtures"
RATE = 16000  # Smart Turn's own rate


def caller_says(text: str) -> bytes:
    return caller_speech(text, RATE, wpm=170)


def quiet(ms: int) -> bytes:
    return silence(ms, RATE)


needs_model = pytest.mark.skipif(not model.model_path().is_file(),
                                 reason=f"no Smart Turn model at {model.model_path()} (make install fetches it)")

COMPLETE = [
    "I would like to book an appointment for tomorrow morning.",
    "Is the clinic open on Saturday?",
    "Yes, that works for me.",
    "I'd like to book a cleaning.",
    "Do you take new patients?",
    "My name is John Smith.",
]
INCOMPLETE = [
    "my number is five five five",
    "Wait, actually, can I",
    "and then I want to",
    "I need to cancel my",
]


# ---------------------------------------------------------------------------------------------- features


def reference_signals() -> dict[str, np.ndarray]:
    """The two signals fixtures/make_whisper_features_ref.py gave `transformers` (keep them in step)."""
    t = np.arange(int(2.5 * 16000)) / 16000
    chirp = 0.3 * np.sin(2 * np.pi * (200 * t + 300 * t**2)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    chirp += 0.05 * np.sin(2 * np.pi * 3100 * t)
    short = np.zeros(128000)
    short[-chirp.size :] = chirp
    t8 = np.arange(128000) / 16000
    full = 0.2 * np.sin(2 * np.pi * 440 * t8) * np.sin(2 * np.pi * 0.7 * t8) + 0.1 * np.sign(np.sin(2 * np.pi * 97 * t8))
    return {"short": short.astype(np.float32), "full": full.astype(np.float32)}


@pytest.mark.parametrize("name", ["short", "full"])
def test_our_features_are_whispers_as_transformers_computes_them(name):
    ref = json.loads((FIXTURES / "whisper_features_ref.json").read_text())[name]
    ours = features.log_mel(reference_signals()[name])
    assert list(ours.shape) == ref["shape"] == [80, 800] and ours.dtype == np.float32
    np.testing.assert_allclose(ours.mean(axis=1), ref["row_means"], atol=2e-6)
    np.testing.assert_allclose(ours.mean(axis=0), ref["col_means"], atol=2e-6)
    np.testing.assert_allclose(ours[np.ix_(ref["rows"], ref["cols"])], ref["grid"], atol=2e-6)


def test_the_window_is_the_last_8_seconds_with_zeros_in_front():
    short = np.ones(16000, dtype=np.float32)
    window = features.fit_window(short)
    assert window.shape == (128000,) and not window[:-16000].any() and window[-16000:].all()
    long = np.arange(200000, dtype=np.float32)
    assert (features.fit_window(long) == long[-128000:]).all()


def test_8khz_audio_is_resampled_to_16khz_before_the_model_hears_it():
    """Fed as if it were 16 kHz, 8 kHz speech plays at double speed and the model answers nonsense (pipecat#3844)."""
    tone = (np.sin(2 * np.pi * 440 * np.arange(8000) / 8000) * 8000).astype("<i2").tobytes()  # 1 s at 8 kHz
    audio = model.pcm_to_model_audio(tone, 8000)
    assert audio.shape == (128000,) and not audio[:-16000].any()
    spectrum = np.abs(np.fft.rfft(audio[-16000:]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2  # 1 Hz bins: still 440 Hz, and one second long


# ---------------------------------------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def loaded():
    model._reset_for_tests()
    return model.get_model()


RENDERINGS = 5


def probabilities(loaded, text: str) -> list[float]:
    """p(complete) for `text` said 5 times, each followed by 160 ms of silence (about when the strategy asks)."""
    return [loaded.probability(quiet(200) + caller_says(text) + quiet(160), 16000) for _ in range(RENDERINGS)]


@needs_model
@pytest.mark.parametrize("text", COMPLETE)
def test_the_model_hears_a_finished_sentence_as_complete(loaded, text):
    ps = probabilities(loaded, text)
    assert np.median(ps) > 0.7 and sum(p > 0.5 for p in ps) >= 4, f"p(complete) {[round(p, 2) for p in ps]}"


@needs_model
def test_the_model_hears_unfinished_sentences_as_incomplete(loaded):
    heard = {text: probabilities(loaded, text) for text in INCOMPLETE}
    shown = {text: [round(p, 2) for p in ps] for text, ps in heard.items()}
    # Judged by the strategy's rule (incomplete below 0.5) on most renderings of the set, and no sentence "likely
    # complete" (0.7) on most of its own: espeak renders a sentence a little differently each time ("I need to cancel
    # my" has come out at median 0.29 and 0.51 in two runs, "my number is five five five" between 0.09 and 0.57).
    every = [p for ps in heard.values() for p in ps]
    assert sum(p < 0.5 for p in every) >= 0.7 * len(every), shown
    assert all(np.median(ps) < 0.7 for ps in heard.values()), shown


@needs_model
def test_one_inference_is_fast_enough_for_the_turn(loaded):
    pcm = quiet(200) + caller_says(COMPLETE[0]) + quiet(160)
    loaded.probability(pcm, 16000)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        loaded.probability(pcm, 16000)
        timings.append(time.perf_counter() - started)
    # ~40 ms on this project's 2-core machine (features ~15 ms, the model ~25 ms); generous for a busy CI.
    assert min(timings) < 0.25, timings


# ---------------------------------------------------------------------------------------------- the strategy


async def feed_in_real_time(strategy: SmartTurnEndOfTurn, pcm: bytes) -> float | None:
    """20 ms frames at the pace a carrier sends them; the monotonic time the turn ended (verdict or silence)."""
    ended: list[float] = []
    strategy.bind(lambda: ended.append(time.monotonic()))
    fb = strategy.frame_bytes
    start = time.monotonic()
    for i, offset in enumerate(range(0, len(pcm) - fb + 1, fb)):
        if strategy.feed(pcm[offset : offset + fb]) == END_OF_TURN:
            ended.append(time.monotonic())
        if ended:
            return ended[0]
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
    return None


def real_strategy(**kwargs) -> SmartTurnEndOfTurn:
    return SmartTurnEndOfTurn(16000, predict=model.probability, executor=model.executor(), **kwargs)


@needs_model
@pytest.mark.asyncio
async def test_a_finished_sentence_ends_the_turn_well_under_300_ms(loaded):
    strategy = real_strategy(ask_after_ms=120, max_silence_ms=1200)
    ended = await feed_in_real_time(strategy, quiet(200) + caller_says(COMPLETE[1]) + quiet(1500))
    assert ended is not None and strategy.last_probability > 0.5
    delay_ms = (ended - strategy.last_voiced_at) * 1000
    # Ended by the verdict, as soon as it came: the ask (120 ms of silence) plus the model's own time, a frame or two
    # of slack (frames run late on a busy machine); not by a silence rule (the 1200 ms maximum). The model's time is its own figure, so a busy machine
    # makes this later, not false (about 40 ms quiet, so ~200 ms in all here).
    assert delay_ms < 120 + strategy.last_latency_ms + 150, f"turn ended {delay_ms:.0f} ms after the caller stopped"
    assert strategy.utterance_voiced_ms > 1000


@needs_model
@pytest.mark.asyncio
async def test_an_unfinished_sentence_waits_for_the_longest_wait(loaded):
    strategy = real_strategy(ask_after_ms=120, max_silence_ms=1000)
    ended = await feed_in_real_time(strategy, quiet(200) + caller_says(INCOMPLETE[0]) + quiet(1500))
    assert strategy.asks == 1 and strategy.last_probability < 0.5
    assert ended is not None and (ended - strategy.last_voiced_at) * 1000 >= 950  # the silence rule's 1 s


@needs_model
@pytest.mark.django_db
def test_the_warm_up_loads_the_model_when_an_agent_uses_it(loaded, monkeypatch):
    from calls import warmup
    from calls.models import Agent, Workspace

    warmed = []
    monkeypatch.setattr(model, "warm_up", lambda: warmed.append(True) or 0.01)
    workspace = Workspace.objects.create(name="w")
    Agent.objects.create(workspace=workspace, name="on silence", end_of_turn="silence+provider")
    assert warmup._warm_smart_turn() is False and warmed == []
    Agent.objects.create(workspace=workspace, name="turn model", end_of_turn="smart-turn")
    assert warmup._warm_smart_turn() is True and warmed == [True]


# ---------------------------------------------------------------------------------------------- recorded Piper speech

def recorded(name: str) -> bytes:
    """A Piper "joe" rendering kept as a 16 kHz WAV (fixtures/piper_*.wav), so the verdicts below are about the very
    same audio every run (Piper samples a new rendering each time it speaks)."""
    import wave

    with wave.open(str(FIXTURES / f"piper_{name}.wav"), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())


@needs_model
@pytest.mark.parametrize("name", ["complete_insurance", "complete_appointment"])
def test_a_recorded_finished_sentence_is_complete_with_confidence(loaded, name):
    # Above the band that ends a turn at once (0.9), at the 60 ms the strategy asks after.
    p = loaded.probability(quiet(200) + recorded(name) + quiet(60), 16000)
    assert p >= 0.9, p


@needs_model
@pytest.mark.parametrize("name", ["unfinished_wondering", "unfinished_book"])
def test_a_recorded_half_sentence_is_incomplete(loaded, name):
    p = loaded.probability(quiet(200) + recorded(name) + quiet(60), 16000)
    assert p < 0.5, p


@needs_model
@pytest.mark.asyncio
async def test_on_recorded_speech_a_finished_turn_ends_at_once_and_a_half_one_waits_the_longest():
    """The strategy as agents get it by default (asks after 60 ms), on the real model in real time."""
    strategy = real_strategy(ask_after_ms=60, max_silence_ms=1000)
    ended = await feed_in_real_time(strategy, quiet(200) + recorded("complete_insurance") + quiet(1500))
    assert ended is not None and strategy.last_probability >= 0.9
    # On the verdict, as soon as it came (asked after 60 ms of silence), long before the 1000 ms maximum.
    assert (ended - strategy.last_voiced_at) * 1000 < 60 + strategy.last_latency_ms + 150

    strategy = real_strategy(ask_after_ms=60, max_silence_ms=1000)
    ended = await feed_in_real_time(strategy, quiet(200) + recorded("unfinished_wondering") + quiet(1500))
    assert strategy.asks == 1 and strategy.last_probability < 0.5
    assert ended is not None and (ended - strategy.last_voiced_at) * 1000 >= 950
