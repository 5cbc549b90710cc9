from django.apps import AppConfig


class AutomationConfig(AppConfig):
    """Work around calls, off the call path: post-call processing, webhooks, retention, outbound campaigns."""

    name = "automation"
    default_auto_field = "django.db.models.BigAutoField"
