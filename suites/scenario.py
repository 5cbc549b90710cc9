"""A scenario file: who calls (voice, pace, noise, carrier), what they say or press, and what must have happened.

    name: booking by voice
    carrier: twilio            # twilio | telnyx
    time_limit_s: 150          # the call is hung up and the scenario fails ("timed out") after this
    caller: {voice: piper-joe, wpm: 165, noise: babble, snr_db: 20}
    lines:
      - say: I would like to book an appointment
      - say: Next Friday
        pause_s: 1.5           # silence before saying it
      - dtmf: "1"
      - barge_in: Actually, I want to book   # spoken over the reply to the line before
        after_ms: 800
      - pause_s: 30            # a line that is only a pause: the caller goes quiet
    expect:
      - reply_contains: What day works best
      - end_reason: transferred

`parse_scenario` reads one file in full or raises ScenarioError naming the line and field; nothing runs before
every scenario of a run has parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import judge  # noqa: F401 - registers the LLM judge's `judge:` expectation
from .caller.peers import PEERS
from .caller.speech import NOISES, WPM
from .expectations import EXPECTATIONS, Expectation
from .fields import Fields
from .persona import Persona
from .yaml_lines import LineList, ScenarioError, load

VOICES_HINT = "espeak, piper-joe or kokoro-<speaker>"
DEFAULT_VOICE = "piper-joe"  # a natural voice: what a figure measured on espeak's robot says little about
DEFAULT_TIME_LIMIT_S = 120.0
MAX_TIME_LIMIT_S = 900.0


@dataclass(frozen=True)
class Voice:
    voice: str = DEFAULT_VOICE
    wpm: int = WPM
    noise: str = "pink"
    snr_db: float | None = None  # None: clean line

    def speech_options(self) -> dict:
        return {"voice": self.voice, "wpm": self.wpm, "noise": self.noise, "noise_snr_db": self.snr_db}


@dataclass(frozen=True)
class Line:
    """One thing the caller does: say words (`barge_in_after_ms` into the agent's reply, or once it is done), press
    a key, or only wait (`pause_s` with neither)."""

    say: str = ""
    dtmf: str = ""
    pause_s: float = 0.0
    barge_in_after_ms: int | None = None
    voice: Voice = field(default_factory=Voice)
    line: int = 0


@dataclass(frozen=True)
class Scenario:
    name: str
    lines: tuple[Line, ...]
    expectations: tuple[Expectation, ...]
    description: str = ""
    carrier: str = "twilio"
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    caller: Voice = field(default_factory=Voice)
    persona: Persona | None = None  # after the lines (if any), an LLM decides what the caller says


def parse_scenario(text: str, source: str = "") -> Scenario:
    top = Fields(load(text, source), "", source, 1)
    name = top.get("name", str).strip()
    if not name:
        raise top.error("name", "a scenario needs a name")
    description = top.get("description", str, "")
    carrier = top.get("carrier", str, "twilio")
    if carrier not in PEERS:
        raise top.error("carrier", f"unknown carrier {carrier!r} (expected one of: {', '.join(sorted(PEERS))})")
    time_limit = top.number("time_limit_s", DEFAULT_TIME_LIMIT_S, minimum=1)
    if time_limit > MAX_TIME_LIMIT_S:
        raise top.error("time_limit_s", f"at most {MAX_TIME_LIMIT_S:g} s")
    caller = _voice(top.get("caller", object, None), top, "caller", Voice())
    persona = _persona(top)
    lines = () if persona and "lines" not in top.data else tuple(
        _line(item, top, i, caller) for i, item in enumerate(_list(top, "lines")))
    expectations = tuple(_expectation(item, top, i) for i, item in enumerate(_list(top, "expect")))
    top.done()
    return Scenario(name=name, description=description, carrier=carrier, time_limit_s=time_limit, caller=caller,
                    lines=lines, expectations=expectations, persona=persona)


def _persona(top: Fields) -> Persona | None:
    value = top.get("persona", object, None)
    if value is None:
        return None
    f = Fields(value, "persona", top.source, top.line("persona"))
    goal = f.get("goal", str).strip()
    if not goal:
        raise f.error("goal", "say who the caller is and what they want")
    max_turns = int(f.number("max_turns", float(Persona.max_turns), minimum=1))
    model = f.get("model", str, Persona.model)
    f.done()
    return Persona(goal=goal, max_turns=max_turns, model=model)


def _list(top: Fields, key: str) -> LineList:
    items = top.get(key, list)
    if not items:
        raise top.error(key, f"{key!r} needs at least one entry")
    return items


def _item_line(items: LineList, i: int) -> int:
    return items.item_lines[i] if isinstance(items, LineList) else 0


def _voice(value: object, parent: Fields, key: str, base: Voice) -> Voice:
    if value is None:
        return base
    f = Fields(value, parent.name(key), parent.source, parent.line(key))
    voice = f.get("voice", str, base.voice)
    if voice != "espeak" and voice != "piper-joe" and not voice.startswith("kokoro-"):
        raise f.error("voice", f"unknown voice {voice!r} (expected {VOICES_HINT})")
    wpm = int(f.number("wpm", float(base.wpm), minimum=60))
    noise = f.get("noise", str, base.noise)
    if noise not in NOISES:
        raise f.error("noise", f"unknown noise {noise!r} (expected one of: {', '.join(NOISES)})")
    snr = f.get("snr_db", (float, type(None)), base.snr_db)
    f.done()
    return Voice(voice=voice, wpm=wpm, noise=noise, snr_db=snr)


def _line(item: object, top: Fields, i: int, caller: Voice) -> Line:
    items = top.data["lines"]
    f = Fields(item, f"lines[{i}]", top.source, _item_line(items, i))
    said = [k for k in ("say", "barge_in", "dtmf") if k in f.data]
    if len(said) > 1:
        raise f.error(said[1], f"a line either says, barges in or presses a key: not {' and '.join(said)}")
    pause = f.number("pause_s", 0.0)
    if not said and not pause:
        raise f.error(None, "a line needs say, barge_in, dtmf or pause_s")
    say = f.get("say", str, "") or f.get("barge_in", str, "")
    if said and said[0] != "dtmf" and not say.strip():
        raise f.error(said[0], "the words to say are empty")
    dtmf = f.get("dtmf", str, "")
    if dtmf and (len(dtmf) != 1 or dtmf not in "0123456789*#"):
        raise f.error("dtmf", f"one key of 0-9, * or #, got {dtmf!r}")
    barge = None
    if "barge_in" in f.data:
        barge = int(f.number("after_ms", 700.0))
        if i == 0:
            raise f.error("barge_in", "the first line cannot barge in: there is no reply to talk over yet "
                          "(the greeting is not interruptible in every flow)")
    voice = _voice(f.get("voice", object, None), f, "voice", caller)
    f.done()
    return Line(say=say.strip(), dtmf=dtmf, pause_s=pause, barge_in_after_ms=barge, voice=voice, line=f.line())


def _expectation(item: object, top: Fields, i: int) -> Expectation:
    items = top.data["expect"]
    f = Fields(item, f"expect[{i}]", top.source, _item_line(items, i))
    if len(f.data) != 1:
        raise f.error(None, "each expectation is one `kind: value` entry (a new `- ` for the next one)")
    (key,) = f.data
    kind = EXPECTATIONS.get(key)
    if kind is None:
        raise f.error(key, f"unknown expectation {key!r} (expected one of: {', '.join(sorted(EXPECTATIONS))})")
    f.get(key, object)
    return kind.parse(f.data[key], f)


def parse_many(sources: list[tuple[str, str]]) -> list[Scenario]:
    """Every (source name, text) parsed, or the first ScenarioError: a run starts only when all of them are good;
    two scenarios with one name are an error too (results are kept by name)."""
    scenarios = [parse_scenario(text, source) for source, text in sources]
    seen: dict[str, str] = {}
    for (source, _), scenario in zip(sources, scenarios, strict=True):
        if scenario.name in seen:
            raise ScenarioError(f"the name {scenario.name!r} is also used by {seen[scenario.name]}", field="name",
                                source=source)
        seen[scenario.name] = source
    return scenarios
