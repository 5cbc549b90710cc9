"""The `telnyx` SDK's client options, built from the settings, and what its failures become.

TELNYX_BASE_URL points the SDK elsewhere (tests run a fake Telnyx on loopback). The SDK itself is imported lazily
by the modules that send commands: it is large (seconds to import) and most processes never need it.
"""

from __future__ import annotations

from django.conf import settings

from ..rest_errors import CarrierRestError, NotConfigured

REST_TIMEOUT_S = 10.0


def options() -> dict:
    options: dict = {"api_key": settings.TELNYX_API_KEY, "timeout": REST_TIMEOUT_S, "max_retries": 1}
    if settings.TELNYX_BASE_URL:
        options["base_url"] = settings.TELNYX_BASE_URL
    return options


def client_options() -> dict:
    """`options()`, or NotConfigured without TELNYX_API_KEY."""
    if not settings.TELNYX_API_KEY:
        raise NotConfigured("Telnyx REST needs TELNYX_API_KEY", carrier="telnyx")
    return options()


def http_status(exc: Exception) -> int | None:
    return getattr(exc, "status_code", None)


def failure(action: str, exc: Exception) -> str:
    """"telnyx <action> failed: HTTP 422: ..." (or the exception's type when no response came)."""
    status = http_status(exc)
    detail = f"HTTP {status}" if status else type(exc).__name__
    return f"telnyx {action} failed: {detail}: {str(exc)[:200]}"


def rest_error(action: str, exc: Exception) -> CarrierRestError:
    """A failed command as CarrierRestError: 4xx but 429 will fail again (permanent), the rest may pass later."""
    status = http_status(exc)
    permanent = status is not None and 400 <= status < 500 and status != 429
    return CarrierRestError(failure(action, exc), carrier="telnyx", permanent=permanent)
