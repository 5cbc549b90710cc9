"""The "smart-turn" end-of-turn strategy: a short silence asks a turn model whether the caller is done.

Our VAD tracks the caller as for the silence rule. When they have been silent `ask_after_ms` (the agent's
`smart_turn_silence_ms`, 60 ms by default), the strategy hands the last (up to) 8 s of the utterance to the model on a
worker thread (never on the event loop) and goes on listening. What the verdict does depends on how sure the model
is, not only on its bit (`EndOfTurnBands`):

- sure it is complete (p >= `complete_at`, 0.9): the turn ends as soon as the verdict arrives, ~100-150 ms after
  the caller stopped instead of the silence rule's 300 ms;
- likely complete (`likely_at` <= p < `complete_at`, 0.7): the turn ends after `likely_silence_ms` of silence
  (160 ms): longer than the gaps inside a sentence (stop consonants, a breath: 40-140 ms in Piper's speech) that a
  verdict asked 60 ms in may fall into;
- unsure (`threshold` <= p < `likely_at`): the turn ends after `unsure_silence_ms` of silence (700 ms): the
  longer wait lets a caller who paused mid-sentence go on;
- incomplete (p < `threshold`, 0.5, "my number is five five five ..."): the turn ends when the caller has been
  silent `max_silence_ms` (1.2 s by default), or on a later verdict when `reask_every_ms` asks again;
- the caller speaks again before the verdict: it is dropped (a new pause asks afresh), and the wait is the
  maximum again until the next verdict.

On a noisy line (`TurnDetector.line_noisy`: the line's noise less than 30 dB below the caller's loudest, about 20 dB
SNR or worse) a verdict short of sure waits one band longer — likely as unsure (700 ms), unsure as incomplete —
because noise lifts the model's verdicts on half sentences. Asked 100 ms into the pause, the bench's three voices,
two noise seeds: "I would like to book an" scored 0.03-0.45 clean and 0.08-0.94 (median 0.59) in pink and babble at
15 dB SNR; there 9 of 36 first halves fell in the likely band (clean 3 of 18), against 6 of 72 finished sentences.
At 25 dB SNR the halves were about as on clean lines (5 of 36) and finished sentences more often likely (9 of 72),
hence the line has to be that noisy. Asking again later in the pause is no help: the longer the noise after the
words, the more finished they sound to it (at 450 ms, 20 of the 36 noisy halves scored >= 0.9).

The words have their say too. In the pause: a transcript that reads finished caps the wait at the silence rule
(`words_read_finished`) — a short answer's always, a longer sentence's on a quiet line (`TurnDetector.line_quiet`:
the accented jf_alpha's finished sentences scored 0.06-0.34 on clean lines and waited 1.2 s). After the turn ended:
a transcript that reads unfinished (`completeness`) still waits for the caller to go on, up to the maximum silence
(`CallSession._goes_on`).

A verdict that comes late (a busy machine) is never waited for: the maximum silence ends the turn regardless.
Without the model (its file missing, or it failed to load or run) the strategy is the plain silence rule at the
agent's `end_of_turn_silence_ms`, said once in the log; a call never fails on it.

The per-frame path (`feed`) stays what `TurnDetector.feed` is, plus copying the frame into a preallocated ring
of the last 8 s (no allocation) and integer checks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial

from ..pipeline.turns import END_OF_TURN, FRAME_MS, PAUSE, SPEAKING, SPEECH_START, TurnDetector
from ..pipeline.voice_gate import GATE_DB
from ..providers.turn import smart_turn as model
from .settings import AgentSettings
from .turn_taking import EndOfTurnStrategy, SilenceEndOfTurn, noise_gate_db, register_end_of_turn

log = logging.getLogger("calls.session")

NAME = "smart-turn"
WINDOW_S = 8  # the model hears the last 8 s
_NEVER = 1 << 30

#: (pcm16 bytes, sample rate) -> probability that the turn is complete. Blocking: runs on the executor.
Predict = Callable[[bytes, int], float]


@dataclass(frozen=True)
class EndOfTurnBands:
    """What the model's probability means for the wait: the silence (ms since the caller's last voiced frame)
    after which the turn ends. A small policy of its own, so another mapping can replace it.

    Why bands, not one threshold: the model is sure of most finished sentences, while the half sentences it
    misjudges ("I would like to book an", in pink noise) spread over the whole range; what keeps a half sentence
    from being answered is its transcript (`completeness`: "I would like to book an" still waits). Smart Turn
    asked 100 ms after 23 finished sentences and 13 first halves, each said by the bench's three neural voices
    clean and in pink and babble noise (8 kHz mu-law; 2026-12-05): p >= 0.9 for 65 % of the finished ones (the
    accented jf_alpha 49 %), >= 0.7 for 81 % (64 %); halves 40 % and 49 %. Asked 60 ms into a gap inside "Do you
    accept insurance from Blue Cross?", it said 0.87: hence the likely band's short wait rather than none."""

    complete_at: float = 0.9  # at or above: the turn ends now
    threshold: float = 0.5  # below: incomplete, the agent's maximum silence
    unsure_silence_ms: int = 700  # from threshold to likely_at
    likely_at: float = 0.7  # from here to complete_at: ...
    likely_silence_ms: int = 160  # ... the turn ends after this much silence

    def wait_ms(self, probability: float, max_silence_ms: int, noisy_line: bool = False) -> int:
        """On a noisy line (`TurnDetector.line_noisy`) a verdict short of sure waits one band longer: likely as
        unsure, unsure as incomplete (the module's docstring says why)."""
        if probability >= self.complete_at:
            return 0
        if probability >= self.likely_at and not noisy_line:
            return min(self.likely_silence_ms, max_silence_ms)
        if probability >= (self.likely_at if noisy_line else self.threshold):
            return min(self.unsure_silence_ms, max_silence_ms)
        return max_silence_ms


class SmartTurnEndOfTurn(TurnDetector, EndOfTurnStrategy):
    # Its turns end ~100 ms into a pause, well inside a comma's (220-320 ms): "Yes." waits until 400 ms of silence
    # before it is answered (a caller who goes on is heard 60 ms after they do).
    short_answer_settle_ms = 400

    def __init__(
        self,
        sample_rate: int,
        *,
        predict: Predict | None,
        executor: Executor | None = None,
        ask_after_ms: int = 120,
        max_silence_ms: int = 1200,
        fallback_silence_ms: int = 300,
        threshold: float = 0.5,
        complete_at: float = 0.9,
        unsure_silence_ms: int = 700,
        likely_at: float = 0.7,
        likely_silence_ms: int = 160,
        reask_every_ms: int = 0,
        speculate_ms: int = 100,
        noise_gate_db: float = GATE_DB,
    ) -> None:
        """`predict` None: the silence rule at `fallback_silence_ms`. `executor` None: the event loop's default."""
        ask_after_ms = max(FRAME_MS, ask_after_ms)
        max_silence_ms = max(max_silence_ms, ask_after_ms + FRAME_MS)
        # Babble under the caller is heard as voice by the VAD: once they paused, what is far below their own
        # level and near the line's noise floor counts as silence, so the waits can run out (`voice_gate`).
        super().__init__(sample_rate, end_silence_ms=max_silence_ms if predict else fallback_silence_ms,
                         speculate_ms=speculate_ms, noise_gate_db=noise_gate_db)
        self.sample_rate = sample_rate
        self.ask_after_ms = ask_after_ms
        self.max_silence_ms = max_silence_ms
        self.fallback_silence_ms = fallback_silence_ms
        complete_at = max(threshold, complete_at)
        self.bands = EndOfTurnBands(complete_at=complete_at, threshold=threshold, unsure_silence_ms=unsure_silence_ms,
                                    likely_at=min(complete_at, max(threshold, likely_at)),
                                    likely_silence_ms=likely_silence_ms)
        # The silence that ends the turn while no verdict says otherwise (a verdict may shorten it until the caller
        # speaks again).
        self._longest = self.tracker.stop_ms
        self._over_agent = False
        self.reask_every_ms = reask_every_ms
        self._predict = predict
        self._executor = executor
        # The caller's audio, all of it, into a ring of the last 8 s (a whole number of frames, so a frame never
        # wraps); `_written` counts every byte ever fed, `_start` is where the current utterance (with its
        # pre-roll) began in that count.
        fb = self.frame_bytes
        self._ring = bytearray(fb * (WINDOW_S * 1000 // FRAME_MS))
        self._pos = 0
        self._written = 0
        self._start = 0
        self._next_ask = ask_after_ms
        self._generation = 0  # bumped whenever an outstanding verdict stops mattering
        self._pending = False
        self._asked_at = 0.0
        # What the model said, for logs, tests and the benchmark.
        self.asks = 0
        self.words_capped = 0  # pauses whose finished-reading words capped the model's wait (`words_read_finished`)
        self.last_latency_ms: float | None = None
        # The last few verdicts as (ms of silence when it came, p, whether the line was noisy): why a pause ended.
        self.verdicts: deque[tuple[int, float, bool]] = deque(maxlen=8)
        # The pause's transcript reads finished (`words_read_finished`): the model's longer waits are capped at the
        # silence rule. Short answers ("Tomorrow", "Yes please") sound unfinished to Smart Turn, which hears no
        # question before them; the words know better, and on a quiet line so do a whole sentence's.
        self._words_finished = False

    def caller_over_agent(self, overlapped: bool) -> None:
        """Over the agent's speech the model is not asked and the turn ends on the plain silence rule: the words
        decide there (a barge-in or a backchannel), and "Tomorrow, ..." heard as a finished turn 60 ms into a
        comma's pause would be judged on one word."""
        self._over_agent = overlapped
        if self._predict is not None:
            self._longest = self.fallback_silence_ms if overlapped else self.max_silence_ms
            self.tracker.stop_ms = self._longest

    @property
    def last_probability(self) -> float | None:
        """The latest verdict's p (None before the first)."""
        return self.verdicts[-1][1] if self.verdicts else None

    @property
    def threshold(self) -> float:
        return self.bands.threshold

    @property
    def model_in_use(self) -> bool:
        return self._predict is not None

    # ------------------------------------------------------------------ hot path

    def feed(self, frame: bytes) -> int:
        outcome = TurnDetector.feed(self, frame)
        n = len(frame)
        pos = self._pos
        self._ring[pos : pos + n] = frame
        pos += n
        self._pos = 0 if pos >= len(self._ring) else pos
        self._written += n
        if outcome == SPEAKING or outcome == PAUSE:
            silence = self.tracker.silence_ms
            if silence == 0:  # a voiced frame: the caller goes on
                self._words_finished = False
                if self._pending:
                    self._drop_verdict()
                self._next_ask = self.ask_after_ms
                self.tracker.stop_ms = self._longest  # an earlier verdict was about a pause that is over
            elif silence >= self._next_ask and self._predict is not None and not self._over_agent:
                self._next_ask = silence + self.reask_every_ms if self.reask_every_ms > 0 else _NEVER
                self._ask()
        elif outcome == SPEECH_START:
            # The utterance began with the frames the pre-roll kept (the VAD needed a few to be sure).
            self._start = self._written - n * (1 + len(self.preroll))
            self._next_ask = self.ask_after_ms
            self._drop_verdict()
            self.tracker.stop_ms = self._longest
        elif outcome == END_OF_TURN:  # the maximum silence, a verdict's shorter wait, or the fallback rule ended it
            self._drop_verdict()
            self.tracker.stop_ms = self._longest
        return outcome

    # ------------------------------------------------------------------ the model, off the frame path

    def _drop_verdict(self) -> None:
        self._generation += 1
        self._pending = False

    def _ask(self) -> None:
        if self._pending:
            return  # the previous question is still being answered (a busy machine): the maximum silence decides
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # fed outside an event loop (a synchronous test): nowhere to deliver a verdict
        pcm = self._utterance_audio()
        self._pending = True
        self._asked_at = time.monotonic()
        self.asks += 1
        future = loop.run_in_executor(self._executor, self._predict, pcm, self.sample_rate)
        future.add_done_callback(partial(self._on_verdict, self._generation))

    def _utterance_audio(self) -> bytes:
        """The current utterance, at most the last 8 s, oldest first."""
        ring, pos = self._ring, self._pos
        size = min(self._written - self._start, len(ring))
        if size <= pos:
            return bytes(ring[pos - size : pos])
        return bytes(ring[len(ring) - (size - pos) :]) + bytes(ring[:pos])

    def _on_verdict(self, generation: int, future: asyncio.Future) -> None:
        """On the event loop, when the model answered."""
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            self._fall_back(error)
            return
        probability = future.result()
        if generation != self._generation:
            return  # the caller spoke again, or the turn ended meanwhile
        self._pending = False
        self.last_latency_ms = (time.monotonic() - self._asked_at) * 1000
        noisy = self.line_noisy
        self.verdicts.append((self.tracker.silence_ms, probability, noisy))
        log.debug("smart-turn: p(complete)=%.2f after %.0f ms of silence (%.0f ms to answer)%s", probability,
                  self.tracker.silence_ms, self.last_latency_ms, ", noisy line" if noisy else "")
        if not self.tracker.speaking:
            return
        wait = self.bands.wait_ms(probability, self.max_silence_ms, noisy)
        if self._words_finished:
            wait = min(wait, self.fallback_silence_ms)
        if wait <= self.tracker.silence_ms:
            self.end_utterance()
            self.tracker.stop_ms = self._longest
            self._end_turn()
        else:
            # The frame path ends the turn on that silence (sooner than the maximum when unsure) unless the caller
            # speaks again first (a voiced frame puts the maximum back).
            self.tracker.stop_ms = wait

    def words_read_finished(self) -> None:
        """Cap this pause's wait at the silence rule (`fallback_silence_ms`): at once if the verdict is in, else
        when it comes. A voiced frame clears it (the caller went on: new words, a new judgement)."""
        if not self.tracker.speaking or self._over_agent:
            return
        self._words_finished = True
        self.words_capped += 1
        if not self._pending and self.tracker.stop_ms > self.fallback_silence_ms:
            self.tracker.stop_ms = self.fallback_silence_ms
            if self.tracker.silence_ms >= self.fallback_silence_ms:
                self.end_utterance()
                self.tracker.stop_ms = self._longest
                self._end_turn()

    def _fall_back(self, error: BaseException) -> None:
        """The model cannot run: from now on this call's turns end on the plain silence rule."""
        _say_once(f"smart-turn model failed ({error!r}); ending turns on {self.fallback_silence_ms} ms of silence")
        self._predict = None
        self._pending = False
        self._longest = self.tracker.stop_ms = self.fallback_silence_ms


_said: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        log.warning(message)


def build(settings: AgentSettings, sample_rate: int) -> EndOfTurnStrategy:
    """The agent's smart-turn strategy. Options beyond the Agent's fields, in
    `provider_options["turn_taking"]["smart-turn"]`: `threshold` (0.5: below, incomplete), `complete_at` (0.9: at
    or above, the turn ends at once), `likely_at` (0.7) and `likely_silence_ms` (160: the wait from there to
    `complete_at`), `unsure_silence_ms` (700: the wait from `threshold` to `likely_at`), `reask_every_ms` (0: ask once
    a pause), `noise_gate_db` (14: once the caller paused, voiced frames this far below their loudest and near the
    line's noise floor count as silence, `voice_gate`; 0: off). A value that is not a number is ignored (a call must
    not fail on it)."""
    options = settings.turn_taking_options.get(NAME) or {}
    if not model.available():
        _say_once(f"smart-turn: no model at {model.model_path()} (make install fetches it); "
                  f"ending turns on silence alone")
        return SilenceEndOfTurn(sample_rate, end_silence_ms=settings.end_of_turn_silence_ms,
                                speculate_ms=settings.speculate_ms, noise_gate_db=noise_gate_db(settings, NAME))
    return SmartTurnEndOfTurn(
        sample_rate,
        predict=model.probability,
        executor=model.executor(),
        ask_after_ms=settings.smart_turn_silence_ms,
        max_silence_ms=settings.end_of_turn_max_silence_ms,
        fallback_silence_ms=settings.end_of_turn_silence_ms,
        threshold=_number(options, "threshold", 0.5, 0.0, 1.0),
        complete_at=_number(options, "complete_at", 0.9, 0.0, 1.0),
        unsure_silence_ms=int(_number(options, "unsure_silence_ms", 700, 20, 10000)),
        likely_at=_number(options, "likely_at", 0.7, 0.0, 1.0),
        likely_silence_ms=int(_number(options, "likely_silence_ms", 160, 20, 10000)),
        reask_every_ms=int(_number(options, "reask_every_ms", 0, 0, 10000)),
        noise_gate_db=noise_gate_db(settings, NAME),
        speculate_ms=settings.speculate_ms,
    )


def _number(options: dict, key: str, default: float, low: float, high: float) -> float:
    try:
        return min(high, max(low, float(options.get(key, default))))
    except (TypeError, ValueError):
        _say_once(f"smart-turn option {key}={options.get(key)!r} is not a number: using {default}")
        return default


register_end_of_turn(NAME, build)
