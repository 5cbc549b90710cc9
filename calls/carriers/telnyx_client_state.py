"""The stream token inside Telnyx `client_state` (Call Control answers carry no stream `<Parameter>`).

`client_state` must be base64; Telnyx echoes it in the media stream's `start` and in later call webhooks. A JSON
object inside leaves room for other state and lets us tell our own value from anything else found there.
"""

from __future__ import annotations

import base64
import binascii
import json


def encode_token(token: str) -> str:
    return base64.b64encode(json.dumps({"stream_token": token}).encode()).decode()


def decode_token(client_state: object) -> str:
    """The stream token in a `client_state`, or "" when there is none (absent, not ours, malformed)."""
    if not isinstance(client_state, str) or not client_state:
        return ""
    try:
        state = json.loads(base64.b64decode(client_state, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return ""
    token = state.get("stream_token") if isinstance(state, dict) else None
    return token if isinstance(token, str) else ""
