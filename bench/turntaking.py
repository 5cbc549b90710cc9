"""Turn-taking measured with human-like callers: `python -m bench --scenario turntaking`.

A labelled test set spoken by three neural voices (Piper "joe", US; Kokoro-82M "jm_kumo" and "jf_alpha", a man and a
woman with a Japanese accent), clean and with pink or babble-like background noise under the whole line, carried over 8 kHz
μ-law, fed frame by frame in real time into an in-process `CallSession` with the real local Whisper STT
(tiny.en; speech over the agent judged by the assembled Whisper base, the STT's `judge_model`), the real strategies (the agent default: words-based interruptions; end of turn on silence, or
smart-turn), the real playout and a carrier that plays in real time (voicebot/testing/in_process.py). The brain and the
TTS are stand-ins (a scripted long answer; numbered frames so "heard" is exact): they are not what is measured.

- Over the agent's long answer: backchannels, noises (a cough-like burst, a click pair, a 250 ms noise burst:
  voice-independent), real interruptions. A backchannel or noise is a *false interruption* when it cut the agent
  off for good (a barge-in, no resume); a real interruption is *missed* when it never became a barge-in;
  onset -> agent quiet is from the first sample of the caller's speech to the end of the last 20 ms of the answer
  the carrier played without a break after it (the hold's pause or the barge-in's `clear`, whichever came first:
  when the caller stops hearing the agent; 0 if noise had already paused it). Pauses per trial: how often the
  agent was held (paused, then resumed or cut) in a trial with one caller sound: above 1, the noise paused it.
- End of turn: a complete sentence, then silence; from the last sample of speech to the session's end of turn.
- Cut-offs: a sentence with a 400-800 ms pause inside it; cut off = the session ended the turn in the pause.
  A turn that never ends (noise the VAD takes for voice) is no cut-off: read the "not ended" column beside it.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import numpy as np

RATE = 8000
FRAME = RATE * 2 // 50  # 20 ms of PCM16
# No espeak: callers do not sound like it, and tiny.en misreads its words ("What about Sunday?" -> "Welcome out
# Sunday."): in the runs of 2026-12-05 all 4 missed interruptions of 54 were espeak's (docs/benchmarks.md).
VOICES = ("piper-joe", "kokoro-jm_kumo", "kokoro-jf_alpha")
CONDITIONS = (("clean", None, ""), ("pink 15 dB", 15.0, "pink"), ("babble 15 dB", 15.0, "babble"))
BACKCHANNELS = ("Uh-huh.", "Okay.", "Yeah.", "Mm-hm.", "Right.", "I see.", "Sure.", "Mhm.")
# "What about Sunday?" has no stop word: only its content words (and how sure Whisper is of them) can stop the agent.
INTERRUPTIONS = ("Sorry, actually I meant Tuesday.", "Wait.", "No, I meant the other clinic.",
                 "Wait, can I talk to a person?", "Hold on a second.", "What about Sunday?")
NOISES = ("cough", "clicks", "burst")
COMPLETE = ("I would like to book an appointment for tomorrow morning.", "Do you accept insurance from Blue Cross?",
            "Please transfer me to the front desk.", "Can I come in next Friday at nine thirty?",
            "My name is Eleanor Fitzgerald.", "Yes, that works for me.")
PAUSED = (("My number is five five five", "two one three four.", 400),
          ("I would like to book an", "appointment for Friday.", 600),
          ("So I was wondering if", "you are open on Sunday.", 800))
END_OF_TURN = ("silence+provider", "smart-turn")
LONG_ANSWER = ("We are open Monday to Friday from nine in the morning until six in the evening. "
               "On Saturdays we open from ten until two, and on Sundays we are closed all day. "
               "Parking is free behind the building, and the entrance is on the left side. "
               "If you need to cancel, please call us at least a day before your appointment.")
GOALS = {"false_pct": 5.0, "missed_pct": 2.0, "onset_to_clear_p95_ms": 250.0, "end_of_turn_p50_ms": 200.0,
         "cut_off_pct": 5.0}


# ---------------------------------------------------------------------------------------------- the sounds


def _ulaw(pcm: bytes) -> bytes:
    from calls.pipeline.audio import get_codec

    codec = get_codec("PCMU", RATE)
    return codec.decode(codec.encode(pcm))


def _trimmed(text: str, voice: str, take: int = 0) -> bytes:
    from voicebot.testing.speech import caller_speech

    return caller_speech(text, RATE, voice=voice, trim=True, take=take)


def _noise_event(kind: str, seed: int) -> bytes:
    """A short non-speech sound a caller makes (a voice-independent stand-in): ~250 ms."""
    rng = np.random.default_rng(seed)
    n = RATE // 4
    t = np.arange(n) / RATE
    if kind == "cough":  # a harsh broadband burst with a fast attack and a decay, a little voicing under it
        env = np.minimum(1.0, t / 0.01) * np.exp(-t / 0.08)
        sound = (rng.standard_normal(n) * 0.8 + 0.4 * np.sin(2 * np.pi * 180 * t)) * env
    elif kind == "clicks":  # two sharp clicks 120 ms apart (a handset bump, a pen)
        sound = np.zeros(n)
        for at in (0, int(0.12 * RATE)):
            sound[at : at + 40] = rng.standard_normal(40) * np.exp(-np.arange(40) / 8)
    elif kind == "burst":  # 250 ms of rustle
        sound = rng.standard_normal(n) * np.minimum(1.0, np.minimum(t, 0.25 - t) / 0.02)
    else:
        raise ValueError(kind)
    return (sound / max(1e-9, np.abs(sound).max()) * 16000).astype("<i2").tobytes()


class Line:
    """The caller's side of the line: what they say, with the background noise of the condition under all of it."""

    def __init__(self, snr_db: float | None, ref_level: float, seed: int, kind: str = "babble") -> None:
        from voicebot.testing.speech import make_noise

        self.snr_db = snr_db
        self._bed = b""
        if snr_db is not None:
            bed = np.frombuffer(make_noise(RATE * 30, RATE, kind, seed=seed), "<i2").astype(np.float64)
            gain = np.sqrt(ref_level / (np.mean(bed**2) * 10 ** (snr_db / 10)))
            self._bed = (bed * gain).astype("<i2").tobytes()
        self._pos = 0

    def carry(self, pcm: bytes) -> bytes:
        """`pcm` with the noise under it, through μ-law, as the session receives it."""
        if self._bed:
            n = len(pcm)
            bed = (self._bed * 2)[self._pos : self._pos + n]
            self._pos = (self._pos + n) % len(self._bed)
            mixed = np.frombuffer(pcm, "<i2").astype(np.int32) + np.frombuffer(bed, "<i2")
            pcm = np.clip(mixed, -32768, 32767).astype("<i2").tobytes()
        return _ulaw(pcm)


# ---------------------------------------------------------------------------------------------- one call


class Trial:
    """One in-process call: real session, real Whisper, real strategies, a carrier playing in real time."""

    def __init__(self, greeting: str, end_of_turn: str, line: Line, *, brain=None, tts=None) -> None:
        """`brain`/`tts`: the call's own (bench/stall.py: an LLM behind a fallback, the embedded voice); by default
        the stand-ins that greet with `greeting` and answer at once."""
        from calls.providers.base import TextDelta
        from calls.providers.stt.whisper_local import WhisperSTT
        from calls.session.call_session import CallSession
        from calls.session.settings import AgentSettings
        from calls.session.turn_taking import AGENT_DEFAULT_INTERRUPTION
        from voicebot.testing.in_process import (
            HexSerializer,
            KeepingRecorder,
            NumberedTTS,
            PlayingCarrier,
            ScriptBrain,
        )

        class Brain(ScriptBrain):
            async def greeting(self):
                yield TextDelta(greeting)

        self.line = line
        self.carrier = PlayingCarrier()
        self.recorder = KeepingRecorder()
        self.tts = tts or NumberedTTS()
        self.brain = brain or Brain(greeting=greeting, answer="Okay.")
        settings = AgentSettings(interruption=AGENT_DEFAULT_INTERRUPTION, end_of_turn=end_of_turn)

        async def close() -> None:
            pass

        self.session = CallSession(call_id="CAturn", settings=settings, serializer=HexSerializer(),
                                   send=self.carrier.send, close=close, stt=WhisperSTT(RATE), tts=self.tts,
                                   brain=self.brain, recorder=self.recorder, sample_rate=RATE)
        self.carrier.playout = self.session.playout
        self.ends: list[float] = []  # loop times of the session's end-of-turn decisions
        session_end = self.session._end_of_turn

        def end_of_turn() -> None:
            self.ends.append(asyncio.get_running_loop().time())
            session_end()

        self.session._end_of_turn = end_of_turn
        self.session.end_of_turn.bind(end_of_turn)
        self._next_at = 0.0

    async def __aenter__(self) -> Trial:
        self.carrier.start()
        await self.session.start()
        self._next_at = asyncio.get_running_loop().time()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.stop()
        await self.carrier.stop()

    async def feed(self, pcm: bytes) -> tuple[float | None, float | None]:
        """`pcm` (the caller's clean sound) on the line in real time; the loop times of its first and last
        non-silent frames."""
        loop = asyncio.get_running_loop()
        first = last = None
        quiet = np.frombuffer(pcm, "<i2")
        for off in range(0, len(pcm) - len(pcm) % FRAME, FRAME):
            now = loop.time()
            if np.abs(quiet[off // 2 : off // 2 + FRAME // 2]).max(initial=0) > 300:
                first = first if first is not None else now
                last = now + 0.02
            self.session.on_audio(self.line.carry(pcm[off : off + FRAME]))
            self._next_at += 0.02
            await asyncio.sleep(max(0.0, self._next_at - loop.time()))
        return first, last

    async def silence_until(self, predicate, max_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        while loop.time() < deadline and not predicate():
            await self.feed(bytes(FRAME))

    def greeting_numbers(self) -> list[int]:
        return [n for numbers in self.tts.numbers.values() for n in numbers]


async def _over_the_answer(sound: bytes, line: Line, kind: str) -> dict:
    """The caller makes `sound` 0.8 s into the agent's long answer."""
    async with Trial(LONG_ANSWER, "silence+provider", line) as call:
        await call.silence_until(lambda: call.carrier.played > 0, 5.0)
        await call.silence_until(lambda: False, 0.8)
        onset, _ = await call.feed(sound)
        stats = call.session.stats
        if kind == "interruption":
            await call.silence_until(lambda: stats.barge_ins > 0, 2.0)
        else:  # a barge-in, or the hold released and the utterance judged (a backchannel event)
            await call.silence_until(lambda: stats.barge_ins > 0 or (
                stats.holds == stats.resumes and any(k == "backchannel" for k, _ in call.recorder.events)), 2.5)
            await call.silence_until(lambda: False, 0.3)
        clears = [t for t in call.carrier.times("clear") if onset is not None and t >= onset]
        return {"onset_to_quiet_ms": _onset_to_quiet(call.carrier.times("play"), onset),"barge_in": stats.barge_ins > 0, "holds": stats.holds, "resumes": stats.resumes,
                "onset_to_clear_ms": round((clears[0] - onset) * 1000, 1) if clears else None,
                "caller_turns": [t.text for t in call.recorder.turns if t.role == "caller"],
                "backchannel_events": [d for k, d in call.recorder.events if k == "backchannel"],
                "barge_in_events": [d for k, d in call.recorder.events if k == "barge_in"]}


def _onset_to_quiet(plays: list[float], onset: float | None) -> float | None:
    """From the caller's first sample to the end of the last 20 ms of the agent the carrier played without a break
    (0: the agent was already quiet, e.g. paused by the line's noise)."""
    if onset is None:
        return None
    after = [t for t in plays if t >= onset - 0.02]
    if not after or after[0] > onset + 0.04:
        return 0.0
    for here, there in zip(after, after[1:]):
        if there - here > 0.06:
            return round(max(0.0, here - onset) * 1000, 1)
    return round(max(0.0, after[-1] - onset) * 1000, 1)


async def _end_of_turn(parts: list[bytes], pauses_ms: list[int], line: Line, strategy: str) -> dict:
    """The caller says `parts` with `pauses_ms` between them, then is quiet: when did the session end turns?"""
    async with Trial("Hi.", strategy, line) as call:
        await call.silence_until(lambda: call.carrier.played > 0 and not call.session.speaker.busy, 5.0)
        await call.silence_until(lambda: False, 0.3)
        ends_before = len(call.ends)
        first_speech = None
        for i, part in enumerate(parts):
            start, last = await call.feed(part)
            first_speech = first_speech or start
            if i < len(pauses_ms):
                await call.feed(bytes(RATE * 2 * pauses_ms[i] // 1000))
        await call.silence_until(lambda: len(call.ends) > ends_before, 2.5)
        # ... and until the reply was heard (or 2.5 s passed: a turn the noise keeps open, an unanswered one).
        await call.silence_until(lambda: any(t >= last for t in call.carrier.times("play")), 2.5)
        ends = [t for t in call.ends[ends_before:] if first_speech is not None and t >= first_speech]
        after = [t for t in ends if t >= last]
        plays = [t for t in call.carrier.times("play") if first_speech is not None and t > first_speech]
        talked_over = any(t < last - 0.02 for t in plays)  # the agent spoke before the caller had finished
        turns = [t.text for t in call.recorder.turns if t.role == "caller" and t.text]
        return {"ends": len(ends), "early_end": len(ends) > len(after), "talked_over": talked_over,
                "caller_turns": turns, "cut_off": talked_over or len(turns) > 1,
                "end_of_turn_ms": round((after[0] - last) * 1000, 1) if after else None,
                "reply_ms": round((plays[0] - last) * 1000, 1) if plays and plays[0] >= last - 0.02 else None,
                "waited_unfinished": call.session.stats.unfinished, "room_waits": call.session.stats.room_waits,
                "smart_turn_asks": getattr(call.session.end_of_turn, "asks", None),
                "smart_turn_p": getattr(call.session.end_of_turn, "last_probability", None),
                "smart_turn_verdicts": [[ms, round(p, 3), noisy] for ms, p, noisy
                                        in getattr(call.session.end_of_turn, "verdicts", ())],
                "smart_turn_ms": getattr(call.session.end_of_turn, "last_latency_ms", None),
                "words_capped": getattr(call.session.end_of_turn, "words_capped", None)}


# ---------------------------------------------------------------------------------------------- the set


VOICE_NAMES = {"piper-joe": 'Piper "joe" (neural, US)', "kokoro-jm_kumo": 'Kokoro-82M "jm_kumo" (neural, accented)',
               "kokoro-jf_alpha": 'Kokoro-82M "jf_alpha" (neural, accented, a woman)',
               "espeak": "espeak-ng (the robot reference)"}


def _voices_said(data: dict) -> str:
    voices = [v for v in VOICE_NAMES if any(t.get("voice") == v for t in data.get("trials", []))] or list(VOICES)
    names = [VOICE_NAMES.get(v, v) for v in voices]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _verdicts_said(trial: dict) -> str:
    """Smart Turn's verdicts in a trial: p after how much silence, and on which line."""
    verdicts = trial.get("smart_turn_verdicts")
    if not verdicts:
        return ""
    said = ", ".join(f"{p:.2f} at {ms} ms{' (noisy line)' if noisy else ''}" for ms, p, noisy in verdicts)
    return f"; verdicts {said}"


def _pct(flags: list[bool]) -> float | None:
    return round(100.0 * sum(flags) / len(flags), 1) if flags else None


async def _measure(log, voices=VOICES, conditions=None, parts=("over", "eot")) -> dict:
    """`voices`, `conditions` (names, e.g. ["clean"]) and `parts` ("over": over the answer; "eot": end of turn
    and cut-offs) pick a subset while developing; the published table is the whole set."""
    from calls.providers.stt.whisper_engine import get_whisper
    from voicebot.testing.speech import active_level

    get_whisper().warm_up()
    trials: list[dict] = []
    seed = 0
    for cond, snr, noise in CONDITIONS:
        if conditions and cond not in conditions:
            continue
        for voice in voices:
            ref = active_level(np.frombuffer(_trimmed(COMPLETE[0], voice), "<i2"), RATE)
            started = time.monotonic()
            items = [("backchannel", t, _trimmed(t, voice)) for t in BACKCHANNELS]
            items += [("interruption", t, _trimmed(t, voice)) for t in INTERRUPTIONS]
            if "over" not in parts:
                items = []
            elif voice == VOICES[0]:
                items += [("noise", k, _noise_event(k, i)) for i, k in enumerate(NOISES)]
            for kind, text, sound in items:
                seed += 1
                r = await _over_the_answer(bytes(RATE // 5) + sound, Line(snr, ref, seed, noise), kind)
                trials.append({"test": "over_answer", "kind": kind, "text": text, "voice": voice if kind != "noise"
                               else "-", "condition": cond} | r)
            for strategy in END_OF_TURN if "eot" in parts else ():
                for text in COMPLETE:
                    seed += 1
                    r = await _end_of_turn([_trimmed(text, voice, seed)], [], Line(snr, ref, seed, noise), strategy)
                    trials.append({"test": "complete", "strategy": strategy, "text": text, "voice": voice,
                                   "condition": cond} | r)
                for first, second, pause in PAUSED:
                    seed += 1
                    r = await _end_of_turn([_trimmed(first, voice, seed), _trimmed(second, voice, seed)], [pause],
                                           Line(snr, ref, seed, noise), strategy)
                    trials.append({"test": "paused", "strategy": strategy, "text": f"{first} … {second}",
                                   "pause_ms": pause, "voice": voice, "condition": cond} | r)
            log(f"  {voice}, {cond}: {time.monotonic() - started:.0f} s")
    return summarise(trials)


#: Which trials each part of the set makes ("over": over the answer; "eot": end of turn and cut-offs).
PART_TESTS = {"over": ("over_answer",), "eot": ("complete", "paused")}


def merged(stored: dict | None, fresh: dict, parts, measured_on: str) -> dict:
    """`fresh` figures of some `parts`, with the stored run's trials of the other parts (a run of one part, e.g.
    `--turntaking-part eot`, keeps the other's published trials), summarised again; `runs` says where and when each
    part was measured (`measured_on`: this run's machine and load)."""
    kept = tuple(test for part, tests in PART_TESTS.items() if part not in parts for test in tests)
    old = [t for t in (stored or {}).get("trials", []) if t.get("test") in kept]
    runs = {part: info for part, info in ((stored or {}).get("runs") or {}).items() if part not in parts}
    return summarise(old + fresh["trials"]) | {"runs": runs | {part: f"the {part} part: {measured_on}" for part in parts}}


def summarise(trials: list[dict]) -> dict:
    """The figures of a list of trials: overall, and per voice and condition."""
    from bench.report import percentile

    def figures(rows: list[dict]) -> dict:
        over = [r for r in rows if r["test"] == "over_answer"]
        false = [r["barge_in"] for r in over if r["kind"] in ("backchannel", "noise")]
        true = [r for r in over if r["kind"] == "interruption"]
        clears = [r["onset_to_quiet_ms"] for r in true if r["barge_in"] and r["onset_to_quiet_ms"] is not None]
        out = {"false_pct": _pct(false), "false_n": len(false), "missed_pct": _pct([not r["barge_in"] for r in true]),
               "missed_n": len(true), "onset_to_clear_p50_ms": percentile(clears, 50),
               "onset_to_clear_p95_ms": percentile(clears, 95),
               "holds_per_trial": round(statistics.mean(r["holds"] for r in over), 2) if over else None}
        for strategy in END_OF_TURN:
            complete = [r for r in rows if r["test"] == "complete" and r["strategy"] == strategy]
            paused = [r for r in rows if r["test"] == "paused" and r["strategy"] == strategy]
            eot = [r["end_of_turn_ms"] for r in complete]
            replies = [r["reply_ms"] for r in complete if r.get("reply_ms") is not None]
            out[strategy] = {"end_of_turn_p50_ms": percentile([e for e in eot if e is not None], 50),
                             "end_of_turn_p95_ms": percentile([e for e in eot if e is not None], 95),
                             "reply_p50_ms": percentile(replies, 50),
                             "no_end_of_turn": sum(e is None for e in eot), "complete_n": len(eot),
                             "cut_off_pct": _pct([r["cut_off"] for r in paused]), "paused_n": len(paused),
                             "early_end_pct": _pct([r.get("early_end", r["cut_off"]) for r in paused]),
                             # A whole sentence with no pause in it can be cut off too (at a comma, a breath).
                             "complete_cut_off_n": sum(r["cut_off"] for r in complete),
                             "complete_early_n": sum(bool(r.get("early_end")) for r in complete)}
        return out

    groups = {"all": figures(trials)}
    for voice in VOICES:
        for cond, _, _ in CONDITIONS:
            rows = [r for r in trials if (r["voice"] == voice or (r["voice"] == "-" and voice == VOICES[0]))
                    and r["condition"] == cond]
            if rows:
                groups[f"{voice} / {cond}"] = figures(rows)
    noise_rows = [r for r in trials if r.get("kind") == "noise"]
    return {"groups": groups, "noise_false": [(r["text"], r["condition"], r["barge_in"]) for r in noise_rows],
            "trials": trials, "goals": GOALS}


def run(log=print, **subset) -> dict:
    """The whole set, or a subset (`voices`, `conditions`, `parts`: see `_measure`)."""
    return asyncio.run(_measure(log, **subset))


def _f(value, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


WHY_UNENDED = ": babble the VAD (webrtcvad) takes for the caller's voice keeps the turn open"


def _met(value, goal) -> str:
    return "–" if value is None else ("met" if value <= goal else "missed")


def _eot_reading(data: dict) -> str:
    """The end-of-turn part of "How to read it", from the figures."""
    # Deferred like every app import in this module: `python -m bench` sets Django up before the app is imported.
    from calls.session.smart_turn import EndOfTurnBands

    g = data["groups"]["all"]
    s, t = g["silence+provider"], g["smart-turn"]
    rows = [r for r in data["trials"] if r["test"] == "complete"]
    unended = {k: [r for r in rows if r["strategy"] == k and r["end_of_turn_ms"] is None] for k in END_OF_TURN}
    where = "; ".join(f"{r['voice']}, {r['condition']}" for r in unended["smart-turn"]) or "none"
    babble_unended = any("babble" in r["condition"] for k in END_OF_TURN for r in unended[k])
    unanswered = {k: [r for r in rows if r["strategy"] == k and r.get("reply_ms") is None] for k in END_OF_TURN}
    where_unanswered = "; ".join(f"{r['voice']}, {r['condition']}" for r in unanswered["smart-turn"]) or "none"
    bands = EndOfTurnBands()
    smart_rows = [r for r in rows if r["strategy"] == "smart-turn"]
    verdicts = [r["smart_turn_p"] for r in smart_rows if r.get("smart_turn_p") is not None]
    sure = sum(p >= bands.complete_at for p in verdicts)
    likely = sum(p >= bands.likely_at for p in verdicts)
    # The model's own time (asked -> verdict on the event loop) is the CPU's: it sets how soon a sure verdict ends a
    # turn, so the figures of two machines compare only beside it.
    answered = sorted(r["smart_turn_ms"] for r in smart_rows if r.get("smart_turn_ms") is not None)
    model_ms = (f" The model answered p50 {_f(round(statistics.median(answered)))} ms after it was asked on this machine "
                f"(its CPU sets how soon a sure verdict ends a turn)." if answered else "")
    words = [r for r in smart_rows if r.get("words_capped")]
    words_read = (f" A transcript that read finished came while the turn was still open and capped the model's wait "
                  f"at the silence rule in {len(words)} of {len(smart_rows)} (a short answer's, or any sentence's on a "
                  f"quiet line)." if answered else "")
    return f"""End of turn, smart-turn (an agent's option, `calls/session/smart_turn.py`; the default is the silence
rule): asked 60 ms into the
caller's silence, Smart Turn's probability sets the wait — at or above {bands.complete_at:g} the turn ends at once,
from {bands.likely_at:g} after {bands.likely_silence_ms} ms of silence, from {bands.threshold:g} after
{bands.unsure_silence_ms} ms, below {bands.threshold:g} after the agent's longest wait (1200 ms), and on a noisy line (its
noise less than 30 dB below the caller) a verdict short of {bands.complete_at:g} waits one band longer; its last verdict on
a complete sentence was at or above {bands.complete_at:g} in {sure} of {len(verdicts)}, at or above
{bands.likely_at:g} in {likely} (the model answered within a turn's end in {len(verdicts)} of {len(smart_rows)}).{model_ms}{words_read} A
transcript that then reads
unfinished (a trailing article, conjunction or preposition, "Wait.", a phone number under way:
`calls/session/completeness.py`) still waits for the caller to go on, up to that longest wait. After a complete
sentence the turn ended after p50 {_f(t['end_of_turn_p50_ms'])} ms (p95 {_f(t['end_of_turn_p95_ms'])}; goal ≤ 200:
{_met(t['end_of_turn_p50_ms'], GOALS['end_of_turn_p50_ms'])}), the silence rule {_f(s['end_of_turn_p50_ms'])} ms;
reply p50 {_f(t.get('reply_p50_ms'))} / {_f(s.get('reply_p50_ms'))} ms (smart-turn / silence), transcript included.
Cut off mid-sentence: {_f(t['cut_off_pct'], ' %')} of {t['paused_n']} with smart-turn (goal ≤ 5 %:
{_met(t['cut_off_pct'], GOALS['cut_off_pct'])}), {_f(s['cut_off_pct'], ' %')} with the silence rule. Of the
{t['complete_n']} complete sentences (no pause written in them), the session ended a turn inside
{_f(t.get('complete_early_n'))} with smart-turn and {_f(s.get('complete_early_n'))} with the silence rule, and
{_f(t.get('complete_cut_off_n'))} / {_f(s.get('complete_cut_off_n'))} of those were cut off (the agent spoke over the
caller, or the sentence was stored as two turns); in the others the caller went on before the reply and the session
took the turn back. Complete turns
not ended within 2.5 s: {len(unended['smart-turn'])} of {t['complete_n']} with smart-turn ({where}),
{len(unended['silence+provider'])} with the silence rule{WHY_UNENDED if babble_unended else ''}. Complete
turns with no reply heard within 2.5 s: {len(unanswered['smart-turn'])} with smart-turn ({where_unanswered}),
{len(unanswered['silence+provider'])} with the silence rule. (A turn ended just before the last loud sample of the
sentence counts as "not ended"; its reply column shows it answered.)"""


def _runs(data: dict) -> str:
    """How each part was run (minutes, load average), when the parts were measured apart."""
    runs = data.get("runs") or {}
    if not runs:
        return ""
    older = [part for part in PART_TESTS if part not in runs]
    return "".join(f"; {info}" for _, info in sorted(runs.items())) + "".join(
        f"; the {part} part: the stored trials of an earlier run" for part in older)


def _over_reading(data: dict) -> str:
    """The over-the-answer part of "How to read it", from the figures."""
    from bench.report import percentile

    g = data["groups"]["all"]
    over = [r for r in data["trials"] if r["test"] == "over_answer"]
    others = [r for r in over if r["kind"] != "interruption"]
    false = [r for r in others if r["barge_in"]]
    resumed = [r for r in others if not r["barge_in"] and r["holds"]]
    paused = [e["paused_ms"] for r in resumed for e in r["backchannel_events"] if e.get("paused_ms") is not None]
    reasons: dict[str, int] = {}
    for r in others:
        for e in r["backchannel_events"]:
            reasons[e.get("reason", "?")] = reasons.get(e.get("reason", "?"), 0) + 1
    why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])) or "none"
    from calls.session.lexicon import Lexicon

    english = Lexicon.for_language("en")

    def unsure(r: dict) -> bool:
        """Judged no interruption only because Whisper was unsure of its words (enough of them to count)."""
        return any(e.get("reason") == "unsure_words" and len(english.hear(e.get("words") or "").content) >= 2
                   for e in r["backchannel_events"])

    saved = sum(not r["barge_in"] and unsure(r) for r in others)
    true = [r for r in over if r["kind"] == "interruption"]
    cost = [r for r in true if not r["barge_in"] and unsure(r)]
    # Whisper's confidence (`min_logprob`, -0.4 by default); a run of this set with it off: 14.8 % false, 0 % missed.
    without = (f"Whisper's confidence (`min_logprob` -0.4) judged {saved} final transcripts of backchannels no "
               f"interruption and cost {len(cost)} real interruptions "
               f"({', '.join(sorted({r['voice'] for r in cost})) or 'none'}; in an earlier run tiny.en wrote espeak's real "
               f"words at -0.36 to -1.7, as low as those it makes up from a hum); with it off, a run of the same set with "
               f"tiny.en judging (6.2 min, load average median 0.87) read 14.8 % false (12 of 81: hums heard as words, mostly in the peeks) "
               f"and 0 % missed")
    wrong = "; ".join(f"“{r['text']}” ({r['voice']}, {r['condition']}) heard as "
                      f"{[e.get('words') for e in r['barge_in_events']]}" for r in false) or "none"
    return f"""Over the answer, {len(false)} of {len(others)} backchannels and noises cut the agent off (goal
≤ 5 %: {_met(g['false_pct'], GOALS['false_pct'])}); {len(resumed)} paused it and it resumed (paused p50
{_f(percentile(paused, 50))} ms, p95 {_f(percentile(paused, 95))} ms), the caller hearing the whole answer; the
utterances recorded as `backchannel` events, by reason: {why}. What decides (`WordsInterruption`, agent default):
the words (backchannel lexicon, `min_words` content words, stop phrases, speech too long for a backchannel), and a
Silero VAD (v6, from the faster-whisper wheel) listening to the caller over the agent: webrtcvad takes babble behind a caller for their voice
(0.4-1.7 s of it after each backchannel in the babble condition, Silero ≤ 0.1 s), which kept a hold open until the
4 s limit cut the agent off; the caller is now quiet when Silero hears no speech, and a hold that reaches the limit
without words that count resumes. Cut off: {wrong}. Real interruptions: missed {_f(g['missed_pct'], ' %')} of
{g['missed_n']} (goal ≤ 2 %: {_met(g['missed_pct'], GOALS['missed_pct'])}). {without}. The agent went quiet after p50
{_f(g['onset_to_clear_p50_ms'])} / p95 {_f(g['onset_to_clear_p95_ms'])} ms (goal ≤ 250:
{_met(g['onset_to_clear_p95_ms'], GOALS['onset_to_clear_p95_ms'])}; the hold pauses it 100 voiced ms in)."""


def markdown(data: dict, command: str, machine: str) -> str:
    rows = []
    for name, g in data["groups"].items():
        s, t = g["silence+provider"], g["smart-turn"]
        rows.append(f"| {name} | {_f(g['false_pct'], ' %')} ({g['false_n']}) | {_f(g['missed_pct'], ' %')} "
                    f"({g['missed_n']}) | {_f(g['onset_to_clear_p95_ms'])} | {_f(g['holds_per_trial'])} | "
                    f"{_f(s['end_of_turn_p50_ms'])} / {_f(t['end_of_turn_p50_ms'])} | "
                    f"{_f(s.get('reply_p50_ms'))} / {_f(t.get('reply_p50_ms'))} | "
                    f"{s['no_end_of_turn']} / {t['no_end_of_turn']} of {s['complete_n']} | "
                    f"{_f(s['cut_off_pct'], ' %')} / {_f(t['cut_off_pct'], ' %')} | "
                    f"{_f(s.get('early_end_pct'), ' %')} / {_f(t.get('early_end_pct'), ' %')} |")
    table = "\n".join(rows)
    misses = [r for r in data["trials"] if r["test"] == "over_answer" and
              ((r["kind"] == "interruption") != r["barge_in"])]
    wrong = "\n".join(f"- {r['kind']} “{r['text']}” ({r['voice']}, {r['condition']}): "
                      f"{'cut the agent off' if r['barge_in'] else 'missed'}; heard "
                      f"{[e.get('words') for e in r['backchannel_events'] + r['barge_in_events']]}"
                      for r in misses) or "- none"
    cuts = [r for r in data["trials"] if r["test"] == "paused" and r["cut_off"]]
    cut = "\n".join(f"- “{r['text']}” ({r['pause_ms']} ms; {r['voice']}, {r['condition']}, {r['strategy']}): "
                    f"{'the agent spoke into the pause' if r.get('talked_over') else 'two turns'}; stored "
                    f"{r.get('caller_turns')}{_verdicts_said(r)}" for r in cuts) or "- none"
    reading = f"""How to read it. {_over_reading(data)}

{_eot_reading(data)}"""
    return f"""## Turn-taking with human-like callers

`{command}`: a labelled set spoken by {_voices_said(data)}, clean and with background noise at 15 dB SNR under
the whole line (stationary pink noise; babble-like noise: speech-shaped, its loudness moving at syllable rates, as a
room of talkers), through 8 kHz μ-law, fed in real time to an in-process `CallSession` with the real local Whisper
(tiny.en; speech over the agent transcribed by the Whisper base `make install` assembles, the STT's default
`judge_model`: tiny.en wrote jf_alpha's "Wait." as "Wager." and "W-a-a-a", the two misses of the run before it), the agent default words-based interruptions, and end of turn on silence (300 ms, the agent default) or
smart-turn; a carrier
that plays in real time; a brain and a TTS that answer at once (the worst case for answering into a pause). Over a
long answer: {len(BACKCHANNELS)} backchannels and {len(INTERRUPTIONS)} real
interruptions per voice and condition, {len(NOISES)} noises (cough-like, clicks, a 250 ms burst) per condition.
End of turn: {len(COMPLETE)} complete sentences; cut-offs: {len(PAUSED)} sentences with a 400/600/800 ms pause
inside. Each cell: the figure (trials). Machine: {machine}{_runs(data)}.

Columns: *end of turn* is from the caller's last sample to the strategy's decision; *reply* to the first 20 ms of
the answer the carrier played (it includes the transcript, and the wait when the words read unfinished); *cut off*:
the agent spoke before the caller had finished the paused sentence, or the sentence was stored as two turns;
*ended in the pause*: the strategy ended the turn during the pause (which costs nothing when the words then read
unfinished and the caller goes on: one turn).

| voice / condition | false interruptions (goal ≤ 5 %) | missed (≤ 2 %) | onset → agent quiet p95 ms (≤ 250) | pauses per trial over the answer | end of turn p50 ms, silence / smart-turn (≤ 200) | reply p50 ms after a complete sentence, silence / smart-turn | turn not ended 2.5 s after a complete sentence, silence / smart-turn | cut off mid-sentence, silence / smart-turn (≤ 5 %) | ended in the pause, silence / smart-turn |
|---|---|---|---|---|---|---|---|---|---|
{table}

Which trials went wrong over the answer:
{wrong}

Which paused sentences were cut off:
{cut}

{reading}
"""
