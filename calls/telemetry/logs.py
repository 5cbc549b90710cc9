"""The call id in every log line of a call, and JSON lines when LOG_FORMAT=json.

The media consumer sets `CALL_ID` when a call's stream starts; the session's tasks are created after that and
inherit it, so their log records carry it too (`CallIdFilter` puts it on each record).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

CALL_ID: ContextVar[str] = ContextVar("voicebot_call_id", default="")


class CallIdFilter(logging.Filter):
    """Adds `call_id` to every record (the current call's, or "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "call_id"):
            record.call_id = CALL_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, call_id, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "call_id": _call_id(record),
            "process": record.process,
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def _call_id(record: logging.LogRecord) -> str | None:
    call_id = getattr(record, "call_id", None) or CALL_ID.get()
    return call_id if call_id and call_id != "-" else None


def logging_config(log_format: str, level: str) -> dict:
    """settings.LOGGING: JSON lines for LOG_FORMAT=json, readable text otherwise; both with the call id."""
    formatter = ({"()": "calls.telemetry.logs.JsonFormatter"} if log_format == "json"
                 else {"format": "%(asctime)s %(levelname)s %(name)s [%(call_id)s] %(message)s"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"call_id": {"()": "calls.telemetry.logs.CallIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["call_id"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.channels.server": {"level": "WARNING"}, "daphne": {"level": "WARNING"},
                    # uvicorn set up its own handlers before Django started: its lines too, in this format.
                    "uvicorn": {"handlers": ["console"], "level": "INFO", "propagate": False},
                    "uvicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    }
