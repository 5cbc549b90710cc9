"""One call through the real ASGI app on the cloud providers (Deepgram, OpenAI, ElevenLabs — the real SDKs and
clients) against the local fakes, with faults scripted into the fakes; the embedded providers stand behind them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from calls import stream_tokens
from calls.models import Agent, Call, Workspace
from voicebot.testing.vendors import FakeCloud, FakeOpenAI, ScriptedReply

from .line import PhoneLine

FLOW = {"start": "ask", "nodes": {"ask": {"type": "ask", "text": "How can I help?", "routes": []}}}
SAID = ["my first question", "my second question", "my third question"]
ANSWER = "Sure."


def cloud_agent(**fallback) -> Agent:
    ws, _ = Workspace.objects.get_or_create(slug="faults", defaults={"name": "Faults"})
    return Agent.objects.create(
        workspace=ws, name=f"Cloud {Agent.objects.count()}", greeting="Hello.", flow=FLOW, stt_provider="deepgram",
        llm_provider="openai", tts_provider="elevenlabs", silence_timeout_s=30,
        # The STT behind Deepgram is scripted (the caller's "speech" is a tone Whisper cannot read); the brain and
        # the TTS behind the others are the real embedded ones (the flow, espeak).
        provider_options={"fallback": {"stt": "scripted", **fallback}},
    )


def new_call(agent: Agent, carrier: str = "twilio") -> tuple[Call, str]:
    call_id = f"CA-fault-{Call.objects.count()}"
    token, nonce = stream_tokens.issue(call_id)
    call = Call.objects.create(workspace=agent.workspace, agent=agent, carrier=carrier, carrier_call_id=call_id,
                               stream_nonce=nonce)
    return call, token


async def run_call(settings, token: str, fault: Callable[[FakeCloud], Awaitable[None] | None] | None = None,
                   *, turns: int = 2, before_turn: Callable[[FakeCloud, int], None] | None = None,
                   listen_quiet_s: float = 0.25) -> PhoneLine:
    """Greeting, then `turns` caller turns (each answered), then hang up. `fault(cloud)` runs before the call starts;
    `before_turn(cloud, n)` before caller turn n (0-based). An answer counts as finished once the agent has been
    quiet for `listen_quiet_s`."""
    async with FakeCloud(openai=FakeOpenAI(responder=lambda body: ScriptedReply(text=ANSWER))) as cloud:
        for name, value in cloud.env.items():
            setattr(settings, name, value)
        cloud.deepgram.transcripts.extend(SAID)
        if fault is not None:
            result = fault(cloud)
            if result is not None:
                await result
        line = await PhoneLine(token).open()
        try:
            await line.listen()
            for n in range(turns):
                if before_turn is not None:
                    before_turn(cloud, n)
                await line.say()
                if n < turns - 1:
                    # The last reply need not finish: it is recorded when the call ends.
                    await line.listen(quiet_s=listen_quiet_s)
        finally:
            await line.hang_up()
    line.cloud = cloud  # what the fakes saw, for the assertions
    return line
