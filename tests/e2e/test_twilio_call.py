"""One real phone call on the embedded stack: daphne on loopback, simulate_call playing Twilio in real time."""

from __future__ import annotations

import pytest

from .checks import SCRIPT, assert_call_answered_understood_interruptible_and_recorded

pytestmark = pytest.mark.e2e


def test_a_twilio_call_is_answered_understood_interruptible_and_recorded(server):
    result = server.simulate("--carrier", "twilio", *SCRIPT)
    assert_call_answered_understood_interruptible_and_recorded(server, result)
    assert result["call"]["carrier"] == "twilio"
