"""Priming Whisper with backchannels over the agent (`STTStream.expect`): a caller's "Mm-hm" is heard as one.

Recorded-speech tests with the real local Whisper (tiny.en) through a phone line (8 kHz μ-law): without the
prompt tiny.en writes espeak's hum in noise as words ("And make him.", "MMA Kim") that the words strategy takes
for an interruption; with it, "Mm-hmm". The prompt must not swallow real interruptions.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from calls.pipeline.audio import get_codec  # noqa: E402
from calls.providers.stt.whisper_engine import get_whisper  # noqa: E402
from calls.session.lexicon import Lexicon  # noqa: E402
from calls.session.turn_taking import INTERRUPT, NOT_AN_INTERRUPTION, WordsInterruption  # noqa: E402
from voicebot.testing.speech import caller_speech  # noqa: E402

EN = Lexicon.for_language("en")
RATE = 8000


@pytest.fixture(scope="module")
def whisper():
    return get_whisper()


def overlap(text: str, voice: str, noise: str | None, seed: int) -> bytes:
    """What the STT holds of a caller's sound over the agent: a little pre-roll, the sound, the first pause."""
    kwargs = {"noise_snr_db": 15.0, "noise": noise} if noise else {}
    pcm = caller_speech(text, RATE, voice=voice, seed=seed, trim=True, **kwargs)
    codec = get_codec("PCMU", RATE)
    return codec.decode(codec.encode(bytes(RATE // 5) + pcm + bytes(RATE * 2 // 5)))


def verdict(text: str) -> int:
    return WordsInterruption(EN).on_transcript(text, final=True)


def test_a_hum_in_noise_is_words_unprimed_and_a_backchannel_primed(whisper):
    unprimed, primed = [], []
    for noise, seed in (("pink", 0), ("pink", 1), ("pink", 2), ("babble", 0), ("babble", 1), ("babble", 2)):
        hum = overlap("Mm-hm.", "espeak", noise, seed)
        unprimed.append(whisper.transcribe(hum, RATE))
        primed.append(whisper.transcribe(hum, RATE, prompt=EN.prompt))
    # What cut the agent off before. tiny.en is not bit-exact across runs nor CPUs (int8 kernels): on an AVX2-only
    # machine two of these came out as "MMMM", elsewhere as words; at least half come out as words everywhere seen.
    assert sum(verdict(text) == INTERRUPT for text in unprimed) >= 3, unprimed
    assert all(verdict(text) == NOT_AN_INTERRUPTION and EN.hear(text).backchannel for text in primed), primed


@pytest.mark.parametrize("voice", ["kokoro-jm_kumo", "espeak"])
@pytest.mark.parametrize("noise", [None, "pink", "babble"])
def test_primed_backchannels_stay_backchannels(whisper, voice, noise):
    for text in ("Mm-hm.", "Uh-huh."):
        heard = whisper.transcribe(overlap(text, voice, noise, 0), RATE, prompt=EN.prompt)
        assert verdict(heard) == NOT_AN_INTERRUPTION, (text, heard)


def decided(text: str, voiced_ms: int) -> int:
    """The strategy's verdict on the final transcript of an utterance of `voiced_ms` voiced speech."""
    strategy = WordsInterruption(EN)
    strategy.on_speech(voiced_ms)
    return strategy.on_transcript(text, final=True)


@pytest.mark.parametrize("voice", ["piper-joe", "kokoro-jm_kumo", "espeak"])
@pytest.mark.parametrize("noise", [None, "pink", "babble"])
def test_primed_real_interruptions_still_interrupt(whisper, voice, noise):
    """On the words and the speech's length together: the prompt may make tiny.en write a long interruption as a
    backchannel ("Sorry, actually I meant Tuesday." as "All right." was seen with espeak in babble)."""
    for text in ("Wait.", "Sorry, actually I meant Tuesday.", "No, I meant the other clinic."):
        speech = caller_speech(text, RATE, voice=voice, seed=1, trim=True)
        heard = whisper.transcribe(overlap(text, voice, noise, 1), RATE, prompt=EN.prompt)
        assert decided(heard, len(speech) * 1000 // (2 * RATE)) == INTERRUPT, (text, heard)


@pytest.mark.parametrize("voice", ["kokoro-jm_kumo", "espeak"])
def test_a_backchannel_is_shorter_than_the_longest_one_allowed(voice):
    """The duration rule must leave real backchannels alone: each is well under `max_backchannel_ms`."""
    for text in ("Mm-hm.", "Uh-huh.", "Okay.", "Yeah, right."):
        speech = caller_speech(text, RATE, voice=voice, seed=0, trim=True)
        voiced_ms = len(speech) * 1000 // (2 * RATE)
        assert voiced_ms < WordsInterruption(EN).max_backchannel_ms, (text, voiced_ms)
        assert decided(text, voiced_ms) == NOT_AN_INTERRUPTION


def test_words_that_read_as_a_backchannel_interrupt_once_the_speech_is_long():
    assert decided("All right.", 1400) == NOT_AN_INTERRUPTION
    assert decided("All right.", 1600) == INTERRUPT
    assert decided("", 3000) == NOT_AN_INTERRUPTION  # no words at all: a long noise is still no interruption
