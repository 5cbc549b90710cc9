"""Real Telnyx-shaped phone calls on the embedded stack: daphne on loopback, simulate_call playing Telnyx in real
time (Ed25519-signed TeXML webhook, snake_case media, frames shuffled in flight). The server's temp VAR_DIR holds
the generated Ed25519 pair; the simulator process shares it, so it signs with the key the server checks."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_a_telnyx_call_with_shuffled_frames_is_understood_interruptible_and_recorded(server):
    result = server.simulate(
        "--carrier", "telnyx", "--shuffle", "3",
        "--say", "What are your opening hours?",
        "--barge-in", "I would like to book an appointment",
        "--say", "Tomorrow please",
        "--say", "No, that's all, goodbye",
    )
    sim, call = result["simulated"], result["call"]
    # Latency is measured by `make bench`; here only "the greeting came, promptly even on a loaded machine".
    assert sim["greeting_ms"] is not None and sim["greeting_ms"] < 5000
    assert call is not None and call["status"] == "completed" and call["carrier"] == "telnyx"
    caller = [t["text"].lower() for t in call["turns"] if t["role"] == "caller"]
    agent = [t for t in call["turns"] if t["role"] == "agent"]
    # The caller's key words survived reordering and were recognised by the local Whisper.
    assert any("hours" in t for t in caller), caller
    assert any("appointment" in t or "book" in t for t in caller), caller
    assert any("tomorrow" in t for t in caller), caller
    # The replies follow the flow: greeting, hours, booking question, confirmation, goodbye.
    texts = " | ".join(t["text"] for t in agent)
    assert "Bright Smile Dental" in agent[0]["text"]
    assert "Monday to Friday" in texts
    assert "What day works best" in texts
    assert "pencilled you in for tomorrow" in texts
    assert "Goodbye" in agent[-1]["text"]
    # The barge-in: Telnyx was told to clear, and the stored turn keeps only what was heard.
    barge = next(t for t in sim["turns"] if t["barge_in"])
    assert barge["clear_ms"] is not None and barge["frames_after_clear"] == 0
    interrupted = [t for t in agent if t["interrupted"]]
    assert interrupted, texts
    assert len(interrupted[0]["heard_text"]) < len(interrupted[0]["text"])
    assert "Monday to Friday" in interrupted[0]["text"]
    assert sim["closed_by"] == "agent"
    # export_call shows per-turn metrics for every answered caller turn.
    exported = server.export(sim["call_id"])
    answered = [t for t in exported["turns"] if t["role"] == "agent" and t["metrics"]]
    assert len(answered) >= 4
    for turn in answered:
        assert turn["metrics"]["end_to_end_ms"] > 0
        assert turn["metrics"]["stt_final_ms"] is not None
    events = exported["events"]
    assert "barge_in" in {e["kind"] for e in events}
    # Frames were shuffled within 3, well inside the reorder window: put back in order, nothing lost to it.
    repaired = {k: v for e in events if e["kind"] == "bad_input" for k, v in e["detail"].items()}
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
