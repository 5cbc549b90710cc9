"""The embedded stack with a failing speech recogniser: nothing stands behind it, so the session itself must cope."""

from __future__ import annotations

from calls import stream_tokens
from calls.models import Agent, Call, Workspace
from calls.providers.base import ProviderError
from tests.pipeline_fakes import ScriptedSTT

FLOW = {"start": "ask", "nodes": {"ask": {"type": "ask", "text": "How can I help?", "routes": []}}}


class FailingWhisper(ScriptedSTT):
    """Fails the first utterance the way the embedded Whisper reports an engine failure, then recovers."""

    name = "whisper"

    async def transcript(self) -> str:
        if self._turn == 0:
            raise ProviderError("whisper failed: RuntimeError('out of memory')", provider="whisper")
        return await super().transcript()


def embedded_call() -> tuple[Call, str]:
    ws, _ = Workspace.objects.get_or_create(slug="faults", defaults={"name": "Faults"})
    agent = Agent.objects.create(workspace=ws, name="Embedded", greeting="Hello.", flow=FLOW,
                                 stt_provider="failing_whisper", llm_provider="flow", tts_provider="espeak",
                                 silence_timeout_s=30, provider_options={"fallback": {"stt": "failing_whisper"}})
    token, nonce = stream_tokens.issue("CA-embedded")
    call = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA-embedded",
                               stream_nonce=nonce)
    return call, token
