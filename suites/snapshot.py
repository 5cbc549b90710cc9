"""What happened on a call, as plain data the expectations judge: built from the stored Call once it has ended.

Expectations never read the database themselves, so each one is tested on a hand-made snapshot, and a field another
part of the app adds later (Call.analysis) is read with a default here, once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from calls.models import Call


@dataclass(frozen=True)
class SnapshotTurn:
    role: str  # "agent" | "caller"
    text: str
    heard_text: str = ""
    interrupted: bool = False
    started_at: datetime | None = None
    end_to_end_ms: float | None = None  # caller's last voiced frame -> first frame of this reply sent


@dataclass(frozen=True)
class CallSnapshot:
    status: str = ""
    end_reason: str = ""
    turns: tuple[SnapshotTurn, ...] = ()
    brain_state: dict = field(default_factory=dict)
    events: tuple[tuple[str, dict], ...] = ()
    analysis: dict = field(default_factory=dict)  # {fields: {...}, summary, success} when post-call analysis ran
    answered_at: datetime | None = None
    call_pk: int | None = None

    @property
    def variables(self) -> dict:
        return self.brain_state.get("variables") or {}

    def agent_texts(self) -> list[str]:
        return [t.text for t in self.turns if t.role == "agent"]

    def events_of(self, *kinds: str) -> list[dict]:
        return [detail for kind, detail in self.events if kind in kinds]

    def waits_s(self) -> list[tuple[float, str]]:
        """How long the caller waited for the agent, each time with what they waited after: the greeting (from
        the answer), then every reply (from the caller's last voiced frame)."""
        waits: list[tuple[float, str]] = []
        first_agent = next((t for t in self.turns if t.role == "agent"), None)
        if first_agent and first_agent.started_at and self.answered_at:
            waits.append(((first_agent.started_at - self.answered_at).total_seconds(), "the answer (greeting)"))
        last_caller = ""
        for turn in self.turns:
            if turn.role == "caller":
                last_caller = turn.text
            elif turn.end_to_end_ms is not None:
                waits.append((turn.end_to_end_ms / 1000, f"the caller said {_short(last_caller)!r}"))
        return waits

    def reply_latencies_ms(self) -> list[float]:
        return [t.end_to_end_ms for t in self.turns if t.role == "agent" and t.end_to_end_ms is not None]

    def transcript(self) -> list[dict]:
        return [{"role": t.role, "text": t.text, "heard": t.heard_text if t.interrupted else None} for t in self.turns]

    def transcript_text(self, last: int | None = None) -> str:
        turns = self.turns[-last:] if last else self.turns
        return "\n".join(f"{t.role}: {t.text}" + (" [interrupted]" if t.interrupted else "") for t in turns)


def snapshot_of(call: Call) -> CallSnapshot:
    turns = tuple(
        SnapshotTurn(role=t.role, text=t.text, heard_text=t.heard_text, interrupted=t.interrupted,
                     started_at=t.started_at, end_to_end_ms=getattr(getattr(t, "metrics", None), "end_to_end_ms", None))
        for t in call.turns.select_related("metrics").order_by("index")
    )
    return CallSnapshot(
        status=call.status, end_reason=call.end_reason, turns=turns, brain_state=call.brain_state or {},
        events=tuple((e.kind, e.detail or {}) for e in call.events.order_by("at", "pk")),
        # Call.analysis arrives with the post-call analysis work; before it, there is nothing to judge.
        analysis=getattr(call, "analysis", None) or {}, answered_at=call.answered_at, call_pk=call.pk,
    )


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
