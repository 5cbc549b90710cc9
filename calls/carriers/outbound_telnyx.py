"""Telnyx Call Control REST for the calls we dial, and for streams we (re)open: dial, start_streaming, speak, hang up.

A dialled call is placed *without* a stream: the stream token must be bound to the call_control_id, which the dial
response is the first to name. The stream starts with `start_streaming` once the callee answered (and AMD said
human) — the same request that reconnects a dropped stream (calls.resume). Its token travels as a stream custom
parameter, which Telnyx delivers as `start.custom_parameters`; `client_state` keeps our own reference to the row.

The client options mirror telnyx_control's (TELNYX_BASE_URL for the tests' fake), kept separate because that module
belongs to the inbound path; dialling also needs TELNYX_CONNECTION_ID (the Call Control application).
"""

from __future__ import annotations

import base64
import json

from django.conf import settings

from ..models import Call
from .common import public_url, stream_url
from .rest_errors import CarrierRestError, NotConfigured
from .telnyx_format import StreamFormat, stream_format

REST_TIMEOUT_S = 10.0
RING_TIMEOUT_S = 45
TIME_LIMIT_MARGIN_S = 60
VOICEMAIL_VOICE = "female"


def client_options() -> dict:
    if not settings.TELNYX_API_KEY:
        raise NotConfigured("Telnyx REST needs TELNYX_API_KEY", carrier="telnyx")
    options: dict = {"api_key": settings.TELNYX_API_KEY, "timeout": REST_TIMEOUT_S, "max_retries": 1}
    if settings.TELNYX_BASE_URL:
        options["base_url"] = settings.TELNYX_BASE_URL
    return options


def check_configured() -> None:
    client_options()
    if not settings.TELNYX_CONNECTION_ID:
        raise NotConfigured("Telnyx outbound calls need TELNYX_CONNECTION_ID (the Call Control application id)",
                            carrier="telnyx")


def encode_state(call_pk: int) -> str:
    return base64.b64encode(json.dumps({"call": call_pk}).encode()).decode()


def decode_state(client_state: object) -> int | None:
    """Our call pk from a webhook's `client_state`, or None (absent, not ours, malformed)."""
    try:
        state = json.loads(base64.b64decode(str(client_state or ""), validate=True))
    except ValueError:
        return None
    pk = state.get("call") if isinstance(state, dict) else None
    return pk if isinstance(pk, int) else None


def _failed(action: str, exc: Exception) -> CarrierRestError:
    status = getattr(exc, "status_code", None)
    detail = f"HTTP {status}" if status else type(exc).__name__
    permanent = status is not None and 400 <= status < 500 and status != 429
    return CarrierRestError(f"telnyx {action} failed: {detail}: {str(exc)[:200]}", carrier="telnyx",
                            permanent=permanent)


def dial(call: Call) -> str:
    """Place the call; returns its call_control_id. Events go to /telnyx/outbound/events."""
    import telnyx

    check_configured()
    amd = call.agent.machine_detection
    extra: dict = {}
    if amd != "off":
        # detect_beep goes on after the verdict to report the greeting's end, which is when to leave a message.
        extra["answering_machine_detection"] = "detect_beep" if amd == "message" else "detect"
    try:
        with telnyx.Telnyx(**client_options()) as client:
            response = client.calls.dial(
                connection_id=settings.TELNYX_CONNECTION_ID, from_=call.from_number, to=call.to_number,
                webhook_url=public_url("/telnyx/outbound/events"), webhook_url_method="POST",
                client_state=encode_state(call.pk), timeout_secs=RING_TIMEOUT_S,
                time_limit_secs=call.agent.max_duration_s + TIME_LIMIT_MARGIN_S, **extra,
            )
    except telnyx.APIError as exc:
        raise _failed("dial", exc) from exc
    call_control_id = response.data.call_control_id if response.data else None
    if not call_control_id:
        raise CarrierRestError("telnyx dial answered without a call_control_id", carrier="telnyx")
    return call_control_id


def start_stream(call: Call, token: str) -> None:
    """Open a bidirectional RTP media stream to us on a live call (after answer, or to resume a dropped one)."""
    import telnyx

    fmt: StreamFormat = stream_format(call.agent)
    try:
        with telnyx.Telnyx(**client_options()) as client:
            client.calls.actions.start_streaming(
                call.carrier_call_id, stream_url=stream_url("telnyx"),
                # Only the caller: streaming our own voice back to us would make the agent interrupt itself.
                stream_track="inbound_track", stream_codec=fmt.codec,
                stream_bidirectional_mode="rtp", stream_bidirectional_codec=fmt.codec,
                stream_bidirectional_sampling_rate=fmt.sample_rate,
                custom_parameters=[{"name": "token", "value": token}],
            )
    except telnyx.APIError as exc:
        raise _failed("start_streaming", exc) from exc


def speak(call: Call, text: str) -> None:
    import telnyx

    try:
        with telnyx.Telnyx(**client_options()) as client:
            client.calls.actions.speak(call.carrier_call_id, payload=text, voice=VOICEMAIL_VOICE, language="en-US")
    except telnyx.APIError as exc:
        raise _failed("speak", exc) from exc


def hang_up(call: Call) -> None:
    import telnyx

    try:
        with telnyx.Telnyx(**client_options()) as client:
            client.calls.actions.hangup(call.carrier_call_id)
    except telnyx.APIError as exc:
        raise _failed("hangup", exc) from exc
