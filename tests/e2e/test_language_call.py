"""A Spanish agent on the embedded stack, end to end: daphne on loopback, simulate_call playing Twilio, the demo agent
switched to es-ES. The packaged Piper voice is English, so Piper steps aside at the call's start and espeak's Spanish
voice speaks from the greeting on, with no dead air; the caller uses the keypad, because the packaged Whisper
(tiny.en) understands only English and no multilingual Whisper is installed here (README, "Languages")."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def set_language(server, tag: str) -> None:
    done = server.manage("shell", "--no-imports", "-v", "0", "-c",
                         "from calls.models import Agent, PhoneNumber; from django.conf import settings; "
                         "ids = PhoneNumber.objects.filter(e164=settings.DEMO_NUMBER).values('agent_id'); "
                         f"Agent.objects.filter(pk__in=ids).update(language={tag!r})")
    assert done.returncode == 0, done.stderr


def test_a_spanish_agent_speaks_with_espeaks_spanish_voice_from_the_first_word(server):
    set_language(server, "es-ES")
    try:
        result = server.simulate("--carrier", "twilio", "--timeout", "90", "--dtmf", "1", "--dtmf", "1",
                                 timeout=150)
    finally:
        set_language(server, "en-US")
    sim, call = result["simulated"], result["call"]
    assert call is not None and sim["greeting_ms"] is not None and sim["greeting_ms"] < 2000, sim
    events = server.export(sim["call_id"])["events"]
    failures = [e["detail"] for e in events if e["kind"] == "provider_failure"]
    # Piper said at the start, once, that it has no Spanish voice; espeak spoke everything (no failure after).
    assert [(f["stage"], f["provider"], f["permanent"]) for f in failures] == [("tts", "piper", True)], failures
    assert "no Spanish (Spain) voice" in failures[0]["error"]
    assert [t for t in call["turns"] if t["role"] == "agent"], call["turns"]
