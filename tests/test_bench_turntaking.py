"""The turntaking benchmark's harness (bench/turntaking.py): its sounds, its noisy line, and one real trial each way.

A Piper caller's "uh-huh" over the agent's long answer must not cut it off; "Wait." must, within the budget —
through the real session, the real local Whisper and the agent-default words strategy.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import turntaking  # noqa: E402
from voicebot.testing.speech import active_level  # noqa: E402


@pytest.mark.parametrize("kind", turntaking.NOISES)
def test_noise_events_are_short_and_loud(kind):
    sound = np.frombuffer(turntaking._noise_event(kind, 1), "<i2")
    assert sound.size == turntaking.RATE // 4 and np.abs(sound).max() > 10000


def test_the_line_puts_noise_at_the_snr_under_everything():
    speech = turntaking._trimmed("I would like to book an appointment.", "piper-joe")
    ref = active_level(np.frombuffer(speech, "<i2"), turntaking.RATE)
    line = turntaking.Line(15.0, ref, seed=2)
    quiet = np.frombuffer(line.carry(bytes(turntaking.RATE * 2)), "<i2").astype(np.float64)  # 1 s of "silence"
    measured = 10 * np.log10(ref / np.mean(quiet**2))
    assert abs(measured - 15.0) < 1.0  # μ-law adds a little
    assert turntaking.Line(None, ref, seed=2).carry(bytes(320)) == bytes(320)


@pytest.mark.asyncio
async def test_a_backchannel_resumes_and_an_interruption_cuts_through_the_real_session():
    from calls.providers.stt.whisper_engine import get_whisper

    get_whisper().warm_up()
    line = turntaking.Line(None, 1.0, seed=0)
    uh_huh = await turntaking._over_the_answer(bytes(1600) + turntaking._trimmed("Uh-huh.", "piper-joe"), line,
                                               "backchannel")
    assert not uh_huh["barge_in"] and uh_huh["resumes"] >= 1, uh_huh
    wait = await turntaking._over_the_answer(bytes(1600) + turntaking._trimmed("Wait.", "piper-joe"), line,
                                             "interruption")
    assert wait["barge_in"] and wait["onset_to_clear_ms"] <= 250, wait


def _trial(test: str, **extra) -> dict:
    base = {"test": test, "voice": "piper-joe", "condition": "clean", "strategy": "smart-turn", "kind": "backchannel",
            "barge_in": False, "holds": 1, "onset_to_quiet_ms": 90.0, "end_of_turn_ms": 150.0, "reply_ms": 300.0,
            "cut_off": False, "text": "x"}
    return base | extra


def test_a_run_of_one_part_keeps_the_other_parts_stored_trials():
    stored = {"trials": [_trial("over_answer", barge_in=True), _trial("complete", end_of_turn_ms=900.0),
                         _trial("paused", cut_off=True)],
              "runs": {"over": "the over part: machine A", "eot": "the eot part: machine A"}}
    fresh = {"trials": [_trial("complete", end_of_turn_ms=120.0), _trial("paused", cut_off=False)]}
    data = turntaking.merged(stored, fresh, ("eot",), "machine B")
    # Where each part was measured, said beside the figures.
    assert data["runs"] == {"over": "the over part: machine A", "eot": "the eot part: machine B"}
    assert "the over part: machine A" in turntaking._runs(data)
    tests = sorted(t["test"] for t in data["trials"])
    assert tests == ["complete", "over_answer", "paused"]  # the stored "over" trial kept, the stored eot ones not
    g = data["groups"]["all"]
    assert g["false_pct"] == 100.0 and g["smart-turn"]["end_of_turn_p50_ms"] == 120.0
    assert g["smart-turn"]["cut_off_pct"] == 0.0
    alone = turntaking.merged(None, fresh, ("eot",), "machine B")
    assert alone["trials"] == fresh["trials"] and "the over part: the stored trials of an earlier run" in turntaking._runs(alone)


def test_a_complete_sentence_cut_off_is_counted_beside_the_paused_ones():
    data = turntaking.summarise([
        _trial("complete", early_end=True, cut_off=False),  # ended inside it, taken back: the caller went on
        _trial("complete", early_end=True, cut_off=True),  # ... and answered over the caller
        _trial("complete"),
        _trial("complete", strategy="silence+provider", early_end=True, cut_off=True),
        _trial("paused", early_end=True, cut_off=True)])
    smart, silence = data["groups"]["all"]["smart-turn"], data["groups"]["all"]["silence+provider"]
    assert (smart["complete_early_n"], smart["complete_cut_off_n"], smart["complete_n"]) == (2, 1, 3)
    assert (silence["complete_early_n"], silence["complete_cut_off_n"]) == (1, 1)
    assert smart["cut_off_pct"] == 100.0 and smart["paused_n"] == 1  # the paused set's goal is its own
    assert "ended a turn inside\n2 with smart-turn and 1 with the silence rule, and\n1 / 1 of those were cut off" in \
        turntaking._eot_reading(data)
