"""Cold and warm transfers on both carriers, checked against the carrier rules: custom SIP headers start with
x-, never X-Twilio, one line each, length-limited; Twilio gets them URL-encoded in the SIP URI's query, Telnyx
as `custom_headers`; warm transfers play a signed, expiring summary to the person answering."""

from __future__ import annotations

import asyncio
import io
import time
import wave
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core import signing
from twilio.request_validator import RequestValidator

from calls.carriers import warm_transfer
from calls.carriers.telnyx.control import TelnyxCallControl
from calls.carriers.telnyx.transfer import build_telnyx_params, telnyx_transfer_params
from calls.carriers.transfer import (
    MAX_SIP_URI_CHARS,
    DetailedTransfer,
    HeaderError,
    TransferOptions,
    sip_headers,
    sip_uri_with_headers,
)
from calls.carriers.twilio.control import TwilioCallControl
from calls.carriers.twilio.transfer import build_twiml, twilio_transfer_twiml
from voicebot.testing.vendors.telnyx_rest import FakeTelnyx

OPTIONS = TransferOptions(mode="warm", intent="booking", slots={"name": "Peter Brown", "day": "Friday", "time": "3 pm"},
                          headers={"x-account": "A&B=1"})  # fmt: skip


def dial(twiml: str) -> ET.Element:
    root = ET.fromstring(twiml)
    assert root.tag == "Response" and len(root) == 1 and root[0].tag == "Dial"
    return root[0]


# ---------------------------------------------------------------- SIP header rules


def test_headers_carry_summary_intent_and_slots_by_the_rules():
    headers = sip_headers("Caller wants to book.\r\nX-Injected: 1", OPTIONS)
    assert headers == {
        "X-Summary": "Caller wants to book. X-Injected: 1",  # one line: no header injection
        "X-Intent": "booking", "X-Slot-Name": "Peter Brown", "X-Slot-Day": "Friday", "X-Slot-Time": "3 pm",
        "x-account": "A&B=1",
    }  # fmt: skip
    for name in headers:
        assert name.lower().startswith("x-") and not name.lower().startswith("x-twilio")
    assert len(sip_headers("word " * 500)["X-Summary"]) <= 200


@pytest.mark.parametrize("name", ["X-Twilio-Thing", "x-twilio", "Account", "X-", "x-bad name", "X-É"])
def test_forbidden_header_names_are_refused(name):
    with pytest.raises(HeaderError):
        sip_headers("s", TransferOptions(headers={name: "v"}))


def test_sip_uri_query_is_url_encoded_and_bounded():
    uri = sip_uri_with_headers("sip:desk@pbx.example;transport=tls", sip_headers("Needs a filling & more", OPTIONS))
    base, _, query = uri.partition("?")
    assert base == "sip:desk@pbx.example;transport=tls"
    assert " " not in query and "&more" not in query
    assert dict(parse_qsl(query)) == sip_headers("Needs a filling & more", OPTIONS)  # decodes back exactly
    long = sip_uri_with_headers("sip:desk@pbx.example", {"X-Summary": "é" * 200, "X-Slot-A": "b" * 200,
                                                          "X-Slot-B": "c" * 200, "X-Intent": "i"})  # fmt: skip
    assert len(long) <= MAX_SIP_URI_CHARS
    kept = dict(parse_qsl(urlsplit(long.replace("sip:", "sip://", 1)).query))
    assert kept["X-Intent"] == "i" and "X-Slot-B" not in kept  # slots go first, the summary is shortened last
    assert sip_uri_with_headers("sip:a@b?x-old=1", {"X-New": "2"}) == "sip:a@b?x-old=1&X-New=2"


# ---------------------------------------------------------------- Twilio


def test_twilio_cold_transfers():
    number = dial(build_twiml("+15550100001", "sum"))
    assert [(c.tag, c.text, c.attrib) for c in number] == [("Number", "+15550100001", {})]
    sip = dial(build_twiml("sip:desk@pbx.example", "Wants a cleaning", TransferOptions(intent="booking")))
    assert sip[0].tag == "Sip" and "url" not in sip[0].attrib
    assert sip[0].text == "sip:desk@pbx.example?X-Summary=Wants%20a%20cleaning&X-Intent=booking"


def test_twilio_warm_transfer_whispers_a_signed_summary(settings):
    settings.PUBLIC_BASE_URL = "https://bot.example"
    for target in ("+15550100001", "sip:desk@pbx.example"):
        noun = dial(twilio_transfer_twiml(target, "Peter wants Friday", OPTIONS))[0]
        url = noun.attrib["url"]
        assert url.startswith("https://bot.example/twilio/whisper?t=") and noun.attrib["method"] == "POST"
        assert warm_transfer.read_summary(dict(parse_qsl(urlsplit(url).query))["t"]) == "Peter wants Friday"


def test_twilio_control_updates_the_live_call(monkeypatch, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_CREDENTIALS_ARE_REAL = "AC" + "0" * 32, True
    updates: list = []

    async def update(self, action, call_id, **fields):
        updates.append((action, call_id, fields))

    monkeypatch.setattr(TwilioCallControl, "_update", update)
    control = TwilioCallControl()
    asyncio.run(control.transfer("CA1", "sip:desk@pbx.example", "sum", OPTIONS))
    asyncio.run(control.transfer("CA1", "+15550100001", "sum"))
    (action, call_id, fields), (_, _, cold) = updates
    assert (action, call_id) == ("transfer", "CA1") and "X-Slot-Name=Peter%20Brown" in fields["twiml"]
    assert "/twilio/whisper?t=" in fields["twiml"]
    assert cold["twiml"].endswith("<Dial><Number>+15550100001</Number></Dial></Response>")


def test_twilio_whisper_endpoint_checks_both_signatures(client, settings):
    token = warm_transfer.sign_summary("Peter wants Friday at 3 pm")
    path = f"/twilio/whisper?t={token}"
    params = {"CallSid": "CA2", "CallStatus": "in-progress"}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(settings.PUBLIC_BASE_URL + path, params)
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    say = ET.fromstring(response.content).find("Say")
    assert say.text == "Incoming transfer from the voice assistant. Peter wants Friday at 3 pm"
    assert client.post(path, params, HTTP_X_TWILIO_SIGNATURE="bad").status_code == 403
    forged = "/twilio/whisper?t=" + signing.dumps({"s": "Say something rude"}, salt="other")
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    signature = validator.compute_signature(settings.PUBLIC_BASE_URL + forged, params)
    assert client.post(forged, params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403


# ---------------------------------------------------------------- Telnyx


def test_telnyx_parameters():
    assert build_telnyx_params("+15550100001", "sum") == {"to": "+15550100001"}  # PSTN: no SIP headers
    params = build_telnyx_params("sip:desk@pbx.example", "sum", OPTIONS, audio_url="https://bot.example/a.wav")
    assert params["to"] == "sip:desk@pbx.example" and params["audio_url"] == "https://bot.example/a.wav"
    assert params["custom_headers"][:2] == [{"name": "X-Summary", "value": "sum"},
                                            {"name": "X-Intent", "value": "booking"}]
    assert all(h["name"].lower().startswith("x-") for h in params["custom_headers"])


def test_telnyx_warm_transfer_through_the_sdk(settings):
    settings.PUBLIC_BASE_URL = "https://bot.example"
    with FakeTelnyx() as fake:
        settings.TELNYX_API_KEY, settings.TELNYX_BASE_URL = "KEY0123456789", fake.base_url
        asyncio.run(TelnyxCallControl().transfer("v3:abc", "sip:desk@pbx.example", "Peter, Friday", OPTIONS))
        (call_id, command, body), = fake.commands()
    assert (call_id, command) == ("v3:abc", "transfer")
    assert body["audio_url"].startswith("https://bot.example/telnyx/whisper.wav?t=")
    assert {"name": "X-Slot-Day", "value": "Friday"} in body["custom_headers"]
    assert telnyx_transfer_params("+1555", "s", TransferOptions()) == {"to": "+1555"}  # cold: no audio


def test_telnyx_whisper_audio_is_a_wav_of_the_summary(client):
    response = client.get(f"/telnyx/whisper.wav?t={warm_transfer.sign_summary('Peter wants Friday')}")
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert wav.getnchannels() == 1 and wav.getnframes() / wav.getframerate() > 1.0
    assert client.get("/telnyx/whisper.wav?t=forged").status_code == 403


def test_whisper_tokens_expire(monkeypatch):
    token = warm_transfer.sign_summary("old news")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + warm_transfer.MAX_AGE_S + 5)
    assert warm_transfer.read_summary(token) is None


def test_detailed_transfer_is_still_a_transfer():
    from calls.providers.base import Transfer

    action = DetailedTransfer(target="sip:a@b", summary="s", options=OPTIONS)
    assert isinstance(action, Transfer) and action.options.mode == "warm"
