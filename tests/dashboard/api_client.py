"""A JSON client for the API tests: the Django test client with a bearer key and JSON bodies."""

from __future__ import annotations

import json

from dashboard.models import ApiToken


class ApiClient:
    def __init__(self, client, key: str) -> None:
        self.client, self.key = client, key

    @classmethod
    def issue(cls, client, workspace, *scopes: str, **kwargs) -> ApiClient:
        return cls(client, ApiToken.issue(workspace, "tests", scopes=scopes, **kwargs)[1])

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"}

    def get(self, path: str, params=None):
        return self.client.get(path, params or {}, **self._headers())

    def _send(self, method: str, path: str, body, content_type: str = "application/json"):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return getattr(self.client, method)(path, data, content_type=content_type, **self._headers())

    def post(self, path: str, body=None, **kwargs):
        return self._send("post", path, {} if body is None else body, **kwargs)

    def patch(self, path: str, body, **kwargs):
        return self._send("patch", path, body, **kwargs)

    def delete(self, path: str):
        return self.client.delete(path, **self._headers())

    def upload(self, path: str, data: dict):
        """multipart/form-data (files as SimpleUploadedFile values)."""
        return self.client.post(path, data, **self._headers())
