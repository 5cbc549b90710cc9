"""The API object: its routers, error handling and generated OpenAPI document (served at /api/openapi.json)."""

from __future__ import annotations

from ninja import NinjaAPI

from . import agents, calls, campaigns, errors, knowledge, metrics, numbers, webhooks

DESCRIPTION = """Bearer tokens (`Authorization: Bearer vb_…`), each scoped to one workspace and holding scopes:
`read`, `calls:write`, `agents:write`, `admin` (all). Each operation names the scope it needs in
`x-required-scope`; a token without it gets 403 `insufficient_scope`. Objects of another workspace are 404.
Errors: `{"error": <stable code>, "detail": <message>, "fields": {<field>: [<message>]}}`.
Lists: `?page=1&page_size=50` -> `{"count", "page", "pages", "results"}`."""


def build() -> NinjaAPI:
    # No docs page: Swagger UI would load its scripts from a CDN at run time. The OpenAPI JSON is the contract.
    api = NinjaAPI(title="voicebot API", version="1", description=DESCRIPTION, urls_namespace="api", docs_url=None)
    errors.install(api)
    for module in (agents, numbers, calls, campaigns, knowledge, webhooks, metrics):
        api.add_router("/", module.router)
    return api


api = build()
