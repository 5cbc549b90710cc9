"""What we keep in a Telnyx call's `client_state`: the stream token of a call we answer, our row of a call we dial.

`client_state` must be base64; Telnyx echoes it in the media stream's `start` and in every later event of the call.
A JSON object inside leaves room for other state and lets us tell our own value from anything else found there.

- Answered calls (Call Control): the stream token rides here, because a Call Control answer carries no stream
  `<Parameter>` (control.answer_with_stream; read back by media.py from the stream's `start`).
- Dialled calls: our Call's pk, set at dial time (outbound.dial), finds the row for each event (outbound_hooks.py).
"""

from __future__ import annotations

import base64
import json


def _encode(state: dict) -> str:
    return base64.b64encode(json.dumps(state).encode()).decode()


def _decode(client_state: object) -> dict:
    """The JSON object in a `client_state`, or {} (absent, not base64, not JSON, not an object)."""
    if not isinstance(client_state, str) or not client_state:
        return {}
    try:
        state = json.loads(base64.b64decode(client_state, validate=True))
    except ValueError:  # binascii.Error, JSONDecodeError and UnicodeDecodeError are all ValueErrors
        return {}
    return state if isinstance(state, dict) else {}


def encode_token(token: str) -> str:
    return _encode({"stream_token": token})


def decode_token(client_state: object) -> str:
    """The stream token in a `client_state`, or "" when there is none (absent, not ours, malformed)."""
    token = _decode(client_state).get("stream_token")
    return token if isinstance(token, str) else ""


def encode_call(call_pk: int) -> str:
    return _encode({"call": call_pk})


def decode_call(client_state: object) -> int | None:
    """Our call pk from a webhook's `client_state`, or None (absent, not ours, malformed)."""
    pk = _decode(client_state).get("call")
    return pk if isinstance(pk, int) else None
