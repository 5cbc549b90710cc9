"""The live monitor's WebSocket through the real ASGI app: members get their workspace's group, nobody else."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def application(settings):
    settings.VOICEBOT_WARM_UP = False  # no model loading for a socket test
    from voicebot.asgi import application

    return application


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode()


def communicator(application, workspace_id: int, cookie: bytes | None = None, origin: bytes = b"http://testserver"):
    headers = [(b"host", b"testserver"), (b"origin", origin)]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, f"/ws/live/{workspace_id}", headers=headers)


async def test_member_receives_group_messages(application, user_a, ws_a):
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(user_a)
    ws = communicator(application, ws_a.pk, cookie)
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from(timeout=2))["type"] == "hello"
    update = {
        "type": "call.update",
        "call": {"id": 7, "from": "+1555"},
        "kind": "turn",
        "data": {"index": 0, "role": "caller", "text": "hello there"},
    }
    await get_channel_layer().group_send(f"live.{ws_a.pk}", update)
    assert await ws.receive_json_from(timeout=2) == update
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=2) == {"type": "pong"}
    await ws.disconnect()


async def test_anonymous_is_refused(application, ws_a):
    ws = communicator(application, ws_a.pk)
    connected, code = await ws.connect()
    assert not connected and code == 4401


async def test_non_member_is_refused(application, user_a, ws_b):
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(user_a)
    connected, code = await communicator(application, ws_b.pk, cookie).connect()
    assert not connected and code == 4403


async def test_foreign_origin_is_refused(application, user_a, ws_a):
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(user_a)
    connected, code = await communicator(application, ws_a.pk, cookie, origin=b"https://evil.example").connect()
    assert not connected and code == 4403
