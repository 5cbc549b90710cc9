from django.apps import AppConfig


class AutomationConfig(AppConfig):
    """Work around calls, off the call path: post-call processing, webhooks, retention, outbound campaigns."""

    name = "automation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The call engine announces finished calls (calls.signals.call_finished) without knowing who listens.
        from . import receivers

        receivers.connect()
