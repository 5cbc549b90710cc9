"""Fixtures: the fake Realtime server in the test's event loop, with settings pointing the real SDK at it."""

from __future__ import annotations

import pytest_asyncio

from voicebot.testing.vendors.openai_realtime import FakeRealtime


@pytest_asyncio.fixture
async def realtime(settings):
    fake = FakeRealtime()
    await fake.start()
    settings.OPENAI_API_KEY = fake.api_key
    settings.OPENAI_BASE_URL = fake.base_url
    try:
        yield fake
    finally:
        await fake.stop()
