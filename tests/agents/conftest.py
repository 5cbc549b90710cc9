"""The fakes the prompt-first agent tests use: the OpenAI fake (in the test's loop, or in a thread for tests that
run their own loops) and a customer's webhook receiver."""

import pytest

from tests.scale.test_background_units import receiver  # noqa: F401
from tests.vendor_fixtures import openai_fake  # noqa: F401
from voicebot.testing.vendors import start_in_thread


@pytest.fixture
def cloud(settings):
    """The cloud fakes in a thread of their own, the openai SDK pointed at the OpenAI fake."""
    cloud = start_in_thread()
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = cloud.env["OPENAI_API_KEY"], cloud.env["OPENAI_BASE_URL"]
    yield cloud
    cloud.stop()
