"""The call page's recording: the player and turn offsets on the page, and the WAV served with HTTP Range."""

from __future__ import annotations

import asyncio
import wave

import pytest
from django.test import AsyncClient

from calls.models import Call, Turn
from calls.pipeline.recording import CallAudioRecorder, relative_path
from dashboard.views.recordings import parse_range


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def with_recording(call: Call, media, seconds: float = 1.0) -> bytes:
    rec = CallAudioRecorder(8000)
    rec.inbound(bytes(range(256)) * int(seconds * 16000 / 256))
    rec.outbound(b"\x10\x00" * 800)
    call.recording = relative_path(call.workspace_id, call.pk)
    call.save(update_fields=["recording"])
    Turn.objects.filter(call=call, index=0).update(audio_start_ms=0, audio_end_ms=900)
    Turn.objects.filter(call=call, index=1).update(audio_start_ms=1000, audio_end_ms=2400)
    return rec.save(media / call.recording).read_bytes()


def url(call: Call) -> str:
    return f"/calls/{call.pk}/recording.wav"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_call_page_has_a_player_and_turn_offsets(client_a, call_a, media):
    with_recording(call_a, media)
    page = client_a.get(f"/calls/{call_a.pk}/").content.decode()
    assert f'<audio id="call-audio" controls preload="metadata" src="{url(call_a)}">' in page
    assert 'data-turn="0" data-audio-start="0" data-audio-end="900"' in page
    assert 'data-turn="1" data-audio-start="1000" data-audio-end="2400"' in page
    assert "dashboard/js/recording.js" in page


def test_no_player_without_a_recording_or_when_the_file_is_gone(client_a, call_a, media):
    assert "<audio" not in client_a.get(f"/calls/{call_a.pk}/").content.decode()
    Call.objects.filter(pk=call_a.pk).update(recording="recordings/1/missing.wav")
    page = client_a.get(f"/calls/{call_a.pk}/").content.decode()
    assert "<audio" not in page and "data-audio-start" not in page


def test_whole_file_without_range(client_a, call_a, media):
    wav = with_recording(call_a, media)
    response = client_a.get(url(call_a))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(wav))
    assert "no-store" in response["Cache-Control"]
    assert body(response) == wav
    with wave.open(str(media / call_a.recording)) as parsed:
        assert parsed.getnchannels() == 2


@pytest.mark.parametrize(
    "header, first, last",
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None), ("bytes=10-999999", 10, None)],
)
def test_ranges_get_206_with_exactly_those_bytes(client_a, call_a, media, header, first, last):
    wav = with_recording(call_a, media)
    size = len(wav)
    start = size + first if first < 0 else first
    end = size - 1 if last is None else last
    response = client_a.get(url(call_a), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert response["Content-Length"] == str(end - start + 1)
    assert body(response) == wav[start : end + 1]


def test_unsatisfiable_range_is_416(client_a, call_a, media):
    wav = with_recording(call_a, media)
    response = client_a.get(url(call_a), HTTP_RANGE=f"bytes={len(wav)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(wav)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-5", "bytes=9-3", "bytes=-"])
def test_ranges_we_do_not_serve_get_the_whole_file(client_a, call_a, media, header):
    wav = with_recording(call_a, media)
    response = client_a.get(url(call_a), HTTP_RANGE=header)
    assert response.status_code == 200 and body(response) == wav


def test_parse_range_edges():
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-20", 10) == (0, 9)
    assert parse_range("bytes=-0", 10) is None
    assert parse_range("bytes=0-", 0) is None


def test_recordings_are_workspace_scoped(client, user_b, call_a, media):
    with_recording(call_a, media)
    client.force_login(user_b)
    assert client.get(url(call_a)).status_code == 404


def test_recordings_need_a_login(client, call_a, media):
    with_recording(call_a, media)
    response = client.get(url(call_a))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_recording_path_outside_media_root_is_never_served(client_a, call_a, media, tmp_path):
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF....secret")
    Call.objects.filter(pk=call_a.pk).update(recording="../secret.wav")
    assert client_a.get(url(call_a)).status_code == 404
    Call.objects.filter(pk=call_a.pk).update(recording=str(secret))  # absolute paths too
    assert client_a.get(url(call_a)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_under_asgi_the_file_streams_through_an_async_iterator(user_a, call_a, media):
    wav = with_recording(call_a, media)

    async def go():
        client = AsyncClient()
        await client.aforce_login(user_a)
        response = await client.get(url(call_a), headers={"Range": "bytes=44-"})
        assert response.status_code == 206 and response.is_async
        return b"".join([chunk async for chunk in response.streaming_content])

    assert asyncio.run(go()) == wav[44:]
