"""The OpenAPI 3 description of the JSON API, written by hand next to the views (dashboard/views/api.py).

tests/dashboard/test_api.py checks that every path here resolves to a view, so the two cannot drift apart silently.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

_DATE = {"type": "string", "format": "date"}
_MS = {"type": ["number", "null"]}


def _param(name: str, schema: dict, description: str, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


_CALL_FILTERS = [
    _param("agent", {"type": "integer"}, "Only calls answered by this agent id."),
    _param("number", {"type": "string"}, "Only calls to or from this E.164 number."),
    _param(
        "status",
        {"type": "string", "enum": ["ringing", "in-progress", "completed", "failed", "rejected"]},
        "Call status.",
    ),
    _param("direction", {"type": "string", "enum": ["inbound", "outbound"]}, "Call direction."),
    _param("since", _DATE, "Created on or after this day (UTC)."),
    _param("until", _DATE, "Created on or before this day (UTC)."),
    _param("min_duration", {"type": "number", "minimum": 0}, "Minimum talk time in seconds."),
    _param("max_duration", {"type": "number", "minimum": 0}, "Maximum talk time in seconds."),
    _param("q", {"type": "string"}, "Full-text search in transcripts (also matches call ids and numbers)."),
    _param("page", {"type": "integer", "minimum": 1}, "Page number (default 1)."),
    _param("page_size", {"type": "integer", "minimum": 1, "maximum": 200}, "Results per page (default 50)."),
]

_PERCENTILES = {
    "type": "object",
    "properties": {"p50": _MS, "p95": _MS, "n": {"type": "integer", "description": "Turns with a value."}},
}

_ERRORS = {
    "400": {
        "description": "Invalid query parameters.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "401": {
        "description": "Missing, unknown or revoked API key.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
}

SPEC: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "voicebot API",
        "version": "1",
        "description": "A workspace's calls, transcripts and latency metrics, and outbound calls. Authenticate with "
        "`Authorization: Bearer <key>`; keys are created on the dashboard's API tokens page and "
        "see only their own workspace.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": {
        "/api/calls": {
            "get": {
                "operationId": "listCalls",
                "summary": "List calls, newest first, with filters and transcript search.",
                "parameters": _CALL_FILTERS,
                "responses": {
                    "200": {
                        "description": "A page of calls.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "count": {"type": "integer"},
                                        "page": {"type": "integer"},
                                        "pages": {"type": "integer"},
                                        "results": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/CallSummary"},
                                        },
                                    },
                                }
                            }
                        },
                    },
                    **_ERRORS,
                },
            }
        },
        "/api/calls/outbound": {
            "post": {
                "operationId": "placeOutboundCall",
                "summary": "Call a number with an agent. The call is created at once (status ringing) and dialled "
                "through the carrier of the number it is placed from.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OutboundCall"}}},
                },
                "responses": {
                    "201": {
                        "description": "The call was placed.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallSummary"}}},
                    },
                    **_ERRORS,
                    "502": {
                        "description": "The carrier refused the call.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                    "503": {
                        "description": "The carrier's REST credentials are not configured on this server.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            }
        },
        "/api/calls/{id}": {
            "get": {
                "operationId": "getCall",
                "summary": "One call with its transcript (turns, heard text of interrupted turns), metrics and events.",
                "parameters": [_param("id", {"type": "integer"}, "Call id (from listCalls).", "path", True)],
                "responses": {
                    "200": {
                        "description": "The call.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Call"}}},
                    },
                    "401": _ERRORS["401"],
                    "404": {"description": "No such call in this workspace."},
                },
            }
        },
        "/api/metrics": {
            "get": {
                "operationId": "getMetrics",
                "summary": "Latency percentiles (end to end and per stage), call volume, duration, interruptions.",
                "parameters": [
                    _param("agent", {"type": "integer"}, "Only this agent id."),
                    _param("since", _DATE, "First day (default: 13 days before until)."),
                    _param("until", _DATE, "Last day, inclusive (default: today)."),
                ],
                "responses": {
                    "200": {
                        "description": "Metrics for the period.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Metrics"}}},
                    },
                    **_ERRORS,
                    "404": {"description": "No such agent in this workspace."},
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document.",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3 description.", "content": {"application/json": {}}}},
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "detail": {"type": "string"}, "fields": {"type": "object"}},
            },
            "OutboundCall": {
                "type": "object",
                "required": ["agent", "to"],
                "properties": {
                    "agent": {"type": "integer", "description": "Agent id."},
                    "to": {"type": "string", "description": "E.164 number to call."},
                    "from": {
                        "type": "string",
                        "description": "E.164 number of this workspace to call from (default: one bound to the agent).",
                    },
                    "carrier": {
                        "type": "string", "enum": ["twilio", "telnyx"], "description": "When `from` is on both.",
                    },
                    "variables": {
                        "type": "object", "description": "Per-call variables: fill the flow's {placeholders}.",
                    },
                },
            },
            "CallSummary": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "carrier": {"type": "string"},
                    "carrier_call_id": {"type": "string"},
                    "agent": {"type": ["string", "null"]},
                    "agent_id": {"type": ["integer", "null"]},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "direction": {"type": "string"},
                    "status": {"type": "string"},
                    "end_reason": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "duration_s": _MS,
                },
            },
            "Turn": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "role": {"type": "string", "enum": ["agent", "caller"]},
                    "text": {"type": "string"},
                    "heard_text": {"type": "string", "description": "Agent turns: what the caller actually heard."},
                    "interrupted": {"type": "boolean"},
                    "node": {"type": "string"},
                    "started_at": {"type": "string", "format": "date-time"},
                    "ended_at": {"type": "string", "format": "date-time"},
                    "metrics": {
                        "type": ["object", "null"],
                        "description": "Latency in ms from the caller's last "
                        "voiced frame: endpoint_ms, stt_final_ms, brain_first_text_ms, tts_first_audio_ms, "
                        "first_frame_sent_ms, end_to_end_ms, stt_ms, brain_ms, tts_ms, providers.",
                    },
                },
            },
            "Call": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "carrier": {"type": "string"},
                    "carrier_call_id": {"type": "string"},
                    "stream_id": {"type": "string"},
                    "agent": {"type": ["string", "null"]},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "direction": {"type": "string"},
                    "status": {"type": "string"},
                    "end_reason": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "answered_at": {"type": ["string", "null"], "format": "date-time"},
                    "ended_at": {"type": ["string", "null"], "format": "date-time"},
                    "turns": {"type": "array", "items": {"$ref": "#/components/schemas/Turn"}},
                    "events": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "kind": {"type": "string"},
                                "detail": {"type": "object"},
                                "at": {"type": "string", "format": "date-time"},
                            },
                        },
                    },
                },
            },
            "Metrics": {
                "type": "object",
                "properties": {
                    "since": _DATE,
                    "until": _DATE,
                    "agent_id": {"type": ["integer", "null"]},
                    "latency_ms": {
                        "type": "object",
                        "description": "end_to_end_ms, endpoint_ms, stt_ms, brain_ms, tts_ms",
                        "additionalProperties": _PERCENTILES,
                    },
                    "turns_with_metrics": {"type": "integer"},
                    "calls": {"type": "integer"},
                    "answered_calls": {"type": "integer"},
                    "avg_duration_s": _MS,
                    "interruption_rate": {
                        "type": ["number", "null"],
                        "description": "Share of agent turns the caller interrupted.",
                    },
                    "statuses": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "hangup_nodes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"node": {"type": "string"}, "calls": {"type": "integer"}},
                        },
                    },
                    "series": {
                        "type": "object",
                        "description": "Per day (or hour for short periods): labels, end_to_end_ms {p50, p95}, volume.",
                    },
                },
            },
        },
    },
}


@require_GET
def openapi_json(request):
    """Public: it describes the API, it holds no workspace data."""
    return JsonResponse(SPEC)
