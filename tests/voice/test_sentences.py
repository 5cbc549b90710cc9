"""Sentence cuts for the TTS: abbreviations, decimals, times, URLs and streamed text."""

from __future__ import annotations

import pytest

from calls.providers.base import split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Dr. Smith can see you at 3 p.m. tomorrow. Is that OK?",
         ["Dr. Smith can see you at 3 p.m. tomorrow.", "Is that OK?"]),
        ("The copay is $12.50 for a cleaning. Anything else?", ["The copay is $12.50 for a cleaning.", "Anything else?"]),
        ("It costs 3.5 dollars, or 0.75 with the plan. Ok.", ["It costs 3.5 dollars, or 0.75 with the plan.", "Ok."]),
        ("Visit www.brightsmile.com/book or https://example.org/a.b?c=1 to book. Thanks!",
         ["Visit www.brightsmile.com/book or https://example.org/a.b?c=1 to book.", "Thanks!"]),
        ("We open at 9:30 a.m. on Mon. and Tue. Bye.", ["We open at 9:30 a.m. on Mon. and Tue.", "Bye."]),
        ("Mr. and Mrs. Jones are booked for Jan. 5th. Great!", ["Mr. and Mrs. Jones are booked for Jan. 5th.", "Great!"]),
        ("We're at 12 St. James St. in Springfield. Come by.",
         ["We're at 12 St. James St. in Springfield.", "Come by."]),
        ("Bring your card, e.g. the blue one. Done.", ["Bring your card, e.g. the blue one.", "Done."]),
        ("Hello there! How are you? I am fine.", ["Hello there!", "How are you?", "I am fine."]),
        ("Please hold on; let me check.", ["Please hold on; let me check."]),
    ],
)
def test_whole_replies_are_cut_only_at_sentence_ends(text, sentences):
    done, rest = split_sentences(text)
    assert done == sentences[:-1] or done == sentences  # the last one may wait for more text...
    assert [*done, rest.strip()][: len(sentences)] == sentences  # ...but every cut is where it should be


@pytest.mark.parametrize("text", ["Dr. ", "Your visit is at 3 p.m. ", "Ask for J. ", "It is $12.", "Hello"])
def test_a_streamed_text_that_may_go_on_is_kept_as_the_rest(text):
    assert split_sentences(text) == ([], text)


def test_a_plain_sentence_end_is_said_without_waiting_for_more():
    assert split_sentences("I can help with that. ") == (["I can help with that."], "")
    assert split_sentences("Really? ") == (["Really?"], "")


def test_streaming_the_doctor_sentence_token_by_token_gives_one_sentence():
    tokens = ["Dr", ".", " Smith", " can", " see", " you", " at", " 3", " p", ".m", ".", " tomorrow", ".", " Is",
              " that", " OK", "?"]
    said, buffer = [], ""
    for token in tokens:
        done, buffer = split_sentences(buffer + token)
        said += done
    assert said == ["Dr. Smith can see you at 3 p.m. tomorrow."] and buffer == "Is that OK?"


def test_no_text_is_lost():
    text = "First one. Second, with 1.5 and a.m. times! third? Fourth"
    done, rest = split_sentences(text)
    assert " ".join([*done, rest]).split() == text.split()
