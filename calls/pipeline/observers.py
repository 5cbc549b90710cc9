"""Latency of one turn, measured from outside the stages: each stage only says when it got somewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class TurnTimer:
    """Monotonic timestamps of one caller turn → agent reply; reports milliseconds from the last voiced frame."""

    last_voiced: float
    endpoint: float | None = None
    stt_started: float | None = None
    stt_final: float | None = None
    brain_started: float | None = None
    brain_first_text: float | None = None
    tts_started: float | None = None
    tts_first_audio: float | None = None
    first_frame_sent: float | None = None
    providers: dict = field(default_factory=dict)
    llm: dict = field(default_factory=dict)  # the brain's model and token usage for the turn, when it reports them

    def mark(self, stage: str) -> None:
        """Record the first time `stage` happened (later calls keep the first)."""
        if getattr(self, stage) is None:
            setattr(self, stage, time.monotonic())

    def _since_voice(self, t: float | None) -> float | None:
        return None if t is None else round((t - self.last_voiced) * 1000, 1)

    @staticmethod
    def _span(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round((b - a) * 1000, 1)

    def as_metrics(self) -> dict:
        """The TurnMetrics fields."""
        return {
            "endpoint_ms": self._since_voice(self.endpoint),
            "stt_final_ms": self._since_voice(self.stt_final),
            "brain_first_text_ms": self._since_voice(self.brain_first_text),
            "tts_first_audio_ms": self._since_voice(self.tts_first_audio),
            "first_frame_sent_ms": self._since_voice(self.first_frame_sent),
            "end_to_end_ms": self._since_voice(self.first_frame_sent),
            "stt_ms": self._span(self.stt_started, self.stt_final),
            "brain_ms": self._span(self.brain_started, self.brain_first_text),
            "tts_ms": self._span(self.tts_started, self.tts_first_audio),
            "providers": self.providers,
        }
