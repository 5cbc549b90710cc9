"""Twilio and Telnyx webhooks, fed forged, replayed and random requests: a bad signature is always a 403 that
changes nothing, and any body under a valid signature gets a TwiML/TeXML answer, a 204 or a clean 4xx — never a
500 — while the calls already stored stay as they were."""

from __future__ import annotations

import base64
import json
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from calls.carriers.telnyx.signature import MAX_AGE_S, MAX_SKEW_S, sign
from calls.models import Agent, Call, PhoneNumber, Turn, Workspace
from tests import tally

from .messages import json_values, mutated

NUMBER = "+15550100000"
KEY = SigningKey.generate()
PRIVATE = base64.b64encode(bytes(KEY)).decode()
PUBLIC = base64.b64encode(bytes(KEY.verify_key)).decode()
EVENTS = [json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "telnyx" / name).read_text())
          for name in ("call_initiated.json", "call_hangup.json")]
EXAMPLES = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
FORM = "application/x-www-form-urlencoded"

keys = st.one_of(st.sampled_from(["CallSid", "To", "From", "Direction", "CallStatus", "CallDuration", "AccountSid"]),
                 st.text(max_size=12))
values = st.one_of(st.sampled_from([NUMBER, "", "outbound-api", "inbound", "completed", "busy", "CA1", "-5", "x" * 300]),
                   st.text(max_size=40))
form_pairs = st.lists(st.tuples(keys, values), max_size=10)
query_pairs = st.lists(st.tuples(st.text(max_size=6), st.text(max_size=10)), max_size=3)


@pytest.fixture
def stored(transactional_db, settings):
    settings.TELNYX_PUBLIC_KEY = PUBLIC
    settings.TELNYX_API_KEY = ""
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hi")
    for carrier in ("twilio", "telnyx"):
        PhoneNumber.objects.create(workspace=ws, e164=NUMBER, carrier=carrier, agent=agent)
    call = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA-stored",
                               status="completed", end_reason="caller-hung-up")
    at = timezone.now() - timedelta(minutes=5)
    for index in range(3):
        Turn.objects.create(call=call, index=index, role="agent", text=f"turn {index}", started_at=at, ended_at=at)
    return call


def assert_stored_intact(call: Call) -> None:
    fresh = Call.objects.get(pk=call.pk)
    assert (fresh.status, fresh.end_reason) == ("completed", "caller-hung-up")
    assert list(Turn.objects.filter(call=call).values_list("text", flat=True)) == ["turn 0", "turn 1", "turn 2"]


def assert_clean_answer(resp, path: str) -> None:
    assert resp.status_code < 500, (path, resp.status_code, resp.content[:300])
    if resp.status_code == 200:
        root = ET.fromstring(resp.content)
        assert root.tag == "Response" and (root.find("./Connect/Stream") is not None or root.find("Hangup") is not None)
    else:
        assert resp.status_code in (204, 400, 403, 405), (path, resp.status_code)


def twilio_signature(path: str, pairs) -> str:
    from django.http import QueryDict

    return RequestValidator(django_settings.TWILIO_AUTH_TOKEN).compute_signature(
        django_settings.PUBLIC_BASE_URL + path, QueryDict(urlencode(pairs)))


# ---------------------------------------------------------------------------------------------------- Twilio


def test_twilio_forged_signatures_are_refused_and_change_nothing(client, stored):
    @EXAMPLES
    @given(path=st.sampled_from(["/twilio/voice", "/twilio/status"]), pairs=form_pairs,
           signature=st.one_of(st.text(max_size=40), st.text(alphabet="ABCDEFabcdef0123456789+/=", min_size=27,
                                                                   max_size=28)))
    def check(path, pairs, signature):
        tally.ran("badinput", "twilio_webhooks")
        calls = Call.objects.count()
        resp = client.post(path, urlencode(pairs), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)
        assert resp.status_code == 403
        assert Call.objects.count() == calls
        assert_stored_intact(stored)

    check()


def test_twilio_a_signature_replayed_on_other_params_or_another_url_is_refused(client, stored):
    @EXAMPLES
    @given(signed=form_pairs, sent=form_pairs, swap_path=st.booleans())
    def check(signed, sent, swap_path):
        tally.ran("badinput", "twilio_webhooks")
        signature = twilio_signature("/twilio/voice", signed)
        if not swap_path and twilio_signature("/twilio/voice", sent) == signature:
            return  # the same parameters (in another order): that is the signed request itself
        path = "/twilio/status" if swap_path else "/twilio/voice"
        calls = Call.objects.count()
        resp = client.post(path, urlencode(sent), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)
        assert resp.status_code == 403
        assert Call.objects.count() == calls
        assert_stored_intact(stored)

    check()


def test_twilio_any_validly_signed_form_gets_twiml_or_a_clean_4xx(client, stored):
    @EXAMPLES
    @given(path=st.sampled_from(["/twilio/voice", "/twilio/status"]), pairs=form_pairs, query=query_pairs)
    def check(path, pairs, query):
        tally.ran("badinput", "twilio_webhooks")
        full = path + ("?" + urlencode(query) if query else "")
        resp = client.post(full, urlencode(pairs), content_type=FORM,
                           HTTP_X_TWILIO_SIGNATURE=twilio_signature(full, pairs))
        assert resp.status_code != 403, "a valid signature was refused"
        assert_clean_answer(resp, full)
        if dict(pairs).get("CallSid") != "CA-stored":
            assert_stored_intact(stored)

    check()


# ---------------------------------------------------------------------------------------------------- Telnyx


def telnyx_headers(body: bytes, at: int | None = None, private: str = PRIVATE) -> dict:
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sign(body, private, at).items()}


telnyx_bodies = st.one_of(
    form_pairs.map(lambda pairs: urlencode(pairs).encode()),
    st.sampled_from(EVENTS).flatmap(mutated).map(lambda m: json.dumps(m, allow_nan=True).encode()),
    json_values.map(lambda v: json.dumps({"data": v}, allow_nan=True).encode()),
    st.binary(max_size=200),
    st.integers(500, 50_000).map(lambda n: b"[" * n),
    st.integers(500, 50_000).map(lambda n: b'{"data":' * n),
)
telnyx_paths = st.sampled_from(["/telnyx/texml", "/telnyx/status", "/telnyx/events"])


def test_telnyx_forged_signatures_are_refused_and_change_nothing(client, stored):
    @EXAMPLES
    @given(path=telnyx_paths, body=telnyx_bodies, signature=st.one_of(
        st.text(max_size=100), st.binary(min_size=64, max_size=64).map(lambda b: base64.b64encode(b).decode())),
        stamp=st.one_of(st.text(max_size=12), st.integers(-(2**40), 2**40).map(str), st.just(str(int(time.time())))))
    def check(path, body, signature, stamp):
        tally.ran("badinput", "telnyx_webhooks")
        calls = Call.objects.count()
        resp = client.post(path, body, content_type=FORM if path != "/telnyx/events" else "application/json",
                           HTTP_TELNYX_SIGNATURE_ED25519=signature, HTTP_TELNYX_TIMESTAMP=stamp)
        assert resp.status_code == 403
        assert Call.objects.count() == calls
        assert_stored_intact(stored)

    check()


def test_telnyx_replayed_stale_future_or_other_body_signatures_are_refused(client, stored):
    other_key = base64.b64encode(bytes(SigningKey.generate())).decode()

    @EXAMPLES
    @given(path=telnyx_paths, signed=telnyx_bodies, sent=telnyx_bodies, how=st.sampled_from(
        ["stale", "future", "other_body", "other_key"]), by=st.integers(1, 10**6))
    def check(path, signed, sent, how, by):
        tally.ran("badinput", "telnyx_webhooks")
        now = int(time.time())
        if how == "stale":
            headers, body = telnyx_headers(signed, now - MAX_AGE_S - by), signed
        elif how == "future":
            headers, body = telnyx_headers(signed, now + MAX_SKEW_S + 5 + by), signed
        elif how == "other_key":
            headers, body = telnyx_headers(signed, now, other_key), signed
        else:
            if sent == signed:
                return
            headers, body = telnyx_headers(signed, now), sent
        calls = Call.objects.count()
        resp = client.post(path, body, content_type=FORM, **headers)
        assert resp.status_code == 403
        assert Call.objects.count() == calls
        assert_stored_intact(stored)

    check()


def test_telnyx_any_validly_signed_body_gets_texml_a_204_or_a_clean_4xx(client, stored):
    @EXAMPLES
    @given(path=telnyx_paths, body=telnyx_bodies, json_type=st.booleans())
    def check(path, body, json_type):
        tally.ran("badinput", "telnyx_webhooks")
        resp = client.post(path, body, content_type="application/json" if json_type else FORM,
                           **telnyx_headers(body))
        assert resp.status_code != 403, "a valid signature was refused"
        assert_clean_answer(resp, path)
        assert_stored_intact(stored)

    check()
