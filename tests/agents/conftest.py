"""The cloud fakes the prompt-first agent tests use."""

from tests.vendor_fixtures import openai_fake  # noqa: F401
