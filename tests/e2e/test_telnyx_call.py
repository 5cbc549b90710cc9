"""Real Telnyx-shaped phone calls on the embedded stack: daphne on loopback, simulate_call playing Telnyx in real
time (Ed25519-signed TeXML webhook, snake_case media, frames shuffled in flight). The server's temp VAR_DIR holds
the generated Ed25519 pair; the simulator process shares it, so it signs with the key the server checks."""

from __future__ import annotations

import pytest

from .checks import SCRIPT, assert_call_answered_understood_interruptible_and_recorded

pytestmark = pytest.mark.e2e


def test_a_telnyx_call_with_shuffled_frames_is_understood_interruptible_and_recorded(server):
    result = server.simulate("--carrier", "telnyx", "--shuffle", "3", *SCRIPT)
    exported = assert_call_answered_understood_interruptible_and_recorded(server, result)
    assert result["call"]["carrier"] == "telnyx"
    # Frames were shuffled within 3, well inside the reorder window: put back in order, nothing lost to it.
    repaired = {k: v for e in exported["events"] if e["kind"] == "bad_input" for k, v in e["detail"].items()}
    assert not repaired.get("late_dropped") and not repaired.get("concealed"), repaired


def test_a_wideband_l16_16khz_telnyx_call_completes_a_turn(server):
    result = server.simulate(
        "--carrier", "telnyx", "--codec", "L16", "--rate", "16000",
        "--say", "What are your opening hours?",
    )
    sim, call = result["simulated"], result["call"]
    assert sim["greeting_ms"] is not None
    caller = [t["text"].lower() for t in call["turns"] if t["role"] == "caller"]
    assert any("hours" in t for t in caller), caller
    assert any("Monday to Friday" in t["text"] for t in call["turns"] if t["role"] == "agent")
    turn = next(t for t in sim["turns"] if t["text"].startswith("What are"))
    assert turn["latency_ms"] is not None  # the reply reached the caller, as L16 16 kHz frames
