"""Shared helpers for the flow engine tests: a fixed clock, text extraction, and the cloud fakes they need."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest_asyncio

from calls.flows.effects import EngineContext
from calls.providers.base import TextDelta
from tests.vendor_fixtures import openai_fake  # noqa: F401
from voicebot.testing.vendors.tool_server import FakeToolServer

# Wednesday 4 March 2026, 15:00 UTC (10:00 in New York): every relative date in these tests resolves from here.
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def context(**kwargs) -> EngineContext:
    return EngineContext(clock=clock, **kwargs)


def texts(actions) -> list[str]:
    return [a.text.strip() for a in actions if isinstance(a, TextDelta)]


def said(actions) -> str:
    return "".join(a.text for a in actions if isinstance(a, TextDelta)).strip()


async def collect(iterator) -> list:
    return [item async for item in iterator]


@pytest_asyncio.fixture
async def tool_server():
    server = FakeToolServer(secret="s3cret", result={"available": True, "slot": "15:00"})
    await server.start()
    yield server
    await server.stop()
