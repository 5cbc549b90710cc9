"""The call-WER benchmark's harness (bench/callwer.py): how words are compared, and one real call through it.

A Piper caller over 8 kHz μ-law, through the real session, VAD, end of turn and local Whisper with the demo agent's
hints: the stored caller turns say what was said.
"""

from __future__ import annotations

import asyncio
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import callwer  # noqa: E402


@pytest.mark.parametrize(("said", "written"), [
    ("I would like to book a cleaning for March third.", "I'd like to book a cleaning for March 3rd."),
    ("My phone number is 617 555 0192.", "My phone number is 617-555-0192."),
    ("You can reach me at five five five, two one three, four four seven eight.", "You can reach me at 555-213-4478."),
    ("My date of birth is July eighth, nineteen eighty four.", "My date of birth is July 8th, 1984."),
    ("Can I come in next Friday at nine thirty?", "Can I come in next Friday at 9:30?"),
    ("Is there an opening with Doctor Okafor?", "Is there an opening with Dr. Okafor?"),
])
def test_the_same_words_written_differently_compare_equal(said, written):
    ref, hyp = callwer.normalise(said), callwer.normalise(written)
    # "I'd" vs "I would" is a real difference the comparison keeps (2 edits); nothing else differs.
    assert callwer.edit_distance(ref, hyp) == (2 if "I'd" in written else 0)


def test_the_set_is_large_and_varied_enough():
    assert len(callwer.SENTENCES) >= 40
    assert any(any(ch.isdigit() for ch in s) for s in callwer.SENTENCES)
    hints = callwer.demo_vocabulary()
    assert hints[:2] == ["Dr. Okafor", "Dr. Nguyen"] and "Cigna" in hints and "Bright Smile Dental" in hints


def test_a_piper_caller_is_understood_through_the_session():
    sentences = ["Do you accept Delta Dental insurance?", "I live at 42 Harbor Street, apartment 3B."]
    lines = [callwer.line_audio(s, "piper-joe", None, seed=i) for i, s in enumerate(sentences)]
    heard = asyncio.run(callwer._call(lines, {"vocabulary": callwer.demo_vocabulary()}))
    assert len(heard) == 2
    for said, got in zip(sentences, heard):
        assert callwer.edit_distance(callwer.normalise(said), callwer.normalise(got)) <= 1, (said, got)
