"""The real vendors, for a human with keys to run before a release. Skipped unless the key is in the environment:

    DEEPGRAM_API_KEY=… OPENAI_API_KEY=… ELEVENLABS_API_KEY=… .venv/bin/python -m pytest tests/cloud -m live
"""

from __future__ import annotations

import os

import pytest

from calls.providers.base import TextDelta, UserTurn
from calls.providers.llm.openai_brain import OpenAIBrain
from calls.providers.stt.deepgram import DeepgramSTT
from calls.providers.tts.elevenlabs import ElevenLabsTTS
from voicebot.testing.speech import caller_speech

pytestmark = [
    pytest.mark.live,
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:deepgram"),
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning"),
]


def needs(var: str):
    return pytest.mark.skipif(not os.environ.get(var), reason=f"{var} is not set: live {var.split('_')[0].title()} "
                                                             "test needs a real key and network")


@needs("DEEPGRAM_API_KEY")
async def test_deepgram_transcribes_real_speech(settings):
    settings.DEEPGRAM_API_KEY = os.environ["DEEPGRAM_API_KEY"]
    settings.DEEPGRAM_BASE_URL = "https://api.deepgram.com"
    speech = caller_speech("Hello, I would like to book a table.", 16000, wpm=175, trim=True)
    stt = DeepgramSTT(16000, {})
    await stt.start()
    frame = 640
    for i in range(0, len(speech), frame):
        stt.send_audio(speech[i : i + frame])
    stt.send_audio(b"\x00" * 16000)  # half a second of silence
    text = (await stt.transcript()).lower()
    await stt.close()
    assert "book" in text and "table" in text


@needs("OPENAI_API_KEY")
async def test_openai_answers_in_a_stream(settings):
    settings.OPENAI_API_KEY = os.environ["OPENAI_API_KEY"]
    settings.OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
    brain = OpenAIBrain(options={"model": os.environ.get("OPENAI_LIVE_MODEL", "gpt-4o-mini"),
                                 "first_token_timeout_s": 5.0})
    outputs = [o async for o in brain.respond(UserTurn("Reply with just the word banana."))]
    await brain.close()
    assert "banana" in "".join(o.text for o in outputs if isinstance(o, TextDelta)).lower()
    assert brain.last_ttfb_ms is not None


@needs("ELEVENLABS_API_KEY")
@pytest.mark.parametrize("transport", ["websocket", "http"])
async def test_elevenlabs_speaks(settings, transport):
    settings.ELEVENLABS_API_KEY = os.environ["ELEVENLABS_API_KEY"]
    settings.ELEVENLABS_BASE_URL = "https://api.elevenlabs.io"
    tts = ElevenLabsTTS(8000, "", {"transport": transport})
    await tts.start()
    pcm = b"".join([c async for c in tts.synthesize("Hello, thanks for calling.")])
    await tts.close()
    assert len(pcm) > 8000  # over half a second of 8 kHz PCM16
    assert tts.last_ttfb_ms is not None
