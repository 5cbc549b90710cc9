"""Admission of browser calls: a dashboard user calls an agent from the page (the "browser" carrier).

Like a carrier webhook (`calls.carriers.common.open_call`) it creates the Call before any audio flows and returns
the single-use stream token the media socket must present; here the caller is a logged-in member of the agent's
workspace, so the token is only ever handed to someone allowed to talk to that agent.
"""

from __future__ import annotations

import secrets

from ... import stream_tokens
from ...models import Agent, Call, Carrier

FROM_PREFIX = "browser:"


def open_browser_call(agent: Agent, username: str) -> tuple[Call, str]:
    """A fresh inbound Call from `username` to `agent`, and the token that opens its media stream."""
    call_id = f"BR{secrets.token_hex(12)}"
    token, nonce = stream_tokens.issue(call_id)
    call = Call.objects.create(
        workspace_id=agent.workspace_id,
        agent=agent,
        carrier=Carrier.BROWSER,
        carrier_call_id=call_id,
        direction=Call.Direction.INBOUND,
        from_number=(FROM_PREFIX + username)[:40],
        to_number=agent.name[:40],
        stream_nonce=nonce,
    )
    return call, token
