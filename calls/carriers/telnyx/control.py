"""Telnyx Call Control REST through the `telnyx` SDK: answer with a media stream, reject, hang up, transfer.

Only used when TELNYX_API_KEY is set (client options: rest.py). The SDK is imported lazily: it is large (seconds
to import) and most processes never need it. Failures are ProviderErrors, which the session reports and survives.

The ids are call_control_ids. A Call Control call is stored under its call_control_id; a TeXML call under its
CallSid, which Telnyx's SDK samples show in the same `v3:` form (that the two are interchangeable for Call
Control commands is not verified — a failed command is reported and the session still closes the stream, after
which the TeXML `<Hangup/>` ends the call).
"""

from __future__ import annotations

from django.conf import settings

from ...providers.base import ProviderError
from ..base import CallControl
from ..common import stream_url
from . import client_state, rest
from .stream_format import StreamFormat
from .transfer import telnyx_transfer_params


def _failed(action: str, exc: Exception) -> ProviderError:
    return ProviderError(rest.failure(action, exc), provider="telnyx", permanent=rest.http_status(exc) in (401, 403))


def answer_with_stream(call_control_id: str, token: str, fmt: StreamFormat) -> None:
    """Answer an incoming call and open a bidirectional RTP media stream to us in one command.

    The stream token travels in `client_state`: answer() has no stream `custom_parameters` and no
    `stream_auth_token` (only dial/start_streaming do), and Telnyx repeats client_state in the stream's `start`.
    """
    import telnyx

    try:
        with telnyx.Telnyx(**rest.options()) as client:
            client.calls.actions.answer(
                call_control_id,
                stream_url=stream_url("telnyx"),
                # Only the caller: streaming our own voice back to us would make the agent interrupt itself.
                stream_track="inbound_track",
                stream_codec=fmt.codec,
                # mp3 is Telnyx's default; rtp takes raw frames in the codec below, which is what we send.
                stream_bidirectional_mode="rtp",
                stream_bidirectional_codec=fmt.codec,
                client_state=client_state.encode_token(token),
                # answer() in SDK 4.189 has no parameter for the rate (dial and start_streaming do); the API field
                # is the same, so it goes in the body as is.
                extra_body={"stream_bidirectional_sampling_rate": fmt.sample_rate},
            )
    except telnyx.APIError as exc:
        raise _failed("answer", exc) from exc


def reject(call_control_id: str) -> None:
    import telnyx

    try:
        with telnyx.Telnyx(**rest.options()) as client:
            client.calls.actions.reject(call_control_id, cause="CALL_REJECTED")
    except telnyx.APIError as exc:
        raise _failed("reject", exc) from exc


class TelnyxCallControl(CallControl):
    """Hang-up and transfer on a live call. One short-lived client per command: they are rare, once a call."""

    async def hang_up(self, call_id: str) -> None:
        import telnyx

        try:
            async with telnyx.AsyncTelnyx(**rest.options()) as client:
                await client.calls.actions.hangup(call_id)
        except telnyx.APIError as exc:
            raise _failed("hang-up", exc) from exc

    async def transfer(self, call_id: str, target: str, summary: str = "", options=None) -> None:
        import telnyx

        params = telnyx_transfer_params(target, summary, options)  # cold/warm, SIP headers: transfer.py
        try:
            async with telnyx.AsyncTelnyx(**rest.options()) as client:
                await client.calls.actions.transfer(call_id, **params)
        except telnyx.APIError as exc:
            raise _failed("transfer", exc) from exc


def telnyx_control() -> CallControl | None:
    return TelnyxCallControl() if settings.TELNYX_API_KEY else None
