"""The slice of an Agent a session needs, read once at call start (no ORM on the call path)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class AgentSettings:
    barge_in_enabled: bool = True
    barge_in_min_ms: int = 200
    end_of_turn_silence_ms: int = 300
    silence_timeout_s: float = 8.0
    max_reprompts: int = 2
    max_duration_s: float = 600.0
    min_speech_ms: int = 120
    speculate_ms: int = 100
    chunk_ms: int = 20
    lead_ms: int = 200
    mark_every_ms: int = 200
    language: str = "en"  # the caller's language ("en", "es-419"...): which backchannels and stop words count
    # Turn-taking strategies by name (`calls.session.turn_taking`): when the caller's turn has ended, and whether
    # their speech over the agent's is an interruption. Options for them, by strategy name.
    end_of_turn: str = "silence+provider"
    # The longest silence a strategy that waits for more (smart-turn after an "incomplete" verdict; provider
    # endpointing as its backstop) lets pass before ending the turn; and the short silence after which the
    # smart-turn model is asked.
    end_of_turn_max_silence_ms: int = 1200
    smart_turn_silence_ms: int = 60
    interruption: str = "voiced-time"
    turn_taking_options: dict = field(default_factory=dict)
    # Noise suppression on the caller's audio before VAD and STT, by name (`calls.pipeline.denoise`: "deepfilternet");
    # "" = off, the default (what it costs and what it does to WER: docs/benchmarks.md, word error rate).
    noise_suppression: str = ""
    noise_suppression_options: dict = field(default_factory=dict)  # e.g. {"atten_lim_db": 6}
