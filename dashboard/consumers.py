"""The live monitor's WebSocket: forwards the call engine's `call.update` group messages to the browser.

The engine (calls.live) publishes to the Channels group `live.<workspace_id>` after each write, so with the Redis
layer a call handled by any process reaches every dashboard connected to any process.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from calls.live import group_name

log = logging.getLogger("dashboard.live")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def same_origin(scope) -> bool:
    """Browsers send the page's Origin with a WebSocket handshake but no CORS check protects the socket, so a
    foreign page could otherwise read live transcripts with the user's cookie (cross-site WebSocket hijacking)."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin:
        return True  # not a browser (or a same-origin client that sent none): the session cookie still decides
    host = headers.get(b"host", b"").decode("latin-1")
    return urlsplit(origin).netloc.lower() == host.lower()


class LiveCallsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        workspace_id = self.scope["url_route"]["kwargs"]["workspace_id"]
        if not same_origin(self.scope) or not await self._is_member(user, workspace_id):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = group_name(workspace_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "workspace": workspace_id})

    async def disconnect(self, code):
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # Read-only feed; a ping keeps proxies from closing an idle socket.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def call_update(self, message):
        """Handler for group messages of type `call.update`: forwarded as-is (minus Channels' routing keys)."""
        await self.send_json(
            {
                "type": "call.update",
                "call": message.get("call"),
                "kind": message.get("kind"),
                "data": message.get("data"),
            }
        )

    @database_sync_to_async
    def _is_member(self, user, workspace_id: int) -> bool:
        return user.workspaces.filter(pk=workspace_id).exists()
