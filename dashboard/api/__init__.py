"""The REST API at /api/, on django-ninja: typed schemas, the OpenAPI document generated from them.

One module per resource (agents, numbers, calls, campaigns, knowledge, webhooks, metrics), the bearer-token auth
with scopes (`auth`), the one error shape (`errors`), the query parameters (`params`: pages, ids, days) and the
model writes with the dashboard's checks (`model_writes`); `app` puts them together.
"""
