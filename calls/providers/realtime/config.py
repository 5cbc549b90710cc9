"""What an agent asks of the realtime model, read once at call start (no ORM on the call path).

`Agent.provider_options["realtime"]`: model, voice, turn_detection ("server": the model's own VAD ends the
caller's turn; "ours": the agent's end-of-turn strategy does, and we commit the audio), silence_duration_ms,
transcription_model, first_audio_s (how long a response may take to its first audio before the call falls back to
the cascaded providers), connect_timeout_s, base_url, fallback_brain (the cascade's brain, default "openai": it
takes the conversation so far), transfer_targets, system_prompt. HTTP tools are `provider_options["tools"]`, as
for the LLM brain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..llm.openai_brain import _targets

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_VOICE = "marin"
DEFAULT_PROMPT = "You are a friendly, efficient phone agent."
VOICE_RULES = (
    "You are on a phone call: answer in one to three short sentences. When the conversation is over, say goodbye "
    "and call end_call."
)
TURN_DETECTIONS = ("server", "ours")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass
class RealtimeConfig:
    model: str = DEFAULT_MODEL
    voice: str = DEFAULT_VOICE
    prompt: str = DEFAULT_PROMPT
    greeting: str = ""
    turn_detection: str = "server"
    silence_duration_ms: int = 500
    transcription_model: str = "gpt-4o-mini-transcribe"
    first_audio_s: float = 2.0
    connect_timeout_s: float = 3.0
    base_url: str = ""
    fallback_brain: str = "openai"
    transfer_targets: dict[str, str] = field(default_factory=dict)
    http_tools: list[dict] = field(default_factory=list)

    @classmethod
    def from_agent(cls, agent, variables: dict | None = None) -> RealtimeConfig:
        """`variables`: the call's own (outbound, campaigns): they fill the prompt's and greeting's {placeholders}."""
        options = agent.provider_options or {}
        o = options.get("realtime") or {}
        llm = options.get("llm") or {}
        # Agent.system_prompt is the agent's prompt where that field exists; older agents keep theirs in options.
        prompt = (getattr(agent, "system_prompt", "") or o.get("system_prompt") or options.get("system_prompt")
                  or llm.get("system_prompt") or DEFAULT_PROMPT)
        turn = str(o.get("turn_detection", "server"))
        if turn not in TURN_DETECTIONS:
            raise ValueError(f"realtime turn_detection must be one of {TURN_DETECTIONS}, not {turn!r}")
        values = {str(k): str(v) for k, v in (variables or {}).items()}
        return cls(
            model=str(o.get("model", DEFAULT_MODEL)),
            voice=str(o.get("voice", DEFAULT_VOICE)),
            prompt=fill(prompt, values),
            greeting=fill(agent.greeting or "", values),
            turn_detection=turn,
            silence_duration_ms=int(o.get("silence_duration_ms", agent.end_of_turn_silence_ms or 500)),
            transcription_model=str(o.get("transcription_model", "gpt-4o-mini-transcribe")),
            first_audio_s=float(o.get("first_audio_s", 2.0)),
            connect_timeout_s=float(o.get("connect_timeout_s", 3.0)),
            base_url=str(o.get("base_url", "")),
            fallback_brain=str(o.get("fallback_brain", "openai")),
            transfer_targets=_targets(o.get("transfer_targets", llm.get("transfer_targets"))),
            http_tools=list(options.get("tools") or []),
        )

    def session(self, audio_format: dict, tools: list[dict], respond_on_turn_end: bool = True) -> dict:
        """The `session.update` body (`RealtimeSessionCreateRequestParam`). `respond_on_turn_end` False: the server
        VAD ends the caller's turns but the session asks for each response itself (it first judges the words of
        speech over the agent: a backchannel is no turn to answer)."""
        detection = None
        if self.turn_detection == "server":
            # The model's VAD ends the caller's turn (and starts the response, unless the session does); it does not
            # cut its own response on speech (interrupt_response false): a cough or "uh-huh" is no interruption,
            # and a real one is cut here, with a truncate at what the caller heard, which the server cannot know.
            detection = {"type": "server_vad", "create_response": respond_on_turn_end, "interrupt_response": False,
                         "silence_duration_ms": self.silence_duration_ms}
        return {
            "type": "realtime",
            "model": self.model,
            "instructions": f"{self.prompt}\n\n{VOICE_RULES}",
            "output_modalities": ["audio"],
            "audio": {
                "input": {"format": audio_format, "turn_detection": detection,
                          "transcription": {"model": self.transcription_model}},
                "output": {"format": audio_format, "voice": self.voice},
            },
            "tools": tools,
            "tool_choice": "auto",
        }


def fill(text: str, values: dict[str, str]) -> str:
    """{name} -> the call's value; a placeholder with no value stays as written (never a KeyError mid-call)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
