"""The API object: its routers, error handling and generated OpenAPI document (served at /api/openapi.json)."""

from __future__ import annotations

from ninja import NinjaAPI

from . import agents, calls, campaigns, errors, knowledge, metrics, numbers, webhooks

DESCRIPTION = """Bearer tokens (`Authorization: Bearer vb_…`), each scoped to one workspace and holding scopes:
`read`, `calls:write`, `agents:write`, `admin` (all). Each operation names the scope it needs in
`x-required-scope`; a token without it gets 403 `insufficient_scope`. Objects of another workspace are 404.
Errors: `{"error": <stable code>, "detail": <message>, "fields": {<field>: [<message>]}}`.
Lists: `?page=1&page_size=50` -> `{"count", "page", "pages", "results"}`. JSON bodies are limited to
DATA_UPLOAD_MAX_MEMORY_SIZE (413 `payload_too_large` past it); unknown fields are refused."""

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "A stable code: validation_error, bad_request, unauthorized, "
                  "token_expired, insufficient_scope, not_found, conflict, payload_too_large, call_not_live, "
                  "hangup_unsupported, carrier_not_configured, carrier_error, ..."},
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
# Which errors an operation can answer, by method; the carrier-facing ones add 502/503.
ERRORS_BY_METHOD = {"get": (400, 401, 403, 404), "post": (400, 401, 403, 404, 409, 413),
                    "patch": (400, 401, 403, 404, 409, 413), "delete": (401, 403, 404, 409)}
CARRIER_ERRORS = (502, 503)


class VoicebotAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """ninja documents the answers a view returns; the error answers come from `errors` for every view, so
        they are added here, once, with their shared schema."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema["components"].setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"description": "An error (see `error` for its code)",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                statuses = ERRORS_BY_METHOD.get(method, ())
                if path.endswith(("/outbound", "/hangup")) or path.endswith("/start"):
                    statuses += CARRIER_ERRORS
                for status in statuses:
                    operation["responses"].setdefault(str(status), error)
        return schema


def build() -> NinjaAPI:
    # No docs page: Swagger UI would load its scripts from a CDN at run time. The OpenAPI JSON is the contract.
    api = VoicebotAPI(title="voicebot API", version="1", description=DESCRIPTION, urls_namespace="api",
                      docs_url=None)
    errors.install(api)
    for module in (agents, numbers, calls, campaigns, knowledge, webhooks, metrics):
        api.add_router("/", module.router)
    return api


api = build()
