"""The REST API at /api/, on django-ninja: typed schemas, the OpenAPI document generated from them.

One module per resource (agents, numbers, calls, campaigns, knowledge, webhooks, metrics), the bearer-token auth
with scopes (`auth`), the one error shape (`errors`), the query parameters (`params`: pages, ids, days) and the
model writes with the dashboard's checks (`model_writes`); `app` puts them together.
"""

from __future__ import annotations

from ninja.orm import register_field
from pydantic import JsonValue

# ninja documents every JSONField as an object; ours also hold lists (an agent's tools, an analysis schema), so the
# document says "any JSON" and the models' own checks say what fits. Here, before any schema is built.
register_field("JSONField", JsonValue)
