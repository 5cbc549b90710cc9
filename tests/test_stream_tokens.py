"""Stream tokens: bound to one call, short-lived, single use."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync

from calls import stream_tokens
from calls.models import Agent, Call, Workspace


def test_a_fresh_token_verifies_and_names_its_call():
    token, nonce = stream_tokens.issue("CA1")
    claim = stream_tokens.verify(token)
    assert (claim.call_id, claim.nonce) == ("CA1", nonce)


def test_an_expired_token_is_refused():
    token, _ = stream_tokens.issue("CA1", ttl_s=10, now=time.time() - 60)
    with pytest.raises(stream_tokens.TokenError, match="expired"):
        stream_tokens.verify(token)


def test_a_tampered_token_is_refused():
    token, _ = stream_tokens.issue("CA1")
    other, _ = stream_tokens.issue("CA2")
    forged = other.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(stream_tokens.TokenError, match="signature"):
        stream_tokens.verify(forged)
    with pytest.raises(stream_tokens.TokenError, match="malformed"):
        stream_tokens.verify("garbage")


@pytest.mark.django_db(transaction=True)
def test_a_token_opens_its_call_once():
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A")
    token, nonce = stream_tokens.issue("CA9")
    Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA9", stream_nonce=nonce)
    call = async_to_sync(stream_tokens.consume)(token, "twilio")
    assert call.carrier_call_id == "CA9"
    with pytest.raises(stream_tokens.TokenError, match="already used"):
        async_to_sync(stream_tokens.consume)(token, "twilio")


@pytest.mark.django_db(transaction=True)
def test_a_token_for_one_carrier_does_not_open_another():
    ws = Workspace.objects.create(name="W", slug="w")
    token, nonce = stream_tokens.issue("CA9")
    Call.objects.create(workspace=ws, carrier="twilio", carrier_call_id="CA9", stream_nonce=nonce)
    with pytest.raises(stream_tokens.TokenError):
        async_to_sync(stream_tokens.consume)(token, "telnyx")
