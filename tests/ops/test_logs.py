"""Log lines carry the call id; LOG_FORMAT=json makes them JSON lines, readable text otherwise."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings

from calls.telemetry.logs import CALL_ID, logging_config


@pytest.fixture(autouse=True)
def restore_logging():
    yield
    logging.config.dictConfig(settings.LOGGING)


def capture(log_format: str):
    config = logging_config(log_format, "INFO")
    stream = io.StringIO()
    config["handlers"]["console"]["stream"] = stream
    config["root"] = {"handlers": [], "level": "INFO"}
    config["loggers"] = {"ops-test": {"handlers": ["console"], "level": "INFO", "propagate": False}}
    logging.config.dictConfig(config)
    return logging.getLogger("ops-test"), stream


def test_json_lines_carry_the_call_id_of_the_call_being_served():
    log, stream = capture("json")
    token = CALL_ID.set("CA123")
    try:
        log.warning("turn took %d ms", 812)
    finally:
        CALL_ID.reset(token)
    log.info("no call here")
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    first, second, third = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "turn took 812 ms" and first["call_id"] == "CA123" and first["level"] == "WARNING"
    assert first["logger"] == "ops-test" and first["ts"].endswith("+00:00")
    assert second["call_id"] is None
    assert third["message"] == "failed" and "ValueError: bad" in third["exc"]


def test_text_lines_are_readable_and_carry_the_call_id():
    log, stream = capture("text")
    token = CALL_ID.set("CA456")
    try:
        log.info("hello")
    finally:
        CALL_ID.reset(token)
    log.info("bye")
    first, second = stream.getvalue().splitlines()
    assert first.endswith("INFO ops-test [CA456] hello")
    assert second.endswith("INFO ops-test [-] bye")
    assert not first.startswith("{")


def test_the_servers_own_loggers_write_in_the_same_format():
    config = logging_config("json", "INFO")
    logging.config.dictConfig(config)
    stream = io.StringIO()
    logging.getLogger("uvicorn").handlers[0].setStream(stream)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    assert json.loads(stream.getvalue())["message"] == "Started server process [42]"
