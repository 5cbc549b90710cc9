"""/healthz, /readyz and /metrics through the real ASGI app: readiness checks and "draining", and metrics that
refuse anonymous and non-staff access."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from calls import admission, warmup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean():
    admission.reset()
    yield
    admission.reset()


def test_healthz_says_the_process_is_up():
    body = Client().get("/healthz").json()
    assert body["ok"] is True and body["draining"] is False and body["live_calls"] == 0


def test_readyz_is_ready_with_every_check_passing_and_503_draining_once_shutdown_began(settings):
    settings.VOICEBOT_WARM_UP = False
    ready = Client().get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert {name for name, check in body["checks"].items() if check["ok"]} == {
        "database", "channel_layer", "models", "accepting_calls"}

    admission.start_draining()
    draining = Client().get("/readyz")
    assert draining.status_code == 503
    assert draining.json()["status"] == "draining" and draining.json()["checks"]["accepting_calls"] == {"ok": False}
    assert Client().get("/healthz").json()["draining"] is True  # still up: it is finishing its calls


def test_readyz_is_not_ready_until_the_models_are_loaded(settings, monkeypatch):
    settings.VOICEBOT_WARM_UP = True
    monkeypatch.setattr(warmup, "READY", type(warmup.READY)())  # a fresh, unset event
    monkeypatch.setattr("voicebot.ops.READY", warmup.READY)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not-ready" and response.json()["checks"]["models"] == {"ok": False}
    warmup.READY.set()
    assert Client().get("/readyz").status_code == 200


def test_readyz_is_not_ready_without_the_database(settings, monkeypatch):
    settings.VOICEBOT_WARM_UP = False

    def broken(self, *args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", broken)
    response = Client().get("/readyz")
    assert response.status_code == 503
    database = response.json()["checks"]["database"]
    assert database["ok"] is False and "connection refused" in database["error"]


def test_readyz_is_not_ready_while_the_redis_channel_layer_is_down_and_ready_again_once_it_is_back(settings,
                                                                                                     monkeypatch):
    from calls import live
    from voicebot.testing.server import free_port

    settings.VOICEBOT_WARM_UP = False
    monkeypatch.setattr(live, "HEALTH", live.LayerHealth())  # this test's own view of the layer
    # Redis that is not there: nothing listens on this port.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]}}}
    response = Client().get("/readyz")
    assert response.status_code == 503, response.json()
    body = response.json()
    assert body["status"] == "not-ready"
    assert body["checks"]["channel_layer"]["ok"] is False and body["checks"]["channel_layer"]["last_error"]
    assert body["checks"]["database"]["ok"] is True and body["checks"]["accepting_calls"]["ok"] is True
    assert Client().get("/healthz").status_code == 200  # the process itself is up

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert Client().get("/readyz").status_code == 200


def test_metrics_refuse_anonymous_and_non_staff_and_serve_a_token_or_staff(settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    anonymous = Client().get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert b"voicebot_" not in anonymous.content
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401

    member = Client()
    member.force_login(User.objects.create_user("member", password="x"))
    assert member.get("/metrics").status_code == 401

    scraped = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert scraped.status_code == 200 and scraped["Content-Type"].startswith("text/plain")
    text = scraped.content.decode()
    for name in ("voicebot_live_calls", "voicebot_calls_admitted_total", "voicebot_turn_latency_seconds",
                 "voicebot_barge_ins_total", "voicebot_provider_errors_total", "voicebot_webhook_seconds",
                 "voicebot_db_queue_depth"):
        assert name in text, name

    staff = Client()
    staff.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    assert staff.get("/metrics").status_code == 200


def test_without_a_token_configured_no_bearer_is_accepted(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_admission_counts_refusals_while_draining(settings):
    from prometheus_client import REGISTRY

    before = REGISTRY.get_sample_value("voicebot_calls_admitted_total", {"where": "webhook"}) or 0.0
    assert admission.admit("CA-ok").admit
    assert REGISTRY.get_sample_value("voicebot_calls_admitted_total", {"where": "webhook"}) == before + 1
    admission.start_draining()
    decision = admission.admit("CA-late")
    assert not decision.admit and decision.detail["draining"] is True
    assert not admission.admit_stream("CA-ok").admit


def test_the_grafana_dashboard_queries_only_metrics_the_app_exports(settings):
    settings.METRICS_TOKEN = "t"
    exported = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    names = {line.split("{")[0].split(" ")[0] for line in exported.splitlines() if line.startswith("voicebot_")}
    names |= {line.split()[2] for line in exported.splitlines() if line.startswith("# TYPE voicebot_")}
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"voicebot_[a-z_]+", target["expr"])}
    assert queried and {q for q in queried if not any(q.startswith(n) for n in names)} == set()
    kinds = {name: line.split()[3] for line in exported.splitlines() if line.startswith("# TYPE ")
             for name in [line.split()[2]]}
    # Counters are queried as *_total, histograms through *_bucket.
    for name in queried:
        if name.endswith("_bucket"):
            assert kinds[name.removesuffix("_bucket")] == "histogram", name
        elif name.endswith("_total"):
            assert kinds[name] == "counter", name
