"""Wideband vs narrowband: word error rate of the local Whisper on the same utterances through each codec path.

Run: `.venv/bin/python -m bench.wer` (writes the "Wideband" section of docs/benchmarks.md).

Each sentence is synthesised once in the simulated caller's voice (voicebot/testing/speech.py: espeak-ng,
22.05 kHz), then carried as a carrier would carry it:
- 8 kHz μ-law (PCMU, what Twilio and Telnyx send by default): resampled to 8 kHz (the phone band, < 4 kHz),
  μ-law encoded and decoded;
- 8 kHz A-law (PCMA, what some Telnyx legs send instead): the same band, A-law's quantisation;
- 16 kHz L16 (Telnyx wideband): resampled to 16 kHz, byte-swapped to big-endian and back (lossless).
Whisper then transcribes each version at its own rate (the engine resamples to 16 kHz itself), exactly as the
session does on a call. WER = word edits / reference words over the whole set, after lower-casing and
stripping punctuation.
"""

from __future__ import annotations

import os
import re
import sys
import time

SENTENCES = [
    "What are your opening hours on Saturday?",
    "I would like to book an appointment for a cleaning.",
    "Can I speak to the dentist about a toothache?",
    "My name is Margaret Thompson and I am a new patient.",
    "Please cancel my appointment for next Thursday.",
    "Do you accept insurance from Blue Cross?",
    "I need to reschedule because my flight was delayed.",
    "Is there parking near the clinic?",
    "The filling I got last week is still sensitive.",
    "Could you send me a reminder by text message?",
    "How much does teeth whitening cost?",
    "My daughter needs a checkup before school starts.",
    "I think I chipped a front tooth playing basketball.",
    "Yes, tomorrow morning at nine works for me.",
    "No thanks, that is all, goodbye.",
    "Can you spell the street name for me?",
    "I am calling about the bill I received in the mail.",
    "Does the doctor do root canals or only extractions?",
    "We will be about fifteen minutes late, sorry.",
    "Please transfer me to the front desk.",
]

PATHS = [("PCMU", 8000), ("PCMA", 8000), ("L16", 16000)]
_NUMBERS = {"9": "nine", "15": "fifteen", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five"}


def normalise(text: str) -> list[str]:
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return [_NUMBERS.get(w, w).strip("'") for w in words if w.strip("'")]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over words (substitutions, insertions, deletions all cost 1)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def carry(pcm: bytes, native: int, codec_name: str, rate: int) -> bytes:
    """The utterance as the session receives it over `codec_name` at `rate` (PCM16LE at `rate`)."""
    from calls.pipeline.audio import get_codec, resample

    codec = get_codec(codec_name, rate)
    return codec.decode(codec.encode(resample(pcm, native, rate)))


def run(log=print) -> dict:
    from calls.providers.stt.whisper_engine import get_whisper
    from voicebot.testing.speech import speak

    whisper = get_whisper()
    whisper.warm_up()
    voices = [speak(s) for s in SENTENCES]  # once each: espeak varies by a few samples between runs
    results = {}
    for codec_name, rate in PATHS:
        errors = words = 0
        started = time.monotonic()
        misses = []
        for text, (pcm, native) in zip(SENTENCES, voices):
            heard = whisper.transcribe(carry(pcm, native, codec_name, rate), rate) or ""
            ref, hyp = normalise(text), normalise(heard)
            dist = edit_distance(ref, hyp)
            errors, words = errors + dist, words + len(ref)
            if dist:
                misses.append({"said": text, "heard": heard.strip(), "edits": dist})
        results[f"{codec_name} {rate}"] = {
            "wer": round(errors / words, 3), "errors": errors, "words": words,
            "seconds": round(time.monotonic() - started, 1), "misses": misses,
        }
        log(f"{codec_name} {rate} Hz: WER {errors / words:.3f} ({errors}/{words} words)")
    return results


def markdown(results: dict, machine: str) -> str:
    rows = "\n".join(
        f"| {name.split()[0]} | {name.split()[1]} Hz | {r['wer']:.3f} | {r['errors']} / {r['words']} |"
        for name, r in results.items()
    )
    return f"""## Wideband

`.venv/bin/python -m bench.wer`: {len(SENTENCES)} varied sentences synthesised once by espeak-ng (en-us, 165 wpm),
carried through each codec path as a carrier would (μ-law and A-law: resampled to 8 kHz, encoded, decoded; L16:
resampled to 16 kHz, big-endian and back), then transcribed by the local Whisper tiny.en at the stream's rate,
as a call does. WER = word edits / reference words over the whole set (case and punctuation ignored).
Machine: {machine}.

| codec | rate | WER | errors / words |
|---|---|---|---|
{rows}

Telnyx offers L16 at 16 kHz (agent `provider_options["telephony"]` or TELNYX_STREAM_CODEC/RATE); the session,
VAD, Whisper and espeak run at the stream's rate unchanged. Synthetic speech is clean, so these figures show the
codec and band alone; real callers add noise and accents, where the phone band usually costs more.
"""


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicebot.settings")
    import django

    django.setup()
    from .report import machine, write_raw, write_section

    results = run()
    write_raw("wer", results)
    write_section("wideband", markdown(results, machine()))
    print("wrote docs/benchmarks.md (Wideband)", file=sys.stderr)


if __name__ == "__main__":
    main()
