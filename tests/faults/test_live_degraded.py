"""The live monitor with its Redis layer down, in-process: a call's live updates fail against a Redis that is not
there, and the live page's health endpoint and banner (and /healthz) say so; once a Redis answers again, the endpoint's
own probe clears it."""

from __future__ import annotations

import asyncio

import pytest
from django.contrib.auth import get_user_model

from calls import live
from calls.models import Call, Workspace
from tests import tally
from voicebot.testing.server import free_port

from .process import Redis

pytestmark = [pytest.mark.faults, pytest.mark.django_db]


def redis_layer(url: str) -> dict:
    return {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}}


@pytest.fixture
def member(client):
    ws = Workspace.objects.create(name="W", slug="w")
    user = get_user_model().objects.create_user("watcher")
    ws.members.add(user)
    client.force_login(user)
    return ws


@pytest.fixture(autouse=True)
def fresh_health(monkeypatch):
    monkeypatch.setattr(live, "HEALTH", live.LayerHealth())


def publish_turns(call: Call, n: int) -> None:
    async def go():
        publish = live.publisher_for(call)
        for index in range(n):
            publish("turn", {"index": index, "role": "caller", "text": "hello"})
        await asyncio.gather(*live._pending)

    asyncio.run(go())


def banner_shown(client) -> bool:
    page = client.get("/live/").content.decode()
    start = page.index('id="live-degraded"')
    return "hidden" not in page[start : page.index(">", start)]


def test_a_dead_redis_layer_shows_as_degraded_live_updates_until_a_probe_reaches_redis_again(client, member, settings):
    tally.ran("faults", "live")
    settings.CHANNEL_LAYERS = redis_layer(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    call = Call.objects.create(workspace=member, carrier="twilio", carrier_call_id="CA-live")
    assert client.get("/live/health.json").json()["ok"] is False  # its first probe already finds no Redis
    assert banner_shown(client)

    publish_turns(call, 3)

    health = client.get("/live/health.json").json()
    assert health["degraded"] and health["layer"] == "RedisChannelLayer"
    assert health["consecutive_failures"] >= 4 and health["last_error"], health
    assert banner_shown(client)
    assert client.get("/healthz").json()["live"]["degraded"] is True

    redis = Redis()
    try:
        settings.CHANNEL_LAYERS = redis_layer(redis.url)
        live.HEALTH.last_attempt_at -= live.SEND_TIMEOUT_S + 60  # no send has said anything for a while
        recovered = client.get("/live/health.json").json()
    finally:
        redis.kill()
    assert recovered["ok"] and recovered["consecutive_failures"] == 0 and recovered["sent"] == 1, recovered
    assert not banner_shown(client)


def test_the_live_health_endpoint_needs_a_login(client):
    tally.ran("faults", "live")
    response = client.get("/live/health.json")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
