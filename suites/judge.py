"""The optional LLM judge: `judge: {rubric: "...", model: gpt-4o-mini}` — an LLM reads the transcript and says
whether the call meets the rubric, and why. Only when an LLM is configured (OPENAI_API_KEY); without one the
expectation fails and says so, rather than passing unchecked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings

from .expectations import Expectation, register
from .fields import Fields
from .snapshot import CallSnapshot

TIMEOUT_S = 30.0
PROMPT = (
    "You review a phone call between a caller and an AI voice agent. Decide whether the call meets the rubric. "
    'Answer with one JSON object and nothing else: {"pass": true or false, "reason": "one short sentence"}.'
)


@register
@dataclass(frozen=True)
class LLMJudge(Expectation):
    rubric: str
    model: str = "gpt-4o-mini"
    key: ClassVar[str] = "judge"

    @classmethod
    def parse(cls, value, where):
        if isinstance(value, str):
            return cls(value)
        inner = Fields(value, where.name(cls.key), where.source, where.line(cls.key))
        rubric = inner.get("rubric", str)
        model = inner.get("model", str, cls.model)
        inner.done()
        return cls(rubric, model)

    def check(self, snap: CallSnapshot) -> str | None:
        if not settings.OPENAI_API_KEY:
            return self.fail("no LLM is configured (set OPENAI_API_KEY) to judge the rubric")
        try:
            verdict = self.ask(snap)
        except Exception as exc:  # noqa: BLE001 - any failure of the judge is a failed judgement, said plainly
            return self.fail(f"the LLM judge could not answer: {exc}")
        if verdict.get("pass") is True:
            return None
        return self.fail(f"{self.rubric!r} not met: {verdict.get('reason') or 'no reason given'}")

    def ask(self, snap: CallSnapshot) -> dict:
        import openai

        client = openai.OpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None,
                               timeout=TIMEOUT_S, max_retries=0)
        user = f"Rubric: {self.rubric}\n\nTranscript:\n{snap.transcript_text() or '(nothing was said)'}"
        # Streamed, like every other request voicebot makes, so OpenAI-compatible servers serve it too.
        stream = client.chat.completions.create(
            model=self.model, stream=True, max_tokens=200,
            messages=[{"role": "system", "content": PROMPT}, {"role": "user", "content": user}],
        )
        with stream:
            text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        found = re.search(r"\{.*\}", text, re.DOTALL)
        if not found:
            raise ValueError(f"not a JSON verdict: {text[:200]!r}")
        return json.loads(found.group(0))
