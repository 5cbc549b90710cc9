"""Fixtures: each cloud fake running in the test's event loop, with settings pointing the real SDKs at it."""

from tests.vendor_fixtures import deepgram, elevenlabs, openai_fake  # noqa: F401
