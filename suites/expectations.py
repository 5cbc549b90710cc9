"""What a good call looks like: one small class per kind of expectation, each judging a CallSnapshot.

`check` returns None when the expectation is met and otherwise the failure, written for the person who reads the
result ("reply_contains 'What day': no reply contains it; replies: ..."). A scenario lists them under `expect:`,
one single-key mapping each (`- end_reason: transferred`); EXPECTATIONS maps those keys to the classes.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from .fields import Fields
from .snapshot import CallSnapshot
from .yaml_lines import LineDict, ScenarioError


class Expectation(ABC):
    key: ClassVar[str]

    @classmethod
    @abstractmethod
    def parse(cls, value: object, where: Fields) -> Expectation:
        """From the YAML value under `key`; ScenarioError (via `where.error(key, ...)`) when it makes no sense."""

    @abstractmethod
    def check(self, snap: CallSnapshot) -> str | None: ...

    def fail(self, detail: str) -> str:
        return f"{self.key}: {detail}"


def _text(value: object, where: Fields, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value).strip() == "":
        raise where.error(key, "expected some text")
    return str(value)


class TextExpectation(Expectation):
    """An expectation whose YAML value is one piece of text (its dataclass's only field)."""

    @classmethod
    def parse(cls, value, where):
        return cls(_text(value, where, cls.key))


class MappingExpectation(Expectation):
    """An expectation whose YAML value is a mapping of names to expected values (`~`: any value)."""

    hint: ClassVar[str] = "expected a mapping of name to value (~ for any value)"

    @classmethod
    def parse(cls, value, where):
        if not isinstance(value, LineDict) or not value:
            raise where.error(cls.key, cls.hint)
        return cls(tuple(value.items()))


def _quote_all(texts: list[str], limit: int = 6) -> str:
    shown = [repr(t if len(t) <= 80 else t[:79] + "…") for t in texts[-limit:]]
    return ", ".join(shown) if shown else "(the agent said nothing)"


@dataclass(frozen=True)
class ReplyContains(TextExpectation):
    text: str
    key: ClassVar[str] = "reply_contains"

    def check(self, snap):
        if any(self.text.lower() in t.lower() for t in snap.agent_texts()):
            return None
        return self.fail(f"no reply contains {self.text!r}; replies: {_quote_all(snap.agent_texts())}")


@dataclass(frozen=True)
class ReplyNotContains(TextExpectation):
    text: str
    key: ClassVar[str] = "reply_not_contains"

    def check(self, snap):
        said = [t for t in snap.agent_texts() if self.text.lower() in t.lower()]
        return self.fail(f"the agent said {self.text!r}: {_quote_all(said)}") if said else None


def _same(actual: object, expected: object) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual == expected
    return str(actual).strip().lower() == str(expected).strip().lower()


@dataclass(frozen=True)
class Slots(MappingExpectation):
    """`slots: {name: Peter Brown, time_value: "15:00", day: ~}`: each slot collected with that value (~: any)."""

    expected: tuple[tuple[str, object], ...]
    key: ClassVar[str] = "slots"
    hint: ClassVar[str] = "expected a mapping of slot name to value (~ for any value)"

    def check(self, snap):
        problems = []
        for name, expected in self.expected:
            if name not in snap.variables or snap.variables[name] in (None, ""):
                problems.append(f"{name} was not collected")
            elif expected is not None and not _same(snap.variables[name], expected):
                problems.append(f"{name} is {snap.variables[name]!r}, expected {expected!r}")
        return self.fail("; ".join(problems)) if problems else None


@dataclass(frozen=True)
class ToolCalled(Expectation):
    """`tool_called: {name: book_slot, args: {day: friday}}`: the brain called that tool, with at least those args
    (a CallEvent `tool_call`/`tool` {name, arguments}, or a tool call in the LLM conversation of Call.brain_state)."""

    name: str
    args: tuple[tuple[str, object], ...] = ()
    key: ClassVar[str] = "tool_called"

    @classmethod
    def parse(cls, value, where):
        if isinstance(value, str):
            return cls(value)
        inner = Fields(value, where.name(cls.key), where.source, where.line(cls.key))
        name = inner.get("name", str)
        args = inner.get("args", LineDict, LineDict())
        inner.done()
        return cls(name, tuple(args.items()))

    def calls(self, snap: CallSnapshot) -> list[dict]:
        found = [{"name": d.get("name", ""), "args": d.get("arguments", d.get("args")) or {}}
                 for d in snap.events_of("tool_call", "tool")]
        for message in snap.brain_state.get("messages") or []:
            for call in message.get("tool_calls") or [] if isinstance(message, dict) else []:
                fn = call.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = {}
                found.append({"name": fn.get("name", ""), "args": args})
        return found

    def check(self, snap):
        calls = self.calls(snap)
        named = [c for c in calls if c["name"] == self.name]
        if not named:
            return self.fail(f"{self.name} was not called (tools called: {[c['name'] for c in calls] or 'none'})")
        for call in named:
            if all(k in call["args"] and _same(call["args"][k], v) for k, v in self.args):
                return None
        return self.fail(f"{self.name} was called with {[c['args'] for c in named]}, expected {dict(self.args)}")


@dataclass(frozen=True)
class TransferredTo(TextExpectation):
    target: str
    key: ClassVar[str] = "transferred_to"

    def check(self, snap):
        targets = [str(d.get("target", "")) for d in snap.events_of("transfer")]
        if self.target in targets:
            return None
        return self.fail(f"transferred to {', '.join(targets)}" if targets else "the call was not transferred")


@dataclass(frozen=True)
class EndReason(TextExpectation):
    reason: str
    key: ClassVar[str] = "end_reason"

    def check(self, snap):
        return None if snap.end_reason == self.reason else self.fail(f"the call ended with {snap.end_reason!r}")


@dataclass(frozen=True)
class EventsAtLeast(Expectation):
    """`events_at_least: {reprompt: 2, barge_in: 1}`: at least that many CallEvents of each kind."""

    counts: tuple[tuple[str, int], ...]
    key: ClassVar[str] = "events_at_least"

    @classmethod
    def parse(cls, value, where):
        if not isinstance(value, LineDict) or not value:
            raise where.error(cls.key, "expected a mapping of event kind to a count")
        for kind, count in value.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ScenarioError(f"expected a whole number of at least 1, got {count!r}", line=value.line_of(kind),
                                    field=f"{where.name(cls.key)}.{kind}", source=where.source)
        return cls(tuple(value.items()))

    def check(self, snap):
        problems = [f"{len(snap.events_of(kind))} {kind} event(s), expected at least {count}"
                    for kind, count in self.counts if len(snap.events_of(kind)) < count]
        return self.fail("; ".join(problems)) if problems else None


@dataclass(frozen=True)
class AnalysisFields(MappingExpectation):
    """`analysis: {booked: true, success: true}`: the post-call analysis (Call.analysis) found those values;
    `success` and `summary_contains` read the analysis itself, any other key its `fields`."""

    expected: tuple[tuple[str, object], ...]
    key: ClassVar[str] = "analysis"
    hint: ClassVar[str] = "expected a mapping of analysis field to value (~ for any value)"

    def check(self, snap):
        if not snap.analysis:
            return self.fail("the call has no post-call analysis (is analysis configured for this agent?)")
        fields = snap.analysis.get("fields") or {}
        problems = []
        for name, expected in self.expected:
            if name == "summary_contains":
                if str(expected).lower() not in str(snap.analysis.get("summary", "")).lower():
                    problems.append(f"the summary does not contain {expected!r}")
                continue
            actual = snap.analysis.get("success") if name == "success" else fields.get(name)
            if actual is None:
                problems.append(f"{name} is missing")
            elif expected is not None and not _same(actual, expected):
                problems.append(f"{name} is {actual!r}, expected {expected!r}")
        return self.fail("; ".join(problems)) if problems else None


@dataclass(frozen=True)
class MaxDeadAir(Expectation):
    """`max_dead_air_s: 4`: the caller never waited longer than that for the agent to start speaking."""

    seconds: float
    key: ClassVar[str] = "max_dead_air_s"

    @classmethod
    def parse(cls, value, where):
        return cls(where.number(cls.key, minimum=0.1))

    def check(self, snap):
        waits = snap.waits_s()
        if not waits:
            return self.fail("the agent never spoke")
        longest, after = max(waits)
        if longest <= self.seconds:
            return None
        return self.fail(f"{longest:.1f} s of dead air after {after}, more than {self.seconds:g} s")


@dataclass(frozen=True)
class LatencyP95(Expectation):
    """`latency_p95_under_ms: 2500`: the 95th percentile of the reply latency (caller's end of speech -> first reply
    frame, TurnMetrics.end_to_end_ms) stays under that."""

    ms: float
    key: ClassVar[str] = "latency_p95_under_ms"

    @classmethod
    def parse(cls, value, where):
        return cls(where.number(cls.key, minimum=1))

    def check(self, snap):
        values = sorted(snap.reply_latencies_ms())
        if not values:
            return self.fail("no reply was measured")
        p95 = values[max(0, math.ceil(0.95 * len(values)) - 1)]  # nearest rank
        if p95 < self.ms:
            return None
        return self.fail(f"p95 {p95:.0f} ms over {len(values)} replies, not under {self.ms:g} ms")


EXPECTATIONS: dict[str, type[Expectation]] = {
    cls.key: cls
    for cls in (ReplyContains, ReplyNotContains, Slots, ToolCalled, TransferredTo, EndReason, EventsAtLeast,
                AnalysisFields, MaxDeadAir, LatencyP95)
}


def register(cls: type[Expectation]) -> type[Expectation]:
    """Adds an expectation kind (the LLM judge registers itself this way)."""
    EXPECTATIONS[cls.key] = cls
    return cls
