"""Playout pause and resume against a carrier that plays in real time: quiet at once, and then the whole answer."""

from __future__ import annotations

import asyncio

import pytest

from calls.pipeline.playout import Playout, SentenceAudio
from voicebot.testing.in_process import RATE, HexSerializer, NumberedTTS, PlayingCarrier


async def synthesize(tts: NumberedTTS, text: str) -> bytes:
    return b"".join([chunk async for chunk in tts.synthesize(text)])


def rig(**kwargs) -> tuple[PlayingCarrier, Playout]:
    carrier = PlayingCarrier()
    playout = Playout(carrier.send, HexSerializer(), RATE, chunk_ms=20, lead_ms=200, mark_every_ms=200, **kwargs)
    carrier.playout = playout
    carrier.start()
    return carrier, playout


async def play_all(playout: Playout, texts_pcm: list[tuple[str, bytes]]) -> bool:
    for text, pcm in texts_pcm:
        await playout.play(playout.new_utterance(text, pcm))
    return await playout.wait_heard(timeout=10)


@pytest.mark.asyncio
async def test_a_pause_goes_quiet_at_once_and_the_resume_plays_everything_the_clear_dropped():
    tts = NumberedTTS()
    text = "we are open from nine in the morning until six in the evening on weekdays"
    pcm = await synthesize(tts, text)
    carrier, playout = rig()
    try:
        loop = asyncio.get_running_loop()
        player = asyncio.ensure_future(play_all(playout, [(text, pcm)]))
        await asyncio.sleep(0.5)
        assert playout.pause() and not playout.pause()  # a second pause changes nothing
        paused_at = loop.time()
        await playout.send_clear()
        dropped = carrier.log[-1][2]
        assert carrier.log[-1][1] == "clear" and dropped > 0  # the carrier had audio queued: it is gone
        await asyncio.sleep(0.4)
        # Quiet: nothing played, nothing sent while paused.
        assert not [t for t in carrier.times("play") + carrier.times("audio") if t > paused_at + 0.001]
        await playout.resume()
        assert await player
        # Every frame of the sentence was played whole, the dropped ones after the resume; only a few frames of
        # overlap (the jitter allowance) were played twice.
        numbers = tts.numbers[text]
        assert carrier.heard_all(numbers), carrier.missing(numbers)
        repeated = sum(1 for n in numbers if carrier.heard[n] > 160)
        assert repeated <= 3
        assert playout.rewound_bytes >= dropped
        assert playout.pauses == 1 and not playout.paused and not playout.active
        assert carrier.in_order()
    finally:
        await carrier.stop()


@pytest.mark.asyncio
async def test_resume_re_sends_the_tail_of_a_sentence_already_sent_before_the_next_one():
    tts = NumberedTTS()
    first, second = "short one.", "and then a somewhat longer second sentence follows it."
    pcm1, pcm2 = await synthesize(tts, first), await synthesize(tts, second)
    carrier, playout = rig()
    try:
        player = asyncio.ensure_future(play_all(playout, [(first, pcm1), (second, pcm2)]))
        # The first sentence (120 ms) is all sent at once (the lead is 200 ms): pause while it is still queued.
        await asyncio.sleep(0.06)
        assert playout.pause()
        await playout.send_clear()
        await asyncio.sleep(0.2)
        await playout.resume()
        assert await player
        assert carrier.heard_all(tts.numbers[first]) and carrier.heard_all(tts.numbers[second])
        # In order: the first sentence's dropped tail went out again before the second sentence went on.
        assert carrier.in_order(), carrier.sequence
        assert carrier.sequence.count("clear") == 1
    finally:
        await carrier.stop()


@pytest.mark.asyncio
async def test_marks_echoed_by_the_pauses_clear_do_not_count_as_heard():
    tts = NumberedTTS()
    text = "one two three four five six seven eight nine ten eleven twelve"
    pcm = await synthesize(tts, text)
    carrier, playout = rig()
    try:
        utt = playout.new_utterance(text, pcm)
        player = asyncio.ensure_future(playout.play(utt))
        await asyncio.sleep(0.3)
        playout.pause()
        await playout.send_clear()  # the carrier echoes its pending marks at once
        await asyncio.sleep(0.05)
        assert utt.heard_bytes <= carrier.played  # never more than was played
        assert not utt.fully_heard
        await playout.resume()
        await player
        assert await playout.wait_heard(timeout=5) and utt.fully_heard
    finally:
        await carrier.stop()


@pytest.mark.asyncio
async def test_a_clear_while_paused_ends_the_pause_and_drops_everything():
    tts = NumberedTTS()
    text = "this sentence is going to be cut off by the caller"
    pcm = await synthesize(tts, text)
    carrier, playout = rig()
    try:
        utt = playout.new_utterance(text, pcm)
        player = asyncio.ensure_future(playout.play(utt))
        await asyncio.sleep(0.2)
        playout.pause()
        await playout.send_clear()
        player.cancel()  # the speaker's reply task is cancelled on a barge-in
        cut = await playout.clear()
        assert cut == [utt] and not playout.paused and not playout.active
        await playout.resume()  # too late: nothing to resume
        await asyncio.sleep(0.1)
        assert not carrier.heard_all(tts.numbers[text])
    finally:
        await carrier.stop()


@pytest.mark.asyncio
async def test_time_spent_paused_does_not_count_against_waiting_for_the_marks():
    tts = NumberedTTS()
    text = "a short answer"
    pcm = await synthesize(tts, text)
    carrier, playout = rig()
    try:
        utt = playout.new_utterance(text, pcm)
        await playout.play(utt)
        playout.pause()
        await playout.send_clear()
        waiting = asyncio.ensure_future(playout.wait_heard(timeout=0.3))
        await asyncio.sleep(0.5)  # longer than the timeout, but paused
        assert not waiting.done()
        await playout.resume()
        assert await waiting and utt.fully_heard
        assert playout.held_s >= 0.5
    finally:
        await carrier.stop()


@pytest.mark.asyncio
async def test_a_streaming_sentence_paused_before_its_audio_came_plays_whole_after_the_resume():
    carrier, playout = rig()
    try:
        audio = SentenceAudio()
        utt = playout.new_utterance("four words of text", b"", streaming=True)
        audio.attach(utt)
        player = asyncio.ensure_future(playout.play(utt))
        playout.pause()
        audio.feed(b"\x05\x00" * (RATE * 240 // 1000))
        audio.finish()
        await asyncio.sleep(0.1)
        assert not carrier.times("audio")
        await playout.resume()
        await player
        assert await playout.wait_heard(timeout=3) and utt.fully_heard and carrier.heard[5] == RATE * 240 // 1000
    finally:
        await carrier.stop()
