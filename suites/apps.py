from django.apps import AppConfig


class SuitesConfig(AppConfig):
    """Agent test suites: scenarios, the runner that calls the agent as a carrier would, and the results."""

    name = "suites"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # seed_demo announces the demo agent (calls.signals.demo_seeded); the demo's scenarios are loaded here.
        from . import receivers

        receivers.connect()
