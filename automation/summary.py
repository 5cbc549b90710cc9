"""Call summaries: by the agent's LLM when it uses OpenAI (and a key is set), else extractive.

Extractive means the caller's own words (their intents, in order) and the agent sentences that confirm something
("I've pencilled you in for tomorrow"), plus the outcome: no model, no network, nothing invented. An LLM failure
falls back to it rather than failing the post-call work.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings

from calls.models import Agent, Call, Turn
from calls.providers.base import split_sentences
from calls.providers.cloud import base_url

log = logging.getLogger("automation.summary")

MAX_CHARS = 800
LLM_TIMEOUT_S = 10.0
TRANSCRIPT_BUDGET_CHARS = 12000
PROMPT = ("Summarise this phone call between a caller and an AI agent in two or three sentences for the business "
          "that runs the agent: what the caller wanted, what was agreed or done, and anything left open. Plain text.")
_CONFIRMS = re.compile(
    r"\b(I've|I have|I'll|I will|we'll|booked|pencilled|penciled|scheduled|confirm\w*|transferr\w*|all set|noted)\b",
    re.IGNORECASE,
)
_HIDDEN_VARIABLES = {"intent", "messages", "summary", "usage"}


def summarize(call: Call, turns: list[Turn]) -> str:
    if _uses_openai(call.agent):
        try:
            return llm_summary(call.agent, turns)
        except Exception as exc:  # any SDK or network failure: the extractive summary is still a summary
            log.warning("call %s: LLM summary failed, using the extractive one: %r", call.pk, exc)
    return extractive_summary(call, turns)


def _uses_openai(agent: Agent | None) -> bool:
    return agent is not None and agent.llm_provider == "openai" and bool(settings.OPENAI_API_KEY)


def spoken(turn: Turn) -> str:
    # Of an interrupted agent turn, only what the caller heard happened.
    return (turn.heard_text if turn.role == Turn.Role.AGENT and turn.interrupted else turn.text).strip()


def extractive_summary(call: Call, turns: list[Turn]) -> str:
    said = [spoken(t) for t in turns if t.role == Turn.Role.CALLER and spoken(t)]
    confirmed: list[str] = []
    for turn in turns:
        if turn.role != Turn.Role.AGENT:
            continue
        sentences, rest = split_sentences(spoken(turn) + " ")
        for sentence in [*sentences, rest.strip()]:
            if sentence and _CONFIRMS.search(sentence) and sentence not in confirmed:
                confirmed.append(sentence)
    variables = (call.brain_state or {}).get("variables") or {}
    details = [f"{k}: {v}" for k, v in variables.items()
               if k not in _HIDDEN_VARIABLES and not str(k).startswith("_") and isinstance(v, (str, int, float))
               and str(v).strip()]
    parts = [_full_stop(f"Caller: {' / '.join(said)}") if said else "The caller said nothing the agent understood."]
    if confirmed:
        parts.append(_full_stop(f"Agent: {' '.join(confirmed)}"))
    if details:
        parts.append(_full_stop(f"Details: {'; '.join(details)}"))
    parts.append(f"Outcome: {call.end_reason or call.status}.")
    text = " ".join(parts)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1].rstrip() + "…"


def _full_stop(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def llm_summary(agent: Agent, turns: list[Turn]) -> str:
    import openai

    options = (agent.provider_options or {}).get("llm") or {}
    base = options.get("base_url") or agent.llm_base_url or base_url(options, "OPENAI_BASE_URL") or None
    client = openai.OpenAI(api_key=settings.OPENAI_API_KEY, base_url=base, timeout=LLM_TIMEOUT_S, max_retries=0)
    transcript = "\n".join(f"{t.role}: {spoken(t)}" for t in turns if spoken(t))[-TRANSCRIPT_BUDGET_CHARS:]
    # Streamed like the brain's requests, so any server the agent talks to (OpenAI-compatible ones included)
    # serves this one too.
    stream = client.chat.completions.create(
        model=options.get("summary_model") or options.get("model") or agent.llm_model or "gpt-4o-mini",
        messages=[{"role": "system", "content": agent.summary_prompt or PROMPT},
                  {"role": "user", "content": transcript or "(no speech)"}],
        max_tokens=250, stream=True,
    )
    with stream:
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices).strip()
    if not text:
        raise ValueError("empty completion")
    return text[:MAX_CHARS]
