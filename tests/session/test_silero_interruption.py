"""`WordsInterruption` listening with Silero: the caller's recorded "Okay." then the room's babble, which webrtcvad
keeps calling voice. The caller is quiet once Silero hears no speech, and the babble never pauses the agent again."""

from __future__ import annotations

import time
import wave
from pathlib import Path

from calls.pipeline.audio import get_codec, resample
from calls.pipeline.vad import FrameVAD
from calls.session.turn_taking import HOLD, KEEP_LISTENING, NOT_AN_INTERRUPTION, WordsInterruption
from voicebot.testing.speech import make_noise

FIXTURES = Path(__file__).parent.parent / "turn" / "fixtures"
RATE = 8000
FRAME = RATE * 2 // 50


def line(pcm: bytes) -> list[bytes]:
    codec = get_codec("PCMU", RATE)
    pcm = codec.decode(codec.encode(pcm))
    return [pcm[i : i + FRAME] for i in range(0, len(pcm) - FRAME + 1, FRAME)]


def okay() -> bytes:
    with wave.open(str(FIXTURES / "piper_okay_16k.wav")) as w:
        return resample(w.readframes(w.getnframes()), w.getframerate(), RATE)


def test_babble_after_a_backchannel_is_the_room_not_the_caller():
    strategy = WordsInterruption(hold_ms=100)
    strategy.caller_started()
    webrtc = FrameVAD(RATE)
    voiced = 0
    verdicts = []
    for frame in line(okay()):
        strategy.hear(frame)
        voiced += 20 * webrtc.is_speech(frame)
        verdicts.append(strategy.on_speech(voiced))
    assert HOLD in verdicts  # the word paused the agent
    babble = line(make_noise(RATE * 2, RATE, "babble", seed=5))
    for frame in babble[:15]:  # the room, while the word's transcript is made
        strategy.hear(frame)
    said_at = time.monotonic()  # (the word's tail left Silero's resampler in these 300 ms)
    assert strategy.on_transcript("Okay.") == NOT_AN_INTERRUPTION  # a backchannel: the agent resumes
    vad_voiced_at = said_at
    for frame in babble[15:]:
        strategy.hear(frame)
        if webrtc.is_speech(frame):
            voiced += 20
            vad_voiced_at = time.monotonic()
            assert strategy.on_speech(voiced) == KEEP_LISTENING  # not paused again by the room
    assert voiced > 400  # webrtcvad did call the babble voice
    # As the session's hold watch asks: the caller last spoke when Silero last heard speech, not after the word.
    assert strategy.voiced_at(vad_voiced_at) <= said_at


def test_speech_after_a_release_holds_the_agent_again():
    strategy = WordsInterruption(hold_ms=100)
    strategy.caller_started()
    voiced = 0
    for frame in line(okay()):
        strategy.hear(frame)
        voiced += 20
        strategy.on_speech(voiced)
    assert strategy.on_transcript("Okay.") == NOT_AN_INTERRUPTION
    verdicts = []
    for frame in line(okay()):  # the caller speaks again in the same utterance
        strategy.hear(frame)
        voiced += 20
        verdicts.append(strategy.on_speech(voiced))
    assert HOLD in verdicts
