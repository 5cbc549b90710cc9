"""Bounded reorder buffer (calls.pipeline.reorder)."""

from __future__ import annotations

import random

import pytest

from calls.pipeline.reorder import ReorderBuffer, ReorderStats

SILENCE = b"<silence>"


def p(seq: int) -> bytes:
    return b"f%d" % seq


def push_all(buf: ReorderBuffer, seqs: list[int]) -> list[bytes]:
    out: list[bytes] = []
    for seq in seqs:
        out += buf.push(seq, p(seq))
    return out


def assert_accounted(buf: ReorderBuffer) -> None:
    s = buf.stats
    assert s.received == s.released + s.late_dropped + s.duplicates + buf.pending


def test_in_order_frames_are_released_immediately():
    buf = ReorderBuffer(window=5)
    for seq in range(100, 110):
        assert buf.push(seq, p(seq)) == [p(seq)]
    assert buf.stats == ReorderStats(received=10, released=10)
    assert buf.pending == 0


def test_first_frame_sets_the_start_sequence():
    buf = ReorderBuffer()
    assert buf.next_seq is None
    assert buf.push(7, p(7)) == [p(7)]
    assert buf.next_seq == 8


def test_frames_shuffled_within_window_come_out_in_order():
    buf = ReorderBuffer(window=5)
    assert buf.push(1, p(1)) == [p(1)]
    assert buf.push(3, p(3)) == []
    assert buf.push(4, p(4)) == []
    assert buf.push(2, p(2)) == [p(2), p(3), p(4)]
    assert push_all(buf, [7, 6, 5]) == [p(5), p(6), p(7)]
    assert buf.stats.concealed == 0 and buf.stats.released == 7


def test_duplicate_of_held_frame_is_dropped_and_counted():
    buf = ReorderBuffer(window=5)
    assert push_all(buf, [1, 3, 3, 2]) == [p(1), p(2), p(3)]
    assert buf.stats.duplicates == 1
    assert_accounted(buf)


def test_duplicate_of_released_frame_is_dropped_and_counted():
    buf = ReorderBuffer(window=5)
    assert push_all(buf, [1, 2, 3, 2, 1]) == [p(1), p(2), p(3)]
    assert buf.stats.duplicates == 2 and buf.stats.late_dropped == 0


def test_missing_frame_is_concealed_once_window_is_exceeded():
    buf = ReorderBuffer(window=3, conceal=lambda: SILENCE)
    assert push_all(buf, [1, 3, 4, 5]) == [p(1)]  # 3 held: still waiting for 2
    assert buf.push(6, p(6)) == [SILENCE, p(3), p(4), p(5), p(6)]
    assert buf.stats.concealed == 1
    assert buf.pending == 0


def test_several_missing_frames_each_get_concealment():
    buf = ReorderBuffer(window=2, conceal=lambda: SILENCE)
    out = push_all(buf, [1, 4, 5, 6])
    assert out == [p(1), SILENCE, SILENCE, p(4), p(5), p(6)]
    assert buf.stats.concealed == 2


def test_gap_without_conceal_callback_is_skipped():
    buf = ReorderBuffer(window=1)
    assert push_all(buf, [1, 3, 4]) == [p(1), p(3), p(4)]
    assert buf.stats.concealed == 1


def test_frame_arriving_after_its_slot_was_concealed_is_dropped_as_late():
    buf = ReorderBuffer(window=2, conceal=lambda: SILENCE)
    push_all(buf, [1, 3, 4, 5])  # 2 concealed
    assert buf.push(2, p(2)) == []
    assert buf.stats.late_dropped == 1 and buf.stats.duplicates == 0
    assert_accounted(buf)


def test_frame_older_than_the_start_is_dropped_as_late():
    buf = ReorderBuffer()
    buf.push(10, p(10))
    assert buf.push(9, p(9)) == []
    assert buf.stats.late_dropped == 1


def test_window_zero_never_holds_anything():
    buf = ReorderBuffer(window=0, conceal=lambda: SILENCE)
    assert push_all(buf, [1, 3, 2]) == [p(1), SILENCE, p(3)]
    assert buf.stats.late_dropped == 1


def test_big_jump_resyncs_instead_of_concealing_the_whole_gap():
    buf = ReorderBuffer(window=5, conceal=lambda: SILENCE, max_jump=50)
    push_all(buf, [1, 2, 4])  # 4 held waiting for 3
    out = buf.push(10_000, p(10_000))
    assert out == [SILENCE, p(4), p(10_000)]  # held frames flushed, then the new one
    assert buf.stats.resyncs == 1 and buf.stats.concealed == 1
    assert buf.push(10_001, p(10_001)) == [p(10_001)]
    assert buf.push(5, p(5)) == []  # stale frame from before the jump
    assert buf.stats.late_dropped == 1


def test_jump_within_max_jump_is_concealed_not_resynced():
    buf = ReorderBuffer(window=0, conceal=lambda: SILENCE, max_jump=50)
    out = push_all(buf, [1, 51])
    assert out == [p(1)] + [SILENCE] * 49 + [p(51)]
    assert buf.stats.resyncs == 0


def test_memory_is_bounded_by_window():
    buf = ReorderBuffer(window=4)
    rng = random.Random(3)
    for _ in range(2000):
        buf.push(rng.randrange(0, 5000), b"x")
        assert buf.pending <= 4
    assert_accounted(buf)


def test_flush_releases_held_frames_in_order_concealing_gaps():
    buf = ReorderBuffer(window=10, conceal=lambda: SILENCE)
    push_all(buf, [1, 5, 3])
    assert buf.flush() == [SILENCE, p(3), SILENCE, p(5)]
    assert buf.pending == 0 and buf.stats.concealed == 2
    assert buf.flush() == []
    assert buf.push(6, p(6)) == [p(6)]  # continues after the flushed frames


def test_conceal_is_called_once_per_missing_frame():
    calls = []

    def conceal() -> bytes:
        calls.append(1)
        return SILENCE

    buf = ReorderBuffer(window=1, conceal=conceal)
    push_all(buf, [1, 4, 5])
    assert len(calls) == 2


def test_invalid_configuration_is_rejected():
    with pytest.raises(ValueError):
        ReorderBuffer(window=-1)
    with pytest.raises(ValueError):
        ReorderBuffer(window=10, max_jump=5)


def test_randomized_bounded_shuffle_of_1000_frames_is_lossless():
    rng = random.Random(20240611)
    window = 5
    seqs = list(range(1000, 2000))
    # Each frame moves by less than `window` places: sort on seq + jitter.
    arrival = sorted(seqs, key=lambda s: s + rng.uniform(0, window))
    assert arrival != seqs
    buf = ReorderBuffer(window=window, conceal=lambda: SILENCE)
    out = push_all(buf, arrival) + buf.flush()
    assert out == [p(s) for s in seqs]
    assert buf.stats == ReorderStats(received=1000, released=1000)


def test_randomized_shuffle_with_duplicates_and_losses_stays_ordered():
    rng = random.Random(7)
    seqs = [s for s in range(1000) if rng.random() > 0.05]  # 5 % loss
    seqs += rng.sample(seqs, 50)  # duplicates
    arrival = sorted(seqs, key=lambda s: s + rng.uniform(0, 4))
    buf = ReorderBuffer(window=5, conceal=lambda: SILENCE)
    out = push_all(buf, arrival) + buf.flush()
    real = [x for x in out if x != SILENCE]
    assert real == sorted(set(real), key=lambda b: int(b[1:]))  # strictly increasing
    assert len(out) == max(seqs) - min(seqs) + 1  # one slot per sequence number
    assert buf.stats.duplicates == 50
    assert_accounted(buf)
