"""A finished call's usage per provider, and its cost (calls.costs), written once by the post-call work.

What each provider bills for, as far as the call's record tells it:
- STT: the audio streamed to it — a streaming STT hears the whole answered call, so the answered duration;
- LLM: the tokens the brain's requests reported (`include_usage`), totalled in the brain state;
- TTS: the characters of every agent turn sent to it (an interrupted turn was synthesised ahead of playback, so
  its whole text counts, not just the heard part);
- carrier: whole minutes from answer to hang-up (both carriers bill per started minute; the browser is free);
- a speech-to-speech model (`realtime`): the tokens of each kind its responses reported, stored by the realtime
  session at call end. Its call uses the agent's STT and TTS only if it fell back to them: the STT from then on,
  the TTS for the agent turns the cascade spoke.
"""

from __future__ import annotations

import math

from calls.costs import cost_of
from calls.models import Call, Turn

PER_MINUTE_CARRIERS = {"twilio", "telnyx"}
REALTIME_NODE = "realtime"  # the node a speech-to-speech model's turns are stored under (no TTS spoke them)


def usage_of(call: Call, turns: list[Turn]) -> dict:
    agent = call.agent
    seconds = call.duration_s or 0.0
    usage: dict = {"carrier": {"provider": call.carrier,
                               "minutes": math.ceil(seconds / 60) if call.carrier in PER_MINUTE_CARRIERS else 0}}
    if agent is None:
        return usage
    realtime = (call.usage or {}).get("realtime")
    if realtime:
        usage["realtime"] = realtime
    cascade_from_s = (realtime.get("fell_back_after_s") if realtime else 0.0)
    if cascade_from_s is not None:  # None: a speech-to-speech call that never needed the cascade
        usage["stt"] = {"provider": agent.stt_provider, "audio_seconds": round(max(0.0, seconds - cascade_from_s), 1)}
        usage["tts"] = {"provider": agent.tts_provider,
                        "characters": sum(len(t.text) for t in turns if t.role == Turn.Role.AGENT
                                          and not (realtime and t.node == REALTIME_NODE))}
    tokens = ((call.brain_state or {}).get("variables") or {}).get("usage")
    if isinstance(tokens, dict):
        usage["llm"] = {"provider": agent.llm_provider, "model": tokens.get("model", ""),
                        "prompt_tokens": int(tokens.get("prompt_tokens", 0)),
                        "completion_tokens": int(tokens.get("completion_tokens", 0))}
    analysis = (call.usage or {}).get("analysis_llm")
    if analysis:  # the analysis may have run first (it is its own task): keep what it used
        usage["analysis_llm"] = analysis
    return usage


def record(call: Call, turns: list[Turn]) -> None:
    call.usage = usage_of(call, turns)
    call.cost = cost_of(call.usage)
    Call.objects.filter(pk=call.pk).update(usage=call.usage, cost=call.cost)


def add_analysis_usage(call: Call, tokens: dict, model: str) -> None:
    """The analysis's tokens join the call's usage, and the cost is computed again."""
    call.usage = {**(call.usage or {}), "analysis_llm": {"provider": "openai", "model": model, **tokens}}
    call.cost = cost_of(call.usage)
    Call.objects.filter(pk=call.pk).update(usage=call.usage, cost=call.cost)
