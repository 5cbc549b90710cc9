"""What the caller's words over the agent's speech mean: "I'm listening" (a backchannel) or "stop" — per language.

Used by `turn_taking.WordsInterruption`. A transcript is split into tokens and covered left to right by the
longest phrase that matches: a backchannel phrase ("uh huh", "i see", "no problem"), a stop phrase ("wait",
"hold on", "no"), a hesitation ("um", "mmm"), or else the token is a content word. So "no problem" is a
backchannel while "no, I meant Monday" starts with a stop word, and "okay so I wanted" has three content words.

The tables are deliberately small: the strategy also counts content words (an agent's `min_words`), so a
backchannel missing from the table is still no interruption while it stays under that count. Agents may replace
either table (`provider_options["turn_taking"]["words"]`: `backchannels`, `stop_words`).

Two kinds of token never count as content, because they are what a recogniser makes of a hum, not what a caller
who means to interrupt says alone: articles and "and"/"then" ("And the Mm-hmm.", "and then", per language in
`WEAK`), and stray single letters ("A M M E", "M-H-M"). Over the agent the recogniser is also primed with the
language's `PROMPTS` (`expect`), so that a hum comes out as "Mm-hmm" in the first place.
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
    "it": (
        "si", "ok", "okay", "va bene", "certo", "esatto", "capisco", "ho capito", "perfetto", "bene", "giusto",
        "d'accordo", "ah", "eh", "mhm", "grazie", "si si", "certamente", "vai", "prego",
    ),
    "pt": (
        "sim", "ok", "okay", "ta", "ta bom", "certo", "claro", "entendi", "entendo", "perfeito", "exato", "isso",
        "beleza", "tudo bem", "ah", "mhm", "obrigado", "obrigada", "pois", "pois e", "com certeza",
    ),
    # Any other language: what a hum or an "okay" is in most of them. Its own words are content, which the
    # strategy's `min_words` still weighs, so nothing here can make a real interruption pass unheard.
    "": ("mhm", "mm", "hmm", "mm hmm", "uh huh", "ok", "okay", "ah", "oh", "aha"),
}

# Articles and "and"/"then": a recogniser's filling around a hum ("And the Mm-hmm."), never a word that counts.
WEAK: dict[str, frozenset[str]] = {
    "en": frozenset(("a", "an", "the", "and", "then")),
    "es": frozenset(("el", "la", "los", "las", "un", "una", "y")),
    "fr": frozenset(("le", "la", "les", "un", "une", "et")),
    "de": frozenset(("der", "die", "das", "ein", "eine", "und")),
    "it": frozenset(("il", "lo", "la", "i", "gli", "le", "un", "una", "e")),
    "pt": frozenset(("o", "a", "os", "as", "um", "uma", "e")),
}

# What the recogniser is primed with while the caller talks over the agent (`STTStream.expect`): the backchannels
# as a caller writes them, so a hum comes out as one. Measured with Whisper tiny.en on the turn-taking set (Piper,
# Kokoro, espeak; clean and 15 dB noise): "Mm-hm." became words in 8 of 9 voice/conditions without it, in 3 with it.
PROMPTS: dict[str, str] = {
    "en": "Mm-hmm. Uh-huh. Okay. Yeah. Right.",
    "es": "Mhm. Ajá. Vale. Sí. Claro.",
    "fr": "Mhm. Ouais. D'accord. Oui. Voilà.",
    "de": "Mhm. Ja. Genau. Okay. Alles klar.",
    "it": "Mhm. Sì. Certo. Va bene. Esatto.",
    "pt": "Mhm. Sim. Certo. Tá. Entendi.",
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
    "it": ("aspetta", "aspetti", "fermo", "ferma", "stop", "no", "scusi", "scusa", "un momento", "in realta", "ma"),
    "pt": ("espera", "espere", "para", "pare", "nao", "desculpa", "desculpe", "um momento", "na verdade", "mas"),
    "": ("stop",),
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
    unsure: tuple[str, ...] = ()  # content words set aside: the recogniser was unsure of them (a hum made words)

    @property
    def backchannel(self) -> bool:
        """Words, and all of them "I'm listening"."""
        return self.words > 0 and not self.content and not self.stops and not self.unsure


class Lexicon:
    """One language's backchannels and stop phrases (and the weak words and recogniser prompt that go with them)."""

    def __init__(self, backchannels, stop_words, weak=frozenset(), prompt: str = "") -> None:
        self.backchannels = _phrases(backchannels)
        self.stop_words = _phrases(stop_words)
        self.weak = frozenset(weak)
        self.prompt = prompt

    @classmethod
    def for_language(cls, language: str, backchannels=None, stop_words=None, prompt: str | None = None) -> Lexicon:
        """The table for `language` ("en", "en-US", "es-419"...; a language without one: a few near-universal
        sounds, and no prompt, since English words would bias the recogniser), either list and the prompt
        replaceable ("" = do not prime the recogniser)."""
        lang = (language or "en").split("-")[0].split("_")[0].lower()
        if lang not in BACKCHANNELS:
            lang = ""
        return cls(BACKCHANNELS[lang] if backchannels is None else backchannels,
                   STOP_WORDS[lang] if stop_words is None else stop_words,
                   WEAK.get(lang, frozenset()), PROMPTS.get(lang, "") if prompt is None else prompt)

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
                word = words[i]
                if not (_FILLER.match(word) or word in self.weak or (len(word) == 1 and word.isalpha() and word != "i")):
                    content.append(word)
            i += n
        return Heard(text=text, words=len(words), content=tuple(content), stops=tuple(stops))
