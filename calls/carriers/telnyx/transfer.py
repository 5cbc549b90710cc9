"""Transfers on Telnyx: the parameters of the Call Control `transfer` command, cold or warm, to a phone number or
a SIP address. The SIP header rules are carrier-neutral (../transfer.py); on Telnyx the headers are the command's
`custom_headers`. A warm transfer adds the signed `audio_url` played to the callee first (warm_transfer.py)."""

from __future__ import annotations

from ..transfer import TransferOptions, is_sip, sip_headers
from . import warm_transfer


def build_telnyx_params(target: str, summary: str, options: TransferOptions | None = None,
                        audio_url: str | None = None) -> dict:
    """Keyword arguments for `client.calls.actions.transfer(call_control_id, **params)`."""
    options = options or TransferOptions()
    params: dict = {"to": target.strip()}
    if is_sip(target):
        headers = sip_headers(summary, options)
        if headers:
            params["custom_headers"] = [{"name": name, "value": value} for name, value in headers.items()]
    if audio_url:
        params["audio_url"] = audio_url
    return params


def telnyx_transfer_params(target: str, summary: str, options: TransferOptions | None = None) -> dict:
    warm = options is not None and options.mode == "warm"
    return build_telnyx_params(target, summary, options, warm_transfer.audio_url(summary) if warm else None)
