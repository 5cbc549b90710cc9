"""The simulated caller's voices (voicebot/testing/speech.py): Piper, Kokoro and espeak, clean and in noise.

Each voice must say what it was asked at the requested rate, in a way the local Whisper understands through a
phone line (8 kHz G.711 u-law): a WER bound that garbage, silence or the wrong words would fail.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from calls.pipeline.audio import get_codec  # noqa: E402
from calls.providers.stt.whisper_engine import get_whisper  # noqa: E402
from voicebot.testing.speech import active_level, caller_speech, make_noise, mix  # noqa: E402

SENTENCES = [
    "I would like to book an appointment for tomorrow morning.",
    "Do you accept insurance from Blue Cross?",
    "Please transfer me to the front desk.",
    "What are your opening hours on Saturday?",
]


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c == " " else " " for c in text.lower()).split()


def _wer(ref: str, hyp: str) -> float:
    r, h = _words(ref), _words(hyp)
    row = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, row[0] = row[0], i
        for j, hw in enumerate(h, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
    return row[-1] / max(1, len(r))


def _over_the_phone(pcm: bytes) -> bytes:
    codec = get_codec("PCMU", 8000)
    return codec.decode(codec.encode(pcm))


@pytest.fixture(scope="module")
def whisper():
    engine = get_whisper()
    engine.warm_up()
    return engine


def _set_wer(whisper, voice: str, **kwargs) -> float:
    errors = words = 0
    for i, text in enumerate(SENTENCES):
        heard = whisper.transcribe(_over_the_phone(caller_speech(text, 8000, voice=voice, seed=i, **kwargs)), 8000)
        errors += _wer(text, heard or "") * len(_words(text))
        words += len(_words(text))
    return errors / words


@pytest.mark.parametrize("voice", ["piper-joe", "kokoro-jm_kumo"])
@pytest.mark.parametrize("rate", [8000, 16000])
def test_neural_voice_at_the_requested_rate(voice, rate):
    pcm = caller_speech("Please transfer me to the front desk.", rate, voice=voice)
    samples = np.frombuffer(pcm, dtype="<i2")
    seconds = samples.size / rate
    assert 1.0 < seconds < 4.0, seconds  # seven words at a caller's pace, at this rate
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 500  # speech, not silence
    slower = np.frombuffer(caller_speech("Please transfer me to the front desk.", rate, voice=voice, wpm=90), "<i2")
    # the pace option works (Piper's durations vary a little from run to run: its duration noise is random)
    assert slower.size > samples.size * 1.15


def test_neural_voices_are_understood_through_ulaw(whisper):
    # measured on bench/wer.py's 20 sentences: piper-joe 4 %, kokoro-jm_kumo 2 %, kokoro-jf_alpha 9 %, espeak 46 %
    assert _set_wer(whisper, "piper-joe") <= 0.15
    assert _set_wer(whisper, "kokoro-jm_kumo") <= 0.15


def test_piper_in_noise_is_still_understood(whisper):
    assert _set_wer(whisper, "piper-joe", noise_snr_db=15, noise="pink") <= 0.3


def test_a_wrong_transcript_fails_the_bound():
    assert _wer(SENTENCES[0], "right my mental") > 0.8
    assert _wer(SENTENCES[0], SENTENCES[0]) == 0.0


def test_espeak_stays_the_default():
    import inspect

    from voicebot.testing.speech import DEFAULT_VOICE, speak

    # the existing tests were tuned on espeak: it stays the default until they are re-tuned
    assert DEFAULT_VOICE == "espeak"
    assert inspect.signature(caller_speech).parameters["voice"].default == "espeak"
    default = caller_speech("Hello there.", 8000)
    assert abs(len(default) - len(caller_speech("Hello there.", 8000, voice="espeak"))) < 800  # espeak jitters
    assert speak("Hello there.")[1] == speak("Hello there.", voice="espeak")[1]


def test_unknown_voice_and_noise_are_refused():
    with pytest.raises(ValueError):
        caller_speech("Hello.", 8000, voice="robot")
    with pytest.raises(ValueError):
        make_noise(800, 8000, "traffic")


@pytest.mark.parametrize("kind", ["pink", "babble"])
@pytest.mark.parametrize("snr", [5, 15])
def test_noise_is_mixed_at_the_requested_snr(kind, snr):
    speech = caller_speech("I would like to book an appointment.", 8000, voice="piper-joe", trim=True)
    noisy = mix(speech, make_noise(len(speech) // 2, 8000, kind, seed=1), snr, rate=8000)
    clean = np.frombuffer(speech, "<i2").astype(np.float64)
    bed = np.frombuffer(noisy, "<i2").astype(np.float64) - clean
    measured = 10 * np.log10(active_level(clean, 8000) / np.mean(bed**2))
    assert abs(measured - snr) < 0.5
    assert make_noise(800, 8000, kind, seed=3) == make_noise(800, 8000, kind, seed=3)


def test_the_simulated_caller_speaks_with_the_chosen_voice():
    from voicebot.testing.carrier.caller import Step

    step = Step.spoken("Please transfer me to the front desk.", 8000, voice="piper-joe", noise_snr_db=15)
    assert step.text.startswith("Please") and len(step.pcm) > 8000 * 2


def test_simulate_call_refuses_an_unknown_voice():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="unknown caller voice"):
        call_command("simulate_call", "--voice", "robot", "--say", "Hello.", "--base-url", "http://127.0.0.1:9")


def test_a_piper_take_is_the_same_rendition_every_time():
    """Piper samples its variation; a take fixes it, so a test hears on CI what it heard here."""
    from suites.caller import speech

    first = speech.speak("I live at 42 Harbor Street.", voice="piper-joe")
    speech._speak_piper.cache_clear()  # made afresh, not read back
    assert speech.speak("I live at 42 Harbor Street.", voice="piper-joe") == first
    other = speech.speak("I live at 42 Harbor Street.", voice="piper-joe", take=1)
    assert other != first and other[1] == first[1] == 22050
    assert abs(len(other[0]) - len(first[0])) < len(first[0]) // 5  # the same sentence, said a little differently
