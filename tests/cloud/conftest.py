"""Fixtures: each cloud fake running in the test's event loop, with settings pointing the real SDKs at it."""

from __future__ import annotations

import pytest_asyncio

from tests.fakes import FakeDeepgram, FakeElevenLabs, FakeOpenAI


@pytest_asyncio.fixture
async def deepgram(settings):
    fake = FakeDeepgram()
    await fake.start()
    settings.DEEPGRAM_API_KEY = fake.api_key
    settings.DEEPGRAM_BASE_URL = fake.url
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def openai_fake(settings):
    fake = FakeOpenAI()
    await fake.start()
    settings.OPENAI_API_KEY = fake.api_key
    settings.OPENAI_BASE_URL = fake.base_url
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def elevenlabs(settings):
    fake = FakeElevenLabs()
    await fake.start()
    settings.ELEVENLABS_API_KEY = fake.api_key
    settings.ELEVENLABS_BASE_URL = fake.url
    yield fake
    await fake.stop()
