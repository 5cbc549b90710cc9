"""ElevenLabsTTS against the fake: our own WebSocket for input streaming, the real SDK for HTTP streaming."""

from __future__ import annotations

import asyncio

import pytest

from calls.providers.base import ProviderError
from calls.providers.tts.elevenlabs import DEFAULT_VOICE_ID, ElevenLabsTTS
from voicebot.testing.vendors import ElevenLabsFault

pytestmark = pytest.mark.asyncio


async def started(rate: int = 8000, voice: str = "en-us", **options) -> ElevenLabsTTS:
    tts = ElevenLabsTTS(rate, voice, options)
    await tts.start()
    return tts


async def speak(tts: ElevenLabsTTS, text: str) -> bytes:
    return b"".join([chunk async for chunk in tts.synthesize(text)])


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_websocket_streaming_returns_pcm_at_the_session_rate(elevenlabs, rate):
    elevenlabs.first_audio_delay_s = 0.05
    tts = await started(rate)
    pcm = await speak(tts, "Hello there.")

    assert len(pcm) == rate * 2 * 120 // 1000  # the fake speaks 10 ms per character
    conn = elevenlabs.connections[0]
    assert conn.voice_id == DEFAULT_VOICE_ID  # "en-us" is an espeak voice, not an ElevenLabs id
    assert conn.query["output_format"] == f"pcm_{rate}" and conn.query["model_id"] == "eleven_flash_v2_5"
    assert conn.messages == [{"text": " "}, {"text": "Hello there. ", "flush": True}, {"text": ""}]
    assert conn.closed_by == "final"
    assert tts.last_ttfb_ms is not None and tts.last_ttfb_ms >= 45
    await tts.close()


async def test_a_spare_socket_is_ready_for_the_next_sentence(elevenlabs):
    tts = await started(voice="AbCdEfGhIjKlMnOpQrSt")
    await speak(tts, "One.")
    await asyncio.sleep(0.05)
    assert len(elevenlabs.connections) == 2  # the next sentence's socket, opened and initialised ahead
    await speak(tts, "Two.")
    assert [c.text for c in elevenlabs.connections[:2]] == ["One. ", "Two. "]
    assert elevenlabs.connections[0].voice_id == "AbCdEfGhIjKlMnOpQrSt"
    await tts.close()


async def test_the_spare_socket_is_kept_alive(elevenlabs):
    tts = await started(keepalive_s=0.2, inactivity_timeout_s=1)
    await asyncio.sleep(1.3)  # longer than the server's inactivity timeout
    spare = elevenlabs.connections[0]
    assert spare.closed_by == "" and {"text": " "} in spare.messages[1:]
    assert len(await speak(tts, "Still here.")) > 0
    assert len(elevenlabs.connections) == 2  # the spare was used, then a new spare opened
    await tts.close()


async def test_closing_the_generator_closes_the_socket(elevenlabs):
    elevenlabs.chunk_delay_s = 0.05
    tts = await started()
    chunks = tts.synthesize("A long sentence that takes a while to say, with plenty of words in it.")
    await anext(chunks)
    await chunks.aclose()  # barge-in
    await asyncio.wait_for(elevenlabs.client_closed.wait(), 2)
    assert elevenlabs.connections[0].closed_by == "client"
    await tts.close()


async def test_a_malformed_frame_is_skipped(elevenlabs):
    elevenlabs.ws_faults.append(ElevenLabsFault(malformed_first=True))
    tts = await started()
    assert len(await speak(tts, "Fine.")) > 0
    await tts.close()


@pytest.mark.parametrize(
    "fault",
    [ElevenLabsFault(drop_after_chunks=1), ElevenLabsFault(error="quota_exceeded"), ElevenLabsFault(stall=True)],
    ids=["dropped", "error-message", "stalled"],
)
async def test_websocket_failures_become_provider_errors(elevenlabs, fault):
    elevenlabs.ws_faults.append(fault)
    tts = await started(recv_timeout_s=0.3)
    with pytest.raises(ProviderError) as caught:
        await speak(tts, "This will fail in the middle of a sentence.")
    assert caught.value.provider == "elevenlabs"
    await tts.close()


async def test_a_wrong_key_fails_at_start_permanently(elevenlabs, settings):
    settings.ELEVENLABS_API_KEY = "wrong"
    with pytest.raises(ProviderError) as caught:
        await started()
    assert caught.value.permanent


async def test_http_transport_streams_pcm_through_the_sdk(elevenlabs):
    tts = await started(16000, transport="http")
    pcm = await speak(tts, "Hello there.")

    assert len(pcm) == 16000 * 2 * 120 // 1000
    request = elevenlabs.http_requests[0]
    assert request["query"] == {"output_format": "pcm_16000"}
    assert request["body"]["text"] == "Hello there." and request["body"]["model_id"] == "eleven_flash_v2_5"
    assert elevenlabs.connections == []
    await tts.close()


@pytest.mark.parametrize(("fault", "permanent"), [
    (ElevenLabsFault(status=500), False),
    (ElevenLabsFault(status=429), False),
    (ElevenLabsFault(status=401), True),
    (ElevenLabsFault(drop_after_chunks=1), False),
], ids=["http-500", "http-429", "http-401", "dropped"])
async def test_http_failures_become_provider_errors(elevenlabs, fault, permanent):
    elevenlabs.http_faults.append(fault)
    tts = await started(transport="http")
    with pytest.raises(ProviderError) as caught:
        await speak(tts, "This will fail in the middle of a sentence.")
    assert caught.value.permanent is permanent
    assert len(elevenlabs.http_requests) == 1  # no retries
    await tts.close()


async def test_a_missing_key_is_permanent(settings):
    settings.ELEVENLABS_API_KEY = ""
    with pytest.raises(ProviderError) as caught:
        await ElevenLabsTTS(8000).start()
    assert caught.value.permanent
