from django.apps import AppConfig


class TestingConfig(AppConfig):
    """Registers the harnesses' management commands (`simulate_call`); no models, nothing run at start-up."""

    name = "voicebot.testing"
    label = "voicebot_testing"
    verbose_name = "voicebot test harnesses"
