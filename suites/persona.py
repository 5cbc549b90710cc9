"""A caller driven by an LLM: a persona with a goal, which decides each next line from the call so far.

    persona: {goal: "Book a cleaning for next Tuesday morning; your name is Ann Lee", max_turns: 8}

It reads what the agent said from the call's stored turns (the recorder writes each one as it completes, so the
caller "hears" the agent's words exactly as the transcript keeps them), asks the LLM for one line, and speaks it in
the scenario's voice. It hangs up when the LLM says `[hang up]` or after `max_turns` lines. Needs an LLM
(OPENAI_API_KEY; OPENAI_BASE_URL for a compatible server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from .caller.simulated import Step
from .caller.speech import caller_speech

HANG_UP = "[hang up]"
TIMEOUT_S = 30.0
SETTLE_S = 3.0  # how long the agent's last turn may take to be stored after its audio has played
PROMPT = (
    "You are a person phoning a business; an AI voice agent answers. Stay in character: {goal}\n"
    "Say only your next line, as you would say it on the phone: one or two short sentences, no stage directions. "
    f"When your goal is reached, or the agent said goodbye, answer exactly {HANG_UP}."
)


class PersonaError(Exception):
    pass


@dataclass(frozen=True)
class Persona:
    goal: str
    max_turns: int = 8
    model: str = "gpt-4o-mini"


class PersonaCaller:
    """`next_step` for SimulatedCaller: each call asks the LLM for the caller's next line (None: hang up)."""

    def __init__(self, persona: Persona, rate: int, speech_options: dict,
                 turns: Callable[[], Awaitable[list[tuple[str, str]]]]) -> None:
        if not settings.OPENAI_API_KEY:
            raise PersonaError("a persona caller needs an LLM: set OPENAI_API_KEY")
        self.persona, self.rate, self.speech_options, self.turns = persona, rate, speech_options, turns
        self.said = 0

    async def next_step(self) -> Step | None:
        if self.said >= self.persona.max_turns:
            return None
        history = await self._heard()
        line = (await asyncio.to_thread(self.ask, history)).strip()
        if not line or HANG_UP in line.lower():
            return None
        self.said += 1
        pcm = await asyncio.to_thread(caller_speech, line, self.rate, **self.speech_options)
        return Step(text=line, pcm=pcm)

    async def _heard(self) -> list[tuple[str, str]]:
        """The call so far, once the agent's latest turn is stored (or after SETTLE_S)."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            history = await self.turns()
            if (history and history[-1][0] == "agent") or time.monotonic() > deadline:
                return history
            await asyncio.sleep(0.2)

    def ask(self, history: list[tuple[str, str]]) -> str:
        import openai

        client = openai.OpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None,
                               timeout=TIMEOUT_S, max_retries=0)
        # The agent's words are the "user" side of this chat; the persona's own earlier lines are its own.
        messages = [{"role": "system", "content": PROMPT.format(goal=self.persona.goal)}]
        messages += [{"role": "user" if role == "agent" else "assistant", "content": text}
                     for role, text in history if text]
        stream = client.chat.completions.create(model=self.persona.model, messages=messages, max_tokens=120,
                                                stream=True)
        with stream:
            return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
