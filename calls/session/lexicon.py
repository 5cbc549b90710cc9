"""What the caller's words over the agent's speech mean: "I'm listening" (a backchannel) or "stop" — per language.

Used by `turn_taking.WordsInterruption`. A transcript is split into tokens and covered left to right by the
longest phrase that matches: a backchannel phrase ("uh huh", "i see", "no problem"), a stop phrase ("wait",
"hold on", "no"), a hesitation ("um", "mmm"), or else the token is a content word. So "no problem" is a
backchannel while "no, I meant Monday" starts with a stop word, and "okay so I wanted" has three content words.

The tables are deliberately small: the strategy also counts content words (an agent's `min_words`), so a
backchannel missing from the table is still no interruption while it stays under that count. Agents may replace
either table (`provider_options["turn_taking"]["words"]`: `backchannels`, `stop_words`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Hyphens join the halves of "uh-huh" and "mm-hmm" in one transcript and not in the next: both are spaces here.
BACKCHANNELS: dict[str, tuple[str, ...]] = {
    "en": (
        # "uh uh" is how Whisper tiny.en writes many an "uh-huh" (measured on espeak voices), so it is here too.
        "uh huh", "uh uh", "mm hmm", "mhm", "mm", "hmm", "okay", "ok", "k", "yeah", "yep", "yup", "yes", "right",
        "all right", "alright", "sure", "i see", "got it", "gotcha", "i understand", "understood", "cool", "great",
        "good", "fine", "nice", "perfect", "exactly", "of course", "sounds good", "that's right", "makes sense",
        "i got it", "i hear you", "uh huh yeah", "oh", "ah", "aha", "oh okay", "oh i see", "oh really", "really",
        "wow", "thanks", "thank you", "no problem", "no worries", "correct", "true", "indeed", "absolutely",
        "go on", "go ahead", "yeah okay", "yeah sure", "okay okay", "yes yes",
    ),
    "es": (
        "si", "aja", "vale", "claro", "bueno", "ok", "okey", "de acuerdo", "ya", "entiendo", "perfecto", "exacto",
        "muy bien", "bien", "gracias", "ah", "eh", "mhm", "ya veo", "claro que si", "por supuesto", "sigue",
    ),
    "fr": (
        "oui", "ouais", "d'accord", "ok", "okay", "ah", "je vois", "bien", "tres bien", "entendu", "parfait",
        "merci", "exactement", "voila", "bon", "mhm", "ah oui", "c'est ca", "bien sur", "oui oui", "allez-y",
    ),
    "de": (
        "ja", "okay", "ok", "genau", "gut", "alles klar", "klar", "stimmt", "ach so", "aha", "mhm", "verstehe",
        "ich verstehe", "super", "prima", "richtig", "danke", "in ordnung", "ja ja", "jawohl", "sicher",
    ),
}

# One of these interrupts at once, whatever the word count: the caller wants the agent to stop.
STOP_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "wait", "stop", "no", "nope", "nah", "hold on", "hang on", "one moment", "one second", "just a second",
        "sorry", "excuse me", "pardon", "actually", "cancel", "never mind", "nevermind", "but",
    ),
    "es": ("espera", "espere", "para", "pare", "no", "perdon", "perdona", "disculpe", "un momento", "momento",
           "en realidad", "pero", "oiga"),
    "fr": ("attendez", "attends", "arretez", "arrete", "stop", "non", "pardon", "excusez-moi", "en fait", "mais",
           "un instant", "une seconde"),
    "de": ("warte", "warten sie", "moment", "stopp", "stop", "halt", "nein", "entschuldigung", "sorry",
           "eigentlich", "aber"),
}

# Hesitations and hums, in any language: never a word that counts ("um", "uh", "er", "hmmm", "mmhmm", "äh").
_FILLER = re.compile(r"^(u+[hm]+|e+r+m*|a+h+m*|o+h+|h+m+|m+(h*m+)*|e+h+m*)$")
_TOKEN = re.compile(r"[a-z0-9']+(?:-[a-z0-9']+)*")
_MAX_PHRASE = 4


def _fold(text: str) -> str:
    """Lower case, accents off (sí -> si, äh -> ah), curly apostrophes straight."""
    text = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Words of a transcript, folded; hyphenated words split ("Uh-huh." -> ["uh", "huh"])."""
    out: list[str] = []
    for word in _TOKEN.findall(_fold(text)):
        out.extend(part.strip("'") for part in word.split("-") if part.strip("'"))
    return out


def _phrases(entries) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(tokens(entry)) for entry in entries if tokens(entry))


@dataclass(frozen=True, slots=True)
class Heard:
    """What a transcript holds, for the decision: its words, which of them count, and any stop phrase."""

    text: str
    words: int  # tokens in all
    content: tuple[str, ...]  # tokens that are neither backchannel, stop phrase nor hesitation
    stops: tuple[str, ...]  # stop phrases found ("wait", "hold on")

    @property
    def backchannel(self) -> bool:
        """Words, and all of them "I'm listening"."""
        return self.words > 0 and not self.content and not self.stops


class Lexicon:
    """One language's backchannels and stop phrases."""

    def __init__(self, backchannels, stop_words) -> None:
        self.backchannels = _phrases(backchannels)
        self.stop_words = _phrases(stop_words)

    @classmethod
    def for_language(cls, language: str, backchannels=None, stop_words=None) -> Lexicon:
        """The table for `language` ("en", "en-US", "es-419"...; unknown: English), either list replaceable."""
        lang = (language or "en").split("-")[0].split("_")[0].lower()
        if lang not in BACKCHANNELS:
            lang = "en"
        return cls(BACKCHANNELS[lang] if backchannels is None else backchannels,
                   STOP_WORDS[lang] if stop_words is None else stop_words)

    def hear(self, text: str) -> Heard:
        words = tokens(text)
        content: list[str] = []
        stops: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
                phrase = tuple(words[i : i + n])
                if phrase in self.stop_words:  # a tie goes to the stop phrase: "no" alone stops, "no problem" not
                    stops.append(" ".join(phrase))
                    break
                if phrase in self.backchannels:
                    break
            else:
                n = 1
                if not _FILLER.match(words[i]):
                    content.append(words[i])
            i += n
        return Heard(text=text, words=len(words), content=tuple(content), stops=tuple(stops))
