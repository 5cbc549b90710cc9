"""Does the caller's transcript so far read as an unfinished sentence? ("my number is five five five", "so I was
wondering if", "Wait,").

The end-of-turn strategies hear a pause; this reads the words. When a turn's transcript reads unfinished, the
session does not answer at once: it waits for the caller to go on, up to the agent's maximum end-of-turn silence
(`end_of_turn_max_silence_ms`, counted from their last voiced frame), and if they do, both halves are one turn
(`CallSession._caller_went_on`). A sentence that reads finished is answered as soon as its transcript is in, so
complete sentences pay nothing for the check; an unfinished-looking one that was in fact finished waits that
maximum silence, once. Measured in docs/benchmarks.md ("Turn-taking with human-like callers").

The signs, in order:
- the recogniser's own: a trailing comma, dash or ellipsis ("Wait,", "five five five...");
- a last word that cannot end an English statement: an article, a conjunction, a preposition, a possessive, a
  copula ("my number is"), a hesitation ("um") — unless the recogniser wrote a question mark;
- an opener said alone ("Wait.", "So.", "Well."): the caller is about to say what they want;
- a phone number under way: a number cue ("number", "phone") and fewer than 7 digits after it, in figures or
  words ("My number is 555.").
Word lists exist for English; other languages get the punctuation sign only.
"""

from __future__ import annotations

import re

from .lexicon import tokens

_TRAILING = re.compile(r"(,|;|:|-|—|–|\.\.\.|…)\s*$")
_HESITATION = re.compile(r"^(u+[hm]+|e+r+m*|a+h+m+|h+m+)$")

UNFINISHED_ENDINGS: dict[str, frozenset[str]] = {
    "en": frozenset((
        # Only words that end no statement ("I think so", "I'll take that", "that's all I need" do end one); a
        # question may end in a preposition ("Who am I speaking to?"): a text ending in "?" is never judged here.
        # articles and possessives
        "a", "an", "the", "my", "your", "our", "his", "her", "their",
        # conjunctions
        "and", "or", "but", "because", "if", "when", "while", "than", "although", "unless", "until", "whether",
        # prepositions
        "to", "for", "of", "in", "at", "from", "with", "by", "about", "into", "between",
        # a copula or auxiliary before what it introduces ("my number is")
        "is", "are", "was", "were", "i'm", "i'd", "i'll", "we're",
    )),
}
OPENERS: dict[str, frozenset[tuple[str, ...]]] = {
    "en": frozenset((("wait",), ("so",), ("well",), ("actually",), ("hold", "on"), ("hang", "on"), ("um",),
                     ("uh",), ("okay", "so"), ("and",), ("but",), ("also",), ("one", "more", "thing"))),
}
NUMBER_CUES: dict[str, frozenset[str]] = {"en": frozenset(("number", "phone", "cell", "mobile"))}
_NUMBER_WORDS = {"zero": 1, "oh": 1, "one": 1, "two": 1, "three": 1, "four": 1, "five": 1, "six": 1, "seven": 1,
                 "eight": 1, "nine": 1, "double": 0, "triple": 0}
PHONE_DIGITS = 7  # fewer after a number cue: the number is still being said


#: A transcript of this many words or fewer is a short answer ("Yes.", "No.", "Okay, sure."): finished as often as
#: not, but also how "Yes, that's right" and "No, that's all" begin, with a comma's pause (220-320 ms in Piper's
#: speech) that a turn model hears as the end.
SHORT_ANSWER_WORDS = 2


#: A pause whose transcript is this many words or fewer and reads finished ends on the silence rule, whatever a voice
#: model says: "Tomorrow", "Yes please", "No thanks, goodbye" are answers to a question the model never heard, and it
#: scores them unfinished. Longer transcripts keep the model's wait unless the line is quiet (`line_quiet`): in noise
#: tiny.en writes half sentences as finished ones ("I would like to book it."), and there the voice knows better.
WORDS_DECIDE_MAX = 3


def words_decide(text: str) -> bool:
    """Whether `text`, said before a pause, is short enough that its reading finished should end the wait."""
    return 0 < len(tokens(text.strip())) <= WORDS_DECIDE_MAX


def short_answer(text: str) -> bool:
    """Whether `text` is a short answer that the caller may go on from (not a question)."""
    text = text.strip()
    return bool(text) and not text.endswith("?") and 0 < len(tokens(text)) <= SHORT_ANSWER_WORDS


def _lang(language: str) -> str:
    return (language or "en").split("-")[0].split("_")[0].lower()


def unfinished(text: str, language: str = "en") -> str | None:
    """Why `text` reads as a sentence still being said ("trailing punctuation", "ends with 'if'", "opener",
    "number under way"), or None: it may well be finished."""
    text = text.strip()
    if not text:
        return None
    # A one-word answer with a trailing comma ("Tomorrow,") is no unfinished sentence: Whisper writes that comma after a
    # lone word when its prompt is the call's glossary (a comma-separated list), and a caller who does go on ("Yes,
    # that's right") is caught by the short-answer hold (`short_answer`). Openers ("Wait,") still wait.
    if _TRAILING.search(text) and not (text.endswith(",") and short_answer(text) and len(tokens(text)) == 1):
        return "trailing punctuation"
    lang = _lang(language)
    words = tokens(text)
    if not words:
        return None
    if tuple(words) in OPENERS.get(lang, ()):
        return "opener"
    last = words[-1]
    if text.endswith("?"):
        return None
    if last in UNFINISHED_ENDINGS.get(lang, ()) or _HESITATION.match(last):
        return f"ends with {last!r}"
    cues = NUMBER_CUES.get(lang, ())
    if any(word in cues for word in words):
        at = max(i for i, word in enumerate(words) if word in cues)
        digits = 0
        for word in words[at + 1 :]:
            if word.isdigit():
                digits += len(word)
            elif word in _NUMBER_WORDS:
                digits += _NUMBER_WORDS[word]
        if 0 < digits < PHONE_DIGITS and (words[-1].isdigit() or words[-1] in _NUMBER_WORDS):
            return "number under way"
    return None
