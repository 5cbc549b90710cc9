"""Word error rate through a call: `python -m bench --scenario callwer` (or `python -m bench.callwer`).

What a caller said against the caller turns the session stored. Each sentence is spoken by a neural voice
(voicebot/testing/speech.py: Piper "joe", a natural US voice; Kokoro-82M "jf_alpha", a Japanese speaker's style
reading English: an accented caller), clean or with babble noise at 12 dB SNR under the speech and its tail, resampled
to 8 kHz and carried through μ-law (PCMU, what Twilio and Telnyx send), then fed frame by frame into an in-process
`CallSession` with the real VAD, end-of-turn strategy, local Whisper STT (tiny.en) and turn recorder
(voicebot/testing/in_process.py) — not in real time: this measures words, not latency. The brain answers "Okay.".

Configurations: without hints (beam 1, the default), with the call's vocabulary hints (`calls.session.vocabulary`
built from the demo agent: its name, its knowledge base, its flow, and the custom vocabulary below, as the
practice would type it), and with hints at beam 3. WER = word edits / reference words over the set, after
`normalise` (case, punctuation, number words vs digits, "Dr." vs "doctor"). Also: Piper's time to first audio per
agent sentence (cache cleared), the latency a caller hears before each reply.

The app and harness imports sit inside functions: they load the app's models, which need Django set up, and
`python -m bench` sets Django up only after importing its scenarios. Not an import circle: bench sits above the app
and its harnesses, and nothing imports bench.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time

from .wer import edit_distance

RATE = 8000
FRAME = RATE * 2 // 50
VOICES = ("piper-joe", "kokoro-jf_alpha")
CONDITIONS = (("clean", None), ("babble 12 dB", 12.0))
# (label, Whisper model, hints, beam, noise suppression). Beam 3 was measured before (tiny.en: 13.8 % with hints
# against 13.4 % at beam 1, for ~60 ms more CPU a turn) and is not repeated.
MODELS = {"tiny.en": None, "base": "base"}  # None: the packaged default; else calls.providers.stt.whisper_models
CONFIGS = (
    ("tiny.en", "tiny.en", False, 1, ""),
    ("tiny.en + hints", "tiny.en", True, 1, ""),
    ("tiny.en + hints + DFN3", "tiny.en", True, 1, "deepfilternet"),
    ("base + hints", "base", True, 1, ""),
    ("base + hints + DFN3", "base", True, 1, "deepfilternet"),
)
# What a dental practice would type into the agent's "custom vocabulary".
CUSTOM_VOCABULARY = "Dr. Okafor\nDr. Nguyen\nInvisalign\nfluoride\ncrown\nroot canal\nwisdom tooth\nhygienist"

SENTENCES = [
    # booking, dates and times
    "I would like to book a cleaning for March third.",
    "Do you have anything on Tuesday the fourteenth in the afternoon?",
    "Can I come in next Friday at nine thirty in the morning?",
    "My appointment is on June twenty first, but I need to move it.",
    "Is there an opening with Doctor Okafor this week?",
    "I would prefer to see Doctor Nguyen if she is available.",
    "Could we do the first of April at two o'clock?",
    "I can only come after five on weekdays.",
    # names and spelling
    "My name is Margaret Thompson and I am a new patient.",
    "This is Daniel Rodriguez calling about my son's checkup.",
    "The appointment is under Priya Raman.",
    "My last name is Kowalski, that's K O W A L S K I.",
    "I'm calling for my mother, Eleanor Fitzgerald.",
    # phone numbers and numbers
    "You can reach me at five five five, two one three, four four seven eight.",
    "My phone number is 617 555 0192.",
    "My date of birth is July eighth, nineteen eighty four.",
    "My member ID is 4 8 2 9 1 7 3.",
    "We are a family of four, so we need four appointments.",
    # addresses
    "I live at 42 Harbor Street, apartment 3B.",
    "Is your office the one on Maple Avenue near the library?",
    "Please send the bill to 1800 Oak Ridge Drive, Springfield.",
    "Where exactly do I park when I get to Harbor Street?",
    # insurance and payment
    "Do you accept Delta Dental insurance?",
    "My insurance is Cigna, is that in network?",
    "I have Aetna through my employer.",
    "What is my copay for a filling with Blue Cross?",
    "How much is a checkup and cleaning without insurance?",
    "Can I pay with a credit card or do you need cash?",
    "My deductible has not been met yet this year.",
    # dental words
    "I think I chipped my front tooth playing basketball.",
    "My wisdom tooth has been hurting for three days.",
    "I need a crown replaced, the old one came off.",
    "Do you do Invisalign for adults?",
    "My gums bleed when I brush, should I be worried?",
    "The filling I got last week is still sensitive to cold.",
    "Does the hygienist do a fluoride treatment for kids?",
    "I might need a root canal, my dentist said.",
    # the rest of a call
    "Can I speak to someone at the front desk please?",
    "Please cancel my appointment for next Thursday.",
    "What are your opening hours on Saturday?",
    "Yes, that works for me, thank you.",
    "No thanks, that's all, goodbye.",
    "Sorry, could you repeat that?",
    "I'll be about fifteen minutes late today.",
]

AGENT_LINES = [
    "Hello, and thank you for calling Bright Smile Dental.",
    "This call may be recorded for quality purposes.",
    "How can I help you today?",
    "Sure, let's book you in. What day works best for you?",
    "Great, I've pencilled you in for Tuesday.",
    "What time suits you?",
    "So that's Tuesday at 10 am, right?",
    "And what name should I put the booking under?",
    "We accept most major dental insurance plans, including Delta Dental, Cigna and Aetna.",
    "We're at 42 Harbor Street, next to the public library.",
    "Is there anything else I can help you with?",
    "Thanks for calling Bright Smile Dental. Goodbye!",
]

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
             "fifteenth": 15, "twentieth": 20, "thirtieth": 30}
_NUMBER = {w: i for i, w in enumerate(_UNITS)} | _TENS | _ORDINALS | {"oh": 0}
_SPELLING = {"dr": "doctor", "st": "street", "ave": "avenue", "apt": "apartment", "o'clock": "", "okay": "ok",
             "that's": "that is", "i'm": "i am", "i'll": "i will", "let's": "let us", "son's": "son is"}


def normalise(text: str) -> list[str]:
    """Words compared for WER: lower case, no punctuation, numbers as digits one digit a word (so "617",
    "six one seven" and "6-1-7" agree, and so do "twenty first", "21st" and "21"), common spellings unified."""
    text = text.lower().replace("-", " ").replace("$", " ").replace("%", " percent")
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"(\d):(\d\d)", r"\1 \2", text)
    text = re.sub(r"\b([a-z])\.(?=[a-z]\.)", r"\1", text).replace("a.m.", "am").replace("p.m.", "pm")
    words = re.sub(r"[^a-z0-9' ]+", " ", text).split()
    out: list[str] = []
    i = 0
    while i < len(words):
        w = _SPELLING.get(words[i].strip("'"), words[i].strip("'"))
        i += 1
        if w in _TENS and i < len(words) and words[i] in _NUMBER and _NUMBER[words[i]] < 10:
            w, i = str(_TENS[w] + _NUMBER[words[i]]), i + 1  # "twenty first" -> 21
        elif w in _NUMBER:
            w = str(_NUMBER[w])
        out += list(w) if w.isdigit() else w.split()
    return out


def demo_vocabulary() -> list[str]:
    from calls.flows.demo import DEMO_FLOW, DEMO_KNOWLEDGE, DEMO_KNOWLEDGE_TITLE
    from calls.session.vocabulary import build_vocabulary
    from knowledge.chunking import chunk_text

    chunks = [(c.heading, c.text) for c in chunk_text(DEMO_KNOWLEDGE)]
    return build_vocabulary(name="Bright Smile Dental", custom=CUSTOM_VOCABULARY, knowledge_titles=[
        DEMO_KNOWLEDGE_TITLE], knowledge_chunks=chunks, flow=DEMO_FLOW)


def line_audio(text: str, voice: str, snr_db: float | None, seed: int) -> bytes:
    """The caller's sentence and 0.8 s after it, as the session receives it over 8 kHz μ-law; `seed` picks the
    noise and the voice's take."""
    from calls.pipeline.audio import get_codec
    from voicebot.testing.speech import caller_speech, make_noise, mix

    speech = caller_speech(text, RATE, voice=voice, trim=True, take=seed) + b"\0\0" * (RATE * 8 // 10)
    if snr_db is not None:
        speech = mix(speech, make_noise(len(speech) // 2, RATE, "babble", seed=seed), snr_db, rate=RATE)
    codec = get_codec("PCMU", RATE)
    return codec.decode(codec.encode(speech))


def _engine(model: str):
    from calls.providers.stt.whisper_engine import get_whisper
    from calls.providers.stt.whisper_models import model_dir

    name = MODELS[model]
    return get_whisper(str(model_dir(name)) if name else None)


async def _call(lines: list[bytes], options: dict, model: str = "tiny.en", denoise: str = "") -> list[str]:
    """One in-process call: every line said in turn; the caller turns it stored (one per line, "" if none)."""
    from calls.providers.stt.whisper_local import WhisperSTT
    from calls.session.call_session import CallSession
    from calls.session.settings import AgentSettings
    from voicebot.testing.in_process import HexSerializer, KeepingRecorder, NumberedTTS, PlayingCarrier, ScriptBrain

    carrier, recorder = PlayingCarrier(), KeepingRecorder()

    async def close() -> None:
        pass

    stt = WhisperSTT(RATE, options)
    stt.engine = _engine(model)  # the deployment's choice in the app (WHISPER_MODEL_DIR); here one per config
    settings = AgentSettings(silence_timeout_s=600, noise_suppression=denoise)
    session = CallSession(call_id="CAwer", settings=settings, serializer=HexSerializer(),
                          send=carrier.send, close=close, stt=stt, tts=NumberedTTS(),
                          brain=ScriptBrain(greeting="Hello.", answer="Okay."), recorder=recorder, sample_rate=RATE)
    carrier.playout = session.playout

    def turns(role: str) -> list:
        return [t for t in recorder.turns if t.role == role]

    async def until(predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    heard: list[str] = []
    carrier.start()
    await session.start()
    try:
        await until(lambda: turns("agent"), 10)
        for pcm in lines:
            callers, agents = len(turns("caller")), len(turns("agent"))
            for i in range(0, len(pcm), FRAME):
                session.on_audio(pcm[i : i + FRAME])
                await asyncio.sleep(0)
            silence = b"\0" * FRAME
            if not await until(lambda: len(turns("caller")) > callers, 0.0):
                for _ in range(150):  # up to 3 s more of a quiet line, until the turn is stored
                    session.on_audio(silence)
                    await asyncio.sleep(0.02)
                    if len(turns("caller")) > callers:
                        break
            stored = turns("caller")[callers:]
            heard.append(" ".join(t.text for t in stored))
            await until(lambda: len(turns("agent")) > agents and not session.speaker.busy, 10)
    finally:
        await session.stop()
        await carrier.stop()
    return heard


def _tts_first_audio() -> dict:
    from calls.providers.tts import piper_local
    from calls.providers.tts.piper_local import PiperTTS

    async def measure() -> list[float]:
        tts = PiperTTS(RATE, "en_US-joe-medium")
        await tts.start()
        times = []
        for _ in range(2):
            piper_local._cache.clear()
            for line in AGENT_LINES:
                started = time.perf_counter()
                chunks = tts.synthesize(line)
                await anext(chunks)
                times.append((time.perf_counter() - started) * 1000)
                await chunks.aclose()
        return times

    times = sorted(asyncio.run(measure()))
    return {"n": len(times), "p50_ms": round(statistics.median(times)), "p95_ms": round(times[int(0.95 * len(times))
            - 1 if len(times) > 1 else 0]), "max_ms": round(times[-1])}


def tts_first_audio_loaded() -> dict:
    """Piper's first audio on a quiet machine and with one core kept busy by a spinning process (another call's
    Whisper, a neighbour's job): `python -m bench.callwer --tts`."""
    import os
    import subprocess
    import sys

    quiet = [_tts_first_audio() | {"load_average": round(os.getloadavg()[0], 2)} for _ in range(2)]
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        busy = [_tts_first_audio() | {"load_average": round(os.getloadavg()[0], 2)} for _ in range(2)]
    finally:
        spinner.kill()
        spinner.wait()
    return {"quiet": quiet, "one_core_busy": busy, "goal_p95_ms": 250}


def tts_markdown(data: dict, command: str, machine: str) -> str:
    def runs(key: str) -> str:
        return "; ".join(f"p50 {r['p50_ms']} / p95 {r['p95_ms']} / max {r['max_ms']} ms (load {r['load_average']})"
                         for r in data[key])

    worst = max(r["p95_ms"] for r in data["quiet"])
    worst_busy = max(r["p95_ms"] for r in data["one_core_busy"])
    return f"""## Embedded voice: Piper's first audio

`{command}` on {machine}: Piper "joe" (`calls/providers/tts/piper_local.py`: a long sentence is made in two
parts, cut at its first comma), the {len(AGENT_LINES)} demo agent lines one at a time at 8 kHz, the sentence cache
cleared, twice; from asking for the sentence to its first audio chunk. Quiet: {runs('quiet')}. With one core kept busy
by a spinning process: {runs('one_core_busy')}. Goal p95 ≤ {data['goal_p95_ms']} ms: {'met' if worst <= data['goal_p95_ms'] else 'missed'} on the quiet machine
(worst run {worst} ms), {'met' if worst_busy <= data['goal_p95_ms'] else 'missed'} with a core busy (worst run {worst_busy} ms). The
Word error rate section's figure (p95 363 ms) was taken right after its WER run, at load average ~3.5 on two cores.
"""


def _denoiser_cost() -> dict:
    """DeepFilterNet's CPU per call: loading one call's model, and CPU seconds per second of 8 kHz audio (20 ms
    frames of a babble-noisy sentence, as the session feeds them)."""
    from calls.pipeline.denoise import denoiser_for

    started = time.process_time()
    denoiser = denoiser_for("deepfilternet", RATE)
    load_ms = (time.process_time() - started) * 1000
    pcm = b"".join(line_audio(s, "piper-joe", 12.0, seed=i) for i, s in enumerate(SENTENCES[:4]))
    started = time.process_time()
    for i in range(0, len(pcm) - FRAME + 1, FRAME):
        denoiser.process(pcm[i : i + FRAME])
    cpu = time.process_time() - started
    denoiser.close()
    return {"load_cpu_ms": round(load_ms), "audio_s": round(len(pcm) / 2 / RATE, 1),
            "cpu_per_audio_s": round(cpu / (len(pcm) / 2 / RATE), 3)}


def run(log=print, sentences: list[str] | None = None, configs: list[str] | None = None) -> dict:
    sentences = sentences or SENTENCES
    chosen = [c for c in CONFIGS if not configs or c[0] in configs]
    for model in {c[1] for c in chosen}:
        _engine(model).warm_up()
    hints = demo_vocabulary()
    results: dict = {"sentences": len(sentences), "words": sum(len(normalise(s)) for s in sentences),
                     "hints": hints, "rows": []}
    for voice in VOICES:
        for condition, snr in CONDITIONS:
            lines = [line_audio(s, voice, snr, seed=i) for i, s in enumerate(sentences)]
            for config, model, use_hints, beam, denoise in chosen:
                options = {"beam_size": beam, **({"vocabulary": hints} if use_hints else {})}
                started = time.monotonic()
                cpu = time.process_time()
                heard = asyncio.run(_call(lines, options, model, denoise))
                errors = words = 0
                misses = []
                for said, got in zip(sentences, heard):
                    ref, hyp = normalise(said), normalise(got)
                    dist = edit_distance(ref, hyp)
                    errors, words = errors + dist, words + len(ref)
                    if dist:
                        misses.append({"said": said, "heard": got, "edits": dist})
                row = {"voice": voice, "condition": condition, "config": config, "errors": errors, "words": words,
                       "wer": round(errors / words, 4), "seconds": round(time.monotonic() - started, 1),
                       "cpu_s": round(time.process_time() - cpu, 1), "model": model, "denoise": denoise,
                       "misses": misses}
                results["rows"].append(row)
                log(f"  {voice:16} {condition:13} {config:17} WER {100 * errors / words:5.1f} % ({errors}/{words})")
    results["configs"] = [c[0] for c in chosen]
    for config in results["configs"]:
        rows = [r for r in results["rows"] if r["config"] == config]
        errors, words = sum(r["errors"] for r in rows), sum(r["words"] for r in rows)
        results.setdefault("overall", {})[config] = round(errors / words, 4)
        log(f"  overall {config}: WER {100 * errors / words:.1f} %")
    results["load_average"] = [round(x, 2) for x in __import__("os").getloadavg()]
    results["denoiser_cost"] = _denoiser_cost()
    log(f"  DeepFilterNet cost: {results['denoiser_cost']}")
    results["tts_first_audio"] = _tts_first_audio()
    log(f"  Piper first audio: {results['tts_first_audio']}")
    return results


def markdown(data: dict, command: str, machine: str, load: str = "") -> str:
    configs = data.get("configs") or [c[0] for c in CONFIGS]
    head = "| voice | condition | " + " | ".join(configs) + " |\n|---|---|" + "---|" * len(configs)
    body = []
    for voice in VOICES:
        for condition, _ in CONDITIONS:
            cells = []
            for config in configs:
                row = next(r for r in data["rows"] if (r["voice"], r["condition"], r["config"]) ==
                           (voice, condition, config))
                cells.append(f"{100 * row['wer']:.1f} % ({row['errors']}/{row['words']})")
            body.append(f"| {voice} | {condition} | " + " | ".join(cells) + " |")
    overall = " | ".join(f"{100 * data['overall'][c]:.1f} %" for c in configs)
    per_turn = []
    for config in configs:
        rows = [r for r in data["rows"] if r["config"] == config and "cpu_s" in r]
        turns = len(rows) * data["sentences"]
        per_turn.append(f"{1000 * sum(r['cpu_s'] for r in rows) / turns:.0f} ms" if turns else "–")
    if not load and data.get("load_average"):
        load = f"; load average at the end {' / '.join(str(x) for x in data['load_average'])}"
    tts = data["tts_first_audio"]
    dfn = data.get("denoiser_cost")
    dfn_line = (f"DeepFilterNet 3 per call: loading its model {dfn['load_cpu_ms']} ms of CPU (off the event loop, at "
                f"call start); {dfn['cpu_per_audio_s']} CPU-seconds per second of caller audio ({dfn['audio_s']} s of "
                "8 kHz babble in 20 ms frames, one thread).\n" if dfn else "")
    return f"""## Word error rate through a call

`{command}`: {data['sentences']} phone sentences ({data['words']} words: names, dates, phone numbers, addresses,
insurance and dental words), spoken by Piper "joe" and by Kokoro "jf_alpha" (accented), clean and with babble at
12 dB SNR, carried over 8 kHz μ-law into an in-process call session (real VAD, end of turn, local Whisper,
turn recorder); WER of the stored caller turns against what was said (bench/callwer.py says how words are
normalised). Columns: the Whisper model (tiny.en: the packaged default; base: multilingual base, made by
`make install`), beam 1; hints = the demo agent's vocabulary ({len(data['hints'])} terms; Whisper's prompt takes the
first ~40 words); DFN3 = the agent's noise suppression `deepfilternet` (attenuation limit 6 dB, the default) on
the caller's audio before VAD and STT.
Machine: {machine}{load}.

{head}
{chr(10).join(body)}
| **overall** | | {overall} |
| CPU per caller turn (whole process: VAD, STT, denoiser, session) | | {" | ".join(per_turn)} |

{dfn_line}
Piper (joe, one sentence at a time, cache cleared) time to first audio over {tts['n']} agent sentences at 8 kHz:
p50 {tts['p50_ms']} ms, p95 {tts['p95_ms']} ms, max {tts['max_ms']} ms.
"""


def main() -> None:
    import os
    import sys

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicebot.settings")
    import django

    django.setup()
    from .report import machine, save

    import argparse

    parser = argparse.ArgumentParser(description="word error rate through a call")
    parser.add_argument("--config", action="append", help="repeatable; default: all of " + ", ".join(c[0] for c in
                                                                                                   CONFIGS))
    parser.add_argument("--sentences", type=int, default=0, help="only the first N sentences (a quick look; no save)")
    parser.add_argument("--tts", action="store_true", help="only Piper's first audio, quiet and with a core busy")
    args = parser.parse_args()
    if args.tts:
        tts = tts_first_audio_loaded()
        save("tts_first_audio", tts, tts_markdown(tts, "python -m bench.callwer --tts", machine()))
        print("wrote docs/benchmarks.md (Embedded voice: Piper's first audio)", file=sys.stderr)
        return
    data = run(sentences=SENTENCES[: args.sentences] if args.sentences else None, configs=args.config)
    if args.sentences or args.config:
        print(json.dumps({k: data[k] for k in ("overall", "load_average")}), file=sys.stderr)
        for row in data["rows"]:
            for miss in row["misses"]:
                print(row["voice"], row["condition"], row["config"], "|", miss["said"], "|", miss["heard"])
        return
    save("callwer", data, markdown(data, "python -m bench.callwer", machine()))
    print("wrote docs/benchmarks.md (Word error rate through a call)", file=sys.stderr)


if __name__ == "__main__":
    main()
