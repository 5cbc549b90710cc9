"""ASGI entry: HTTP goes to Django (carrier webhooks without the browser middleware), carrier media sockets to the
call engine, dashboard sockets behind a login."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicebot.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from calls.consumers import MediaStreamConsumer  # noqa: E402
from voicebot.carrier_http import route_http  # noqa: E402

websocket_routes = [
    # Carrier sockets carry no cookie: the single-use stream token inside the stream is their authentication.
    path("media/<str:carrier>", MediaStreamConsumer.as_asgi()),
]

try:
    from dashboard.routing import websocket_urlpatterns as dashboard_routes  # noqa: E402
except ImportError:
    dashboard_routes = []

from django.conf import settings  # noqa: E402

from calls.telemetry import tracing  # noqa: E402

tracing.configure()  # OTLP traces when the OTEL_* environment asks for them; nothing otherwise

if settings.VOICEBOT_WARM_UP:
    from calls.warmup import warm_up_in_background  # noqa: E402

    warm_up_in_background()

if settings.VOICEBOT_INSTANCE_HEARTBEAT:
    from calls.instances import start_heartbeat  # noqa: E402

    start_heartbeat()  # and, right after the first beat, close the calls a crashed predecessor left open

from calls.session import factory as _session_factory  # noqa: E402, F401  (the call path, imported before the freeze)
from calls.shutdown import graceful  # noqa: E402

# graceful(): SIGTERM drains the live calls first (calls/shutdown.py); it also answers the lifespan protocol.
application = graceful(ProtocolTypeRouter(
    {
        # Carrier webhooks skip the dashboard's middleware (voicebot/carrier_http.py).
        "http": route_http(django_app),
        "websocket": URLRouter(websocket_routes + [re_path(r"^", AuthMiddlewareStack(URLRouter(dashboard_routes)))]
                               if dashboard_routes else websocket_routes),
    }
))

# What imports and set-up made lives as long as the process (~190 000 objects): moved out of the cyclic collector's
# sight, a full collection no longer walks them all — ~75 ms with the event loop stopped, every call's audio waiting,
# which was the tail of the realtime bench (docs/benchmarks.md). Objects made later are collected as before.
gc.freeze()

