"""Telnyx Call Control REST for the calls we dial, and for streams we (re)open: dial, start_streaming, speak, hang up.

A dialled call is placed *without* a stream: the stream token must be bound to the call_control_id, which the dial
response is the first to name. The stream starts with `start_streaming` once the callee answered (and AMD said
human) — the same request that reconnects a dropped stream (calls.resume). Its token travels as a stream custom
parameter, which Telnyx delivers as `start.custom_parameters`; `client_state` keeps our own reference to the row
(client_state.py).

Failures are CarrierRestErrors (rest.py). Dialling also needs TELNYX_CONNECTION_ID (the Call Control application).
"""

from __future__ import annotations

from django.conf import settings

from ...models import Call
from ..common import public_url, stream_url
from ..rest_errors import CarrierRestError, NotConfigured
from . import client_state
from .rest import client_options, rest_error
from .stream_format import StreamFormat, stream_format

RING_TIMEOUT_S = 45
TIME_LIMIT_MARGIN_S = 60
VOICEMAIL_VOICE = "female"


def check_configured() -> None:
    client_options()
    if not settings.TELNYX_CONNECTION_ID:
        raise NotConfigured("Telnyx outbound calls need TELNYX_CONNECTION_ID (the Call Control application id)",
                            carrier="telnyx")


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
                client_state=client_state.encode_call(call.pk), timeout_secs=RING_TIMEOUT_S,
                time_limit_secs=call.agent.max_duration_s + TIME_LIMIT_MARGIN_S, **extra,
            )
    except telnyx.APIError as exc:
        raise rest_error("dial", exc) from exc
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
        raise rest_error("start_streaming", exc) from exc


def speak(call: Call, text: str) -> None:
    import telnyx

    try:
        with telnyx.Telnyx(**client_options()) as client:
            client.calls.actions.speak(call.carrier_call_id, payload=text, voice=VOICEMAIL_VOICE,
                                       language=call.agent.language)
    except telnyx.APIError as exc:
        raise rest_error("speak", exc) from exc


def hang_up(call: Call) -> None:
    import telnyx

    try:
        with telnyx.Telnyx(**client_options()) as client:
            client.calls.actions.hangup(call.carrier_call_id)
    except telnyx.APIError as exc:
        raise rest_error("hangup", exc) from exc
