from tests.vendor_fixtures import openai_fake  # noqa: F401
