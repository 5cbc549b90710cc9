"""`WhisperSTT.peek`: a quick look at the utterance so far, only when the model is free, never queued."""

from __future__ import annotations

import threading

import pytest

from calls.providers.stt.whisper_engine import Transcription
from calls.providers.stt.whisper_local import WhisperSTT
from voicebot.testing.pcm import voiced

RATE = 8000


class StubEngine:
    """Says how many bytes it was given; `busy` makes every non-waiting call return None (the model is taken)."""

    def __init__(self) -> None:
        self.busy = False
        self.calls: list[bool] = []  # the `wait` of each call
        self.prompts: list[str | None] = []  # the initial prompt of each call
        self.languages: list[str | None] = []  # the language of each call
        self.lock = threading.Lock()

    def transcribe(self, pcm, rate, *, wait=True, beam_size=None, prompt=None, language=None):
        self.languages.append(language)
        self.prompts.append(prompt)
        with self.lock:
            self.calls.append(wait)
        if self.busy and not wait:
            return None
        return f"{len(pcm)} bytes"

    def transcribe_scored(self, pcm, rate, **options):
        text = self.transcribe(pcm, rate, **options)
        return None if text is None else Transcription(text, -0.1)


def stream() -> tuple[WhisperSTT, StubEngine]:
    stt = WhisperSTT(RATE)
    stt.engine = StubEngine()
    return stt, stt.engine


@pytest.mark.asyncio
async def test_a_peek_never_waits_for_the_model():
    stt, engine = stream()
    stt.send_audio(voiced(400))
    engine.busy = True
    assert await stt.peek() is None and engine.calls == [False]
    engine.busy = False
    assert await stt.peek() == f"{RATE * 2 * 400 // 1000} bytes" and engine.calls == [False, False]


@pytest.mark.asyncio
async def test_a_peek_of_too_little_audio_or_without_a_model_costs_nothing():
    stt, engine = stream()
    stt.send_audio(voiced(100))
    assert await stt.peek() is None and engine.calls == []
    stt.engine = None
    stt.send_audio(voiced(400))
    assert await stt.peek() is None


@pytest.mark.asyncio
async def test_the_final_transcript_reuses_a_peek_of_the_same_audio():
    stt, engine = stream()
    stt.send_audio(voiced(400))
    peeked = await stt.peek()
    assert await stt.transcript() == peeked and engine.calls == [False]  # no second model call
    stt.send_audio(voiced(200))  # more speech: the peek no longer answers for it
    assert await stt.transcript() != peeked and engine.calls == [False, True]


@pytest.mark.asyncio
async def test_an_expectation_primes_the_model_and_a_result_taken_without_it_no_longer_counts():
    stt, engine = stream()
    stt.send_audio(voiced(400))
    await stt.transcript()
    stt.expect("Mm-hmm. Uh-huh.")
    await stt.transcript()  # the same audio, asked again with the prompt: transcribed again
    await stt.peek()  # ... and that result is reused
    assert engine.prompts == [None, "Mm-hmm. Uh-huh."]
    stt.expect(None)
    first = await stt.transcript()  # the unprimed result of this very audio is still there
    assert engine.prompts == [None, "Mm-hmm. Uh-huh."] and first == f"{RATE * 2 * 400 // 1000} bytes"


@pytest.mark.asyncio
async def test_speech_over_the_agent_is_judged_by_the_judge_model_and_the_rest_by_the_calls():
    stt, engine = stream()
    stt.judge = judge = StubEngine()
    stt.send_audio(voiced(400))
    await stt.transcript()  # the caller's turn: the call's model
    stt.expect("Mm-hmm. Uh-huh.")  # over the agent: the judge
    await stt.transcript()
    await stt.peek()  # ... whose result is reused
    assert engine.prompts == [None] and judge.prompts == ["Mm-hmm. Uh-huh."]
    stt.expect(None)
    stt.send_audio(voiced(400))
    await stt.transcript()
    assert len(engine.prompts) == 2 and len(judge.prompts) == 1


@pytest.mark.asyncio
async def test_under_an_expectation_the_words_are_biased_and_asked_again_without_it_the_calls_model_writes_them():
    stt, engine = stream()
    stt.judge = judge = StubEngine()
    assert not stt.biased
    stt.expect("Mm-hmm. Uh-huh.")
    assert stt.biased
    stt.send_audio(voiced(400))
    await stt.transcript()
    stt.expect(None)  # the session: the words proved it a turn
    assert not stt.biased
    await stt.transcript()  # the same audio, now by the call's model with the vocabulary prompt (None here)
    assert judge.prompts == ["Mm-hmm. Uh-huh."] and engine.prompts == [None]


@pytest.mark.asyncio
async def test_the_judge_model_is_the_assembled_base_unless_the_agent_says_call():
    from calls.providers.stt.whisper_models import model_dir

    base = model_dir("base")
    judged = WhisperSTT(RATE)
    await judged.start()
    assert judged.judge is not None and judged.judge.model_dir == str(base.resolve())
    assert judged.engine is not None and judged.engine is not judged.judge
    own = WhisperSTT(RATE, options={"judge_model": "call"})
    await own.start()
    assert own.judge is None and own.engine is judged.engine
    await judged.close()
    await own.close()
