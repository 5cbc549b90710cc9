"""pytest fixtures that run a cloud fake in the test's event loop and point the real SDK at it via settings.

Test packages that need one import it into their conftest (`from tests.vendor_fixtures import openai_fake`).
"""

from __future__ import annotations

import contextlib

import pytest_asyncio

from voicebot.testing.vendors import FakeDeepgram, FakeElevenLabs, FakeOpenAI


@contextlib.asynccontextmanager
async def _serving(fake, settings, vendor: str, url: str):
    """`fake` running, with `<vendor>_API_KEY` and `<vendor>_BASE_URL` pointing at it."""
    await fake.start()
    setattr(settings, f"{vendor}_API_KEY", fake.api_key)
    setattr(settings, f"{vendor}_BASE_URL", getattr(fake, url))
    try:
        yield fake
    finally:
        await fake.stop()


@pytest_asyncio.fixture
async def deepgram(settings):
    async with _serving(FakeDeepgram(), settings, "DEEPGRAM", "url") as fake:
        yield fake


@pytest_asyncio.fixture
async def openai_fake(settings):
    async with _serving(FakeOpenAI(), settings, "OPENAI", "base_url") as fake:
        yield fake


@pytest_asyncio.fixture
async def elevenlabs(settings):
    async with _serving(FakeElevenLabs(), settings, "ELEVENLABS", "url") as fake:
        yield fake
