"""Telnyx Ed25519 webhook signatures: good, bad, missing, stale, future, tampered; the local key pair."""

from __future__ import annotations

import base64
import os
import time

import pytest
from nacl.signing import SigningKey

from calls.carriers.telnyx.signature import MAX_AGE_S, MAX_SKEW_S, SignatureError, sign, verify
from voicebot.env import local_ed25519_keypair

BODY = b"CallSid=v3%3Aabc&From=%2B15557654321&To=%2B15550100000&CallStatus=ringing"


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    key = SigningKey.generate()
    return base64.b64encode(bytes(key)).decode(), base64.b64encode(bytes(key.verify_key)).decode()


def headers(private: str, body: bytes = BODY, at: float | None = None) -> tuple[str, str]:
    signed = sign(body, private, int(time.time() if at is None else at))
    return signed["telnyx-signature-ed25519"], signed["telnyx-timestamp"]


def test_a_good_signature_verifies(keys):
    private, public = keys
    signature, stamp = headers(private)
    verify(BODY, signature, stamp, public)


def test_signature_matches_a_hand_made_one(keys):
    """What Telnyx does, spelled out: Ed25519 over the ASCII timestamp, a pipe, and the raw body bytes."""
    private, public = keys
    stamp = str(int(time.time()))
    raw = SigningKey(base64.b64decode(private)).sign(stamp.encode() + b"|" + BODY).signature
    verify(BODY, base64.b64encode(raw).decode(), stamp, public)


def test_non_utf8_body_is_verified_over_its_bytes(keys):
    private, public = keys
    body = b"From=%2B1&Name=\xe9t\xe9"  # latin-1 bytes: a verifier that decodes text first would choke
    signature, stamp = headers(private, body)
    verify(body, signature, stamp, public)


def test_signature_from_another_key_is_refused(keys):
    _, public = keys
    other = base64.b64encode(bytes(SigningKey.generate())).decode()
    signature, stamp = headers(other)
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, signature, stamp, public)


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_missing_or_malformed_signature_is_refused(keys, signature):
    with pytest.raises(SignatureError):
        verify(BODY, signature, str(int(time.time())), keys[1])


@pytest.mark.parametrize("stamp", ["", "yesterday"])
def test_missing_or_malformed_timestamp_is_refused(keys, stamp):
    signature, _ = headers(keys[0])
    with pytest.raises(SignatureError):
        verify(BODY, signature, stamp, keys[1])


def test_stale_timestamp_is_refused_even_with_a_valid_signature(keys):
    private, public = keys
    then = time.time() - MAX_AGE_S - 5
    signature, stamp = headers(private, at=then)
    with pytest.raises(SignatureError, match="stale"):
        verify(BODY, signature, stamp, public)
    verify(BODY, signature, stamp, public, now=then + 1)  # the same request, on time, was fine


def test_timestamp_from_the_future_is_refused_beyond_a_small_skew(keys):
    private, public = keys
    signature, stamp = headers(private, at=time.time() + MAX_SKEW_S + 30)
    with pytest.raises(SignatureError, match="future"):
        verify(BODY, signature, stamp, public)
    signature, stamp = headers(private, at=time.time() + MAX_SKEW_S / 2)
    verify(BODY, signature, stamp, public)


def test_tampered_body_or_timestamp_is_refused(keys):
    private, public = keys
    signature, stamp = headers(private)
    with pytest.raises(SignatureError):
        verify(BODY.replace(b"%2B15550100000", b"%2B15550000000"), signature, stamp, public)
    with pytest.raises(SignatureError):
        verify(BODY, signature, str(int(stamp) - 1), public)


def test_an_unusable_public_key_refuses_everything(keys):
    signature, stamp = headers(keys[0])
    with pytest.raises(SignatureError, match="TELNYX_PUBLIC_KEY"):
        verify(BODY, signature, stamp, "bm90IGEga2V5")


def test_local_key_pair_is_generated_once_and_is_a_real_pair(tmp_path):
    private, public = local_ed25519_keypair(tmp_path)
    assert local_ed25519_keypair(tmp_path) == (private, public)
    assert base64.b64encode(bytes(SigningKey(base64.b64decode(private)).verify_key)).decode() == public
    signature, stamp = headers(private)
    verify(BODY, signature, stamp, public)
    assert local_ed25519_keypair(tmp_path / "other") != (private, public)


def test_settings_check_against_the_local_pair_without_a_portal_key(settings):
    """No TELNYX_PUBLIC_KEY in the environment: the generated pair's public key is the one checked."""
    if os.environ.get("TELNYX_PUBLIC_KEY"):
        pytest.skip("a portal key is configured")
    _, public = local_ed25519_keypair(settings.VAR_DIR)
    assert settings.TELNYX_PUBLIC_KEY == public
