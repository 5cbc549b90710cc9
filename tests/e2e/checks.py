"""What every carrier's end-to-end call must show: the same script, the same flow, whatever the wire format."""

from __future__ import annotations

# The caller's side of the demo conversation: a question, a barge-in over its answer, a date, a goodbye.
SCRIPT = (
    "--say", "What are your opening hours?",
    "--barge-in", "I would like to book an appointment",
    "--say", "Tomorrow please",
    "--say", "No, that's all, goodbye",
)


def assert_call_answered_understood_interruptible_and_recorded(server, result: dict) -> dict:
    """The checks shared by the carriers' e2e calls; returns the exported call for carrier-specific checks."""
    sim, call = result["simulated"], result["call"]
    # Latency is measured by `make bench`; here only "the greeting came, promptly even on a loaded machine".
    assert sim["greeting_ms"] is not None and sim["greeting_ms"] < 5000
    assert call is not None and call["status"] == "completed"
    caller = [t["text"].lower() for t in call["turns"] if t["role"] == "caller"]
    agent = [t for t in call["turns"] if t["role"] == "agent"]
    # The caller's key words were recognised by the local Whisper.
    assert any("hours" in t for t in caller), caller
    assert any("appointment" in t or "book" in t for t in caller), caller
    assert any("tomorrow" in t for t in caller), caller
    # The replies follow the flow: greeting, hours, booking question, confirmation, goodbye.
    texts = " | ".join(t["text"] for t in agent)
    exported = server.export(sim["call_id"])
    # What a failure shows: the conversation as stored, what the caller saw, and the call's events.
    story = (texts, caller, sim["turns"], [(e["kind"], e["detail"]) for e in exported["events"]])
    assert "Bright Smile Dental" in agent[0]["text"], story
    assert "Monday to Friday" in texts, story
    assert "What day works best" in texts, story
    assert "pencilled you in for tomorrow" in texts, story
    assert "Goodbye" in agent[-1]["text"], story
    # The barge-in: the carrier was told to clear, and the stored turn keeps only what was heard.
    barge = next(t for t in sim["turns"] if t["barge_in"])
    assert barge["clear_ms"] is not None and barge["frames_after_clear"] == 0
    interrupted = [t for t in agent if t["interrupted"]]
    assert interrupted, texts
    assert len(interrupted[0]["heard_text"]) < len(interrupted[0]["text"])
    assert "Monday to Friday" in interrupted[0]["text"]
    # The goodbye was heard before the agent closed the call.
    assert sim["closed_by"] == "agent"
    # export_call shows per-turn metrics for every answered caller turn.
    answered = [t for t in exported["turns"] if t["role"] == "agent" and t["metrics"]]
    assert len(answered) >= 4
    for turn in answered:
        assert turn["metrics"]["end_to_end_ms"] > 0
        assert turn["metrics"]["stt_final_ms"] is not None
    assert "barge_in" in {e["kind"] for e in exported["events"]}
    return exported
