"""The languages an agent can speak (`Agent.language`, a BCP-47 tag) and what each provider calls them.

One table, so that a new language is one line: the tag the dashboard offers, its English name (the LLM is told to
reply in it), and each engine's own code for it — espeak-ng's voice, pySBD's sentence rules, Whisper's language
token, Deepgram's `language` parameter, ElevenLabs' `language_code`. A missing code means the engine has none:
pySBD then cuts with its English rules (right for most Latin-script text), and so on, as each provider says.

What the embedded stack really speaks is narrower than this list; the README's language table says which
language gets which recogniser, voice and turn-taking words.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LANGUAGE = "en-US"


@dataclass(frozen=True)
class Language:
    tag: str  # BCP-47, as stored on the agent
    name: str  # English name, for the dashboard and the LLM's "reply in ..." line
    espeak: str  # espeak-ng voice (all of these ship with espeakng-loader)
    whisper: str  # Whisper's language token
    deepgram: str  # Deepgram's `language` (its nova-2/nova-3 list)
    pysbd: str | None = None  # pySBD's language, where it has rules for it

    @property
    def primary(self) -> str:
        """"es" for "es-MX": the key of the per-language word lists (backchannels, stop words)."""
        return self.tag.split("-")[0].lower()

    @property
    def is_english(self) -> bool:
        return self.primary == "en"


_TABLE = (
    Language("en-US", "English (US)", "en-us", "en", "en-US", "en"),
    Language("en-GB", "English (UK)", "en-gb", "en", "en-GB", "en"),
    Language("en-AU", "English (Australia)", "en-gb", "en", "en-AU", "en"),
    Language("en-IN", "English (India)", "en-gb", "en", "en-IN", "en"),
    Language("es-ES", "Spanish (Spain)", "es", "es", "es", "es"),
    Language("es-MX", "Spanish (Latin America)", "es-419", "es", "es-419", "es"),
    Language("fr-FR", "French (France)", "fr-fr", "fr", "fr", "fr"),
    Language("fr-CA", "French (Canada)", "fr", "fr", "fr-CA", "fr"),
    Language("de-DE", "German", "de", "de", "de", "de"),
    Language("it-IT", "Italian", "it", "it", "it", "it"),
    Language("pt-BR", "Portuguese (Brazil)", "pt-br", "pt", "pt-BR"),
    Language("pt-PT", "Portuguese (Portugal)", "pt-pt", "pt", "pt-PT"),
    Language("nl-NL", "Dutch", "nl", "nl", "nl", "nl"),
    Language("pl-PL", "Polish", "pl", "pl", "pl", "pl"),
    Language("sv-SE", "Swedish", "sv", "sv", "sv-SE"),
    Language("da-DK", "Danish", "da", "da", "da-DK", "da"),
    Language("nb-NO", "Norwegian", "nb", "no", "no"),
    Language("fi-FI", "Finnish", "fi", "fi", "fi"),
    Language("tr-TR", "Turkish", "tr", "tr", "tr"),
    Language("ru-RU", "Russian", "ru", "ru", "ru", "ru"),
    Language("uk-UA", "Ukrainian", "uk", "uk", "uk"),
    Language("hi-IN", "Hindi", "hi", "hi", "hi", "hi"),
    Language("ja-JP", "Japanese", "ja", "ja", "ja", "ja"),
    Language("ko-KR", "Korean", "ko", "ko", "ko-KR"),
    Language("zh-CN", "Chinese (Mandarin)", "cmn", "zh", "zh-CN", "zh"),
)

LANGUAGES: dict[str, Language] = {lang.tag: lang for lang in _TABLE}

#: (tag, label) pairs for the model field's choices and the dashboard's select.
LANGUAGE_CHOICES: list[tuple[str, str]] = [(lang.tag, f"{lang.name} — {lang.tag}") for lang in _TABLE]


def language(tag: str | None) -> Language:
    """The table's entry for `tag` ("es-es" and "es_ES" too); a bare or unknown primary subtag ("es") finds its
    first regional entry; anything else is a ValueError naming the tag."""
    wanted = (tag or DEFAULT_LANGUAGE).strip().replace("_", "-")
    for lang in _TABLE:
        if lang.tag.lower() == wanted.lower():
            return lang
    primary = wanted.split("-")[0].lower()
    for lang in _TABLE:
        if lang.primary == primary:
            return lang
    raise ValueError(f"Unknown language {tag!r}: use one of {', '.join(LANGUAGES)}.")


def language_or_none(tag: str | None) -> Language | None:
    """Like `language`, but None for no tag (the provider keeps its own default) and for a tag the table lacks
    (a provider option may hold a vendor's own code, such as Deepgram's "multi")."""
    if not tag:
        return None
    try:
        return language(tag)
    except ValueError:
        return None


def exact_language(tag: str | None) -> Language | None:
    """The entry whose tag is `tag` (any case, "_" or "-"), else None: for a vendor code that must go through
    untouched when it is not one of ours ("es-419" to Deepgram)."""
    wanted = (tag or "").strip().replace("_", "-").lower()
    return next((lang for lang in _TABLE if lang.tag.lower() == wanted), None)

