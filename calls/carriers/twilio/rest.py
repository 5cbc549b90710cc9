"""The Twilio REST client, built from the settings; TWILIO_BASE_URL sends its requests elsewhere (tests, proxies).

twilio-python has no base-URL option (`edge`/`region` only rewrite hostnames under twilio.com), but it accepts a
custom `http_client`: a subclass of its own that rewrites the scheme and host keeps everything else — auth, form
encoding, error parsing — the SDK's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..rest_errors import CarrierRestError, NotConfigured

REST_TIMEOUT_S = 10.0


class _BaseUrlHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=REST_TIMEOUT_S)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        local = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, local, *args, **kwargs)


def client() -> Client:
    """A synchronous client (run it in a thread from async code). Raises NotConfigured without credentials."""
    if not settings.TWILIO_CREDENTIALS_ARE_REAL:
        raise NotConfigured("Twilio REST needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", carrier="twilio")
    http = _BaseUrlHttpClient(settings.TWILIO_BASE_URL) if settings.TWILIO_BASE_URL else TwilioHttpClient(
        timeout=REST_TIMEOUT_S)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)


T = TypeVar("T")


def rest(action: str, request: Callable[..., T], /, *args, **kwargs) -> T:
    """Run one SDK request; its failures become CarrierRestError."""
    try:
        return request(*args, **kwargs)
    except TwilioRestException as exc:
        # 4xx: the request itself is wrong (unknown number, call already ended); 429 and 5xx may pass later.
        status = exc.status or 0
        permanent = 400 <= status < 500 and status != 429
        raise CarrierRestError(f"twilio {action} failed: HTTP {status} {exc.msg}", carrier="twilio",
                               permanent=permanent) from exc
    except RequestException as exc:
        raise CarrierRestError(f"twilio {action} failed: {type(exc).__name__}: {exc}", carrier="twilio") from exc
