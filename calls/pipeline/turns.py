"""Local endpointing: per 20 ms frame, is the caller speaking, pausing, or done with their turn?

Runs 50 times a second per call, so it only does the VAD call and a few integer updates per frame. It also keeps
a short pre-roll of audio before speech onset: the VAD needs a few frames to be sure, and the first syllable
lives in them.
"""

from __future__ import annotations

import time
from collections import deque

from .vad import FrameVAD, SpeechTracker
from .voice_gate import LevelGatedVAD

FRAME_MS = 20

# Frame outcomes the session reacts to.
QUIET = 0  # no speech, nothing to do
SPEECH_START = 1  # caller began an utterance (pre-roll included in `pop_preroll`)
SPEAKING = 2  # a frame inside an utterance (voiced or a short pause)
PAUSE = 3  # exactly `speculate_ms` of silence inside an utterance: a good time to transcribe speculatively
END_OF_TURN = 4  # `end_silence_ms` of silence after speech


class TurnDetector:
    def __init__(
        self,
        sample_rate: int,
        end_silence_ms: int = 300,
        speculate_ms: int = 100,
        start_ms: int = 60,
        preroll_ms: int = 300,
        aggressiveness: int = 2,
        noise_gate_db: float = 0.0,
    ) -> None:
        """`noise_gate_db` > 0: once the caller paused, voiced frames that far below their loudest and near the
        line's noise floor are silence (`voice_gate`: babble behind a caller would keep their turn open)."""
        self.frame_bytes = sample_rate * 2 * FRAME_MS // 1000
        self.tracker = SpeechTracker(start_ms=start_ms, stop_ms=end_silence_ms)
        self.vad: FrameVAD | LevelGatedVAD = FrameVAD(sample_rate, aggressiveness)
        #: The noise gate around the VAD, or None.
        self.gate = LevelGatedVAD(self.vad, self._in_utterance, noise_gate_db, frame_ms=FRAME_MS) \
            if noise_gate_db > 0 else None
        if self.gate is not None:
            self.vad = self.gate
        self.speculate_ms = speculate_ms
        self.preroll: deque[bytes] = deque(maxlen=max(1, preroll_ms // FRAME_MS))
        self.last_voiced_at = 0.0  # monotonic time of the last voiced frame
        self.utterance_voiced_ms = 0

    def feed(self, frame: bytes) -> int:
        voiced = self.vad.is_speech(frame)
        tracker = self.tracker
        event = tracker.update(voiced, FRAME_MS)
        if voiced:
            self.last_voiced_at = time.monotonic()
        if event == "speech_start":
            return SPEECH_START
        if event == "speech_end":
            self.utterance_voiced_ms = tracker.voiced_ms
            return END_OF_TURN
        if tracker.speaking:
            self.utterance_voiced_ms = tracker.voiced_ms
            if not voiced and tracker.silence_ms == self.speculate_ms:
                return PAUSE
            return SPEAKING
        self.preroll.append(frame)
        return QUIET

    def _in_utterance(self) -> bool:
        return self.tracker.speaking

    def end_utterance(self) -> None:
        """Something other than our silence rule (the STT provider, a turn model) decided the turn is over: close
        the utterance as our own endpointing would. `silence_ms` still counts from the last voiced frame (the
        turn's audio ends there, not now)."""
        tracker = self.tracker
        self.utterance_voiced_ms = tracker.voiced_ms
        silence = tracker.silence_ms
        tracker.reset()
        tracker.silence_ms = silence

    def pop_preroll(self) -> list[bytes]:
        frames = list(self.preroll)
        self.preroll.clear()
        return frames

    @property
    def voiced_ms(self) -> int:
        """Voiced ms of the utterance under way; 0 between utterances."""
        return self.tracker.voiced_ms if self.tracker.speaking else 0

    @property
    def speaking(self) -> bool:
        """Inside an utterance (its voiced frames and its pauses)."""
        return self.tracker.speaking

    def learn_line_from(self, other: TurnDetector) -> None:
        """A detector built mid-call takes over what `other` (the one it replaces) knows of the line's noise."""
        gate = getattr(other, "gate", None)
        if self.gate is not None and gate is not None:
            self.gate.learn_room_from(gate)

    @property
    def room_talks(self) -> bool:
        """The VAD hears voice in the room between the caller's utterances (babble, a TV; `voice_gate`): a pause
        there may be the caller's or the room's. False without the noise gate."""
        return self.gate is not None and self.gate.room_talks

    @property
    def line_quiet(self) -> bool:
        """The line's noise is far below the caller's voice (`voice_gate`): there the words of a pause can be
        trusted. False without the noise gate (nothing measures it)."""
        return self.gate is not None and self.gate.line_quiet

    @property
    def line_noisy(self) -> bool:
        """The line's noise is measured and near the caller's voice (`voice_gate`, about 20 dB SNR or worse): there
        a voice model's verdicts on half sentences run high. False without the noise gate (nothing measures it)."""
        return self.gate is not None and self.gate.line_noisy

    @property
    def silence_ms(self) -> int:
        """Unvoiced ms since the last voiced frame."""
        return self.tracker.silence_ms
