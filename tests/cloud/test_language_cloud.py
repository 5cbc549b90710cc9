"""The agent's language reaches the cloud providers in each one's own code, through the chain, against the fakes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from calls.providers.base import ProviderError
from calls.providers.chains import build_providers
from calls.providers.stt.deepgram import DeepgramSTT
from calls.providers.tts.elevenlabs import ElevenLabsTTS
from voicebot.testing.pcm import frames, tone

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:deepgram"),
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning"),
]


def cloud_agent(language: str, **options) -> SimpleNamespace:
    return SimpleNamespace(stt_provider="deepgram", llm_provider="flow", tts_provider="elevenlabs",
                           voice="AbCdEfGhIjKlMnOpQrSt", provider_options=options, language=language, greeting="",
                           flow={}, max_reprompts=2)


async def test_deepgram_is_asked_for_the_agents_language_in_its_own_code(deepgram):
    deepgram.transcripts.append("quiero reservar una mesa")
    stt = build_providers(cloud_agent("es-ES"), 8000, None).stt.primary
    assert isinstance(stt, DeepgramSTT)
    await stt.start()
    for frame in frames(tone(600, 8000), 8000):
        stt.send_audio(frame)
    assert await stt.transcript() == "quiero reservar una mesa"
    assert deepgram.connections[0].query["language"] == "es"  # Deepgram has "es", not "es-ES"
    await stt.close()


async def test_a_language_option_of_the_stt_wins_and_an_unknown_code_is_refused_permanently(deepgram):
    latam = build_providers(cloud_agent("es-ES", stt={"language": "es-419"}), 8000, None).stt.primary
    await latam.start()
    assert deepgram.connections[-1].query["language"] == "es-419"
    await latam.close()
    wrong = DeepgramSTT(8000, {"language": "klingon"})
    with pytest.raises(ProviderError) as caught:
        await wrong.start()
    assert caught.value.permanent  # the chain's Whisper takes the call from the start


async def test_elevenlabs_swaps_an_english_only_model_and_names_the_language(elevenlabs):
    tts = build_providers(cloud_agent("fr-FR", tts={"model_id": "eleven_flash_v2"}), 16000, None).tts.primary
    assert isinstance(tts, ElevenLabsTTS)
    await tts.start()
    pcm = b"".join([c async for c in tts.synthesize("Bonjour, je vous écoute.")])
    assert pcm
    query = elevenlabs.connections[0].query
    assert query["model_id"] == "eleven_flash_v2_5" and query["language_code"] == "fr"
    await tts.close()


async def test_elevenlabs_over_http_and_with_a_model_that_takes_no_language_code(elevenlabs):
    v2 = ElevenLabsTTS(16000, "", {"transport": "http", "language": "de-DE", "model_id": "eleven_monolingual_v1"})
    await v2.start()
    assert b"".join([c async for c in v2.synthesize("Guten Tag.")])
    body = elevenlabs.http_requests[0]["body"]
    assert body["model_id"] == "eleven_multilingual_v2" and "language_code" not in body
    await v2.close()
    flash = ElevenLabsTTS(16000, "", {"transport": "http", "language": "de-DE"})
    await flash.start()
    assert b"".join([c async for c in flash.synthesize("Guten Tag.")])
    assert elevenlabs.http_requests[1]["body"]["language_code"] == "de"
    await flash.close()
    english = ElevenLabsTTS(16000, "", {"model_id": "eleven_turbo_v2", "language": "en-GB"})
    assert english.model_id == "eleven_turbo_v2"  # English agents keep the English model they chose
