"""The operator's endpoints: /healthz (the process is up), /readyz (it can take calls), /metrics (Prometheus).

/readyz answers 503 while any check fails — the database, the channel layer, the speech models (warm-up) — or
while the process drains for a shutdown (calls.shutdown), so a load balancer sends its new calls elsewhere.
/metrics needs a bearer token (METRICS_TOKEN) or a staff login: it shows traffic and provider names.
"""

from __future__ import annotations

import hmac

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse

from calls import admission, live
from calls.telemetry import metrics
from calls.warmup import READY


def healthz(request):
    """Up: the process answers (degraded parts are reported, not failed; /readyz is the strict one)."""
    return JsonResponse({"ok": True, "warm": READY.is_set() or not settings.VOICEBOT_WARM_UP, "live": live.health(),
                         "draining": admission.draining(), "live_calls": admission.live_sessions()})


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True}
    except Exception as exc:  # any failure of the database is "not ready", with why
        return {"ok": False, "error": str(exc)[:200]}
    finally:
        connection.close_if_unusable_or_obsolete()


async def readyz(request):
    database = await sync_to_async(_database)()
    try:
        layer = await live.probe(timeout_s=1.0)
    except Exception as exc:
        layer = {"ok": False, "error": str(exc)[:200]}
    layer = {**layer, "ok": bool(layer.get("ok", True))}
    models = {"ok": READY.is_set() or not settings.VOICEBOT_WARM_UP}
    draining = admission.draining()
    checks = {"database": database, "channel_layer": layer, "models": models,
              "accepting_calls": {"ok": not draining}}
    ok = all(c["ok"] for c in checks.values())
    status = "ready" if ok else ("draining" if draining else "not-ready")
    return JsonResponse({"status": status, "checks": checks, "live_calls": admission.live_sessions()},
                        status=200 if ok else 503)


def metrics_view(request):
    if not _may_scrape(request):
        response = HttpResponse("metrics need a bearer token (METRICS_TOKEN) or a staff login\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)


def _may_scrape(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)
