"""A caller's voice against the noise under it: voiced frames far quieter than the caller's own speech, and
close to the line's noise floor, are noise; and the room behind the caller starts no utterance.

The frame VAD (webrtcvad) hears babble — a room of talkers behind the caller — as voice: at 15 dB SNR it flags 40-80 %
of babble-only frames voiced, its longest silent run is 180-440 ms, so after the caller stops, the silence that ends a
turn (300 ms; the 700 or 1200 ms smart-turn waits) never comes and the turn stays open. The babble is, though, well
below the caller: in the turn-taking bench's babble (docs/benchmarks.md) the voiced frames after the caller stopped
were 15-25 dB below the loudest frame of their utterance, their words' voiced frames mostly within 15.

`LevelGatedVAD` wraps the frame VAD. Inside an utterance (`in_utterance()`), once the caller has paused
(below: it is then `armed`), a voiced frame counts as silence when it is both more than `gate_db`
below the utterance's loudest voiced frame so far (decaying 1 dB a second) and less than `floor_margin_db` above the
line's noise floor (a moving average of the frames the VAD calls unvoiced). The first voiced frame that passes
disarms it. Why both conditions and the pause:

- inside the caller's words 10-25 % of voiced frames are as quiet as the babble (word endings, consonants): gated
  there, they would make pauses that are none; hence only after a pause;
- after a pause inside a sentence, the next word may begin as quietly ("... appointment | for tomorrow", Kokoro
  jm_kumo, clean): on a clean line its frames are still far above the floor (digital or codec silence), so the
  floor condition leaves a clean line exactly as the VAD hears it (on pink noise the gate splits no sentence, and
  may end a turn sooner than the VAD alone: `tests/turn/test_voice_gate.py`). Offline, the turn-taking bench's
  sentences with the silence rule at 300 ms (2026-12-06, three voices, two noise seeds): babble 15 dB, turns not
  ended within 2.5 s 26 of 36 -> 2 (loudest-only gate: 2, but it split 4 of 36 clean sentences; with the floor: 0).

The pause that arms it is `arm_after_ms` of quiet ending in a frame the VAD calls unvoiced, or `level_arm_ms`
(160 ms) of voiced frames every one of which is quiet enough to gate. In babble the VAD often hears no unvoiced
frame for 150-300 ms after the caller's last word (every frame there far below the caller and near the floor), and
the silence that ends the turn began only then: offline, the turn-taking bench's sentences (three voices, pink and
babble at 15 dB, three noise seeds, 2026-12-06), the silence began after the end of the caller's speech by a median
100 ms in babble (p90 376), with the level run 0 ms (p90 80); pink and clean lines barely change (pink p50 0 -> -20
ms). A shorter level run finds pauses inside words: quiet runs of 120 ms or more before the last word (long enough
for a smart-turn verdict) rose in babble from 7 to 13 of 54 whole sentences at 160 ms, to 31 at 120 ms and 58 at
80 (pink: 25 -> 31 at 160 ms); inside the 54 paused sentences, before their pause, one (pink) against none. A clean
line never has such frames (its floor is the codec's silence), so it is heard exactly as before.

Between utterances, a voiced frame starts one only when it is `start_over_room_db` (6 dB) louder than the room: a
moving average of every frame heard while no utterance is under way (those the VAD calls unvoiced and those this rule
holds back; never the caller's words). Babble started utterances on its own, and an utterance babble starts cannot
end on the rule above (its loudest frame is the babble's own): after the caller's turn ended, babble started one at
once, which the session took for the caller going on (the answer waited for it, and in the turn-taking bench's
babble about half the replies never came within 2.5 s). Offline, 8 lines of 6 s of 15 dB babble with nobody on
them: 33 utterances started -> 5; the bench's sentences in babble are all still heard
(`tests/turn/test_voice_gate.py`), 100-120 ms into the caller's speech (80-100 ms without the rule).

The line's first frame is the room's first measure and starts nothing: a carrier streams the line from the call's
start, while the agent greets (webrtcvad calls a line's first frames voice, and babble there would start an utterance
that never ends). A caller who talks from the very first frame is heard at their first syllable 6 dB over the
average so far, or after their first pause; the pre-roll keeps the words before it. A detector built mid-call (the
cascade the realtime brain falls back to) takes the room from the one it replaces (`learn_room_from`).

`room_talks`: the VAD calls at least `ROOM_TALKS_AT` (20 %) of the room's frames voiced (a moving average over about
a second). Measured when the caller stopped, 2 s of line before they spoke: babble 15 dB 8 of 8 lines, pink 15 dB 1
of 8, clean 0. There a pause may be the caller's or the room's (the session then answers only after the longest
wait).

`line_quiet`: the line's noise (the floor or the room, whichever is louder) is `QUIET_LINE_DB` (40 dB) or more below
the caller's loudest frame: about 30 dB SNR or better. Measured at the end of the bench's sentences: clean 65-76 dB,
pink or babble at 25 dB SNR 27-35, at 15 dB 17-26. There tiny.en's transcript can be trusted to say whether a
sentence is finished (it read all 9 first halves of the bench's paused sentences unfinished on clean lines, and 11
of 18 in pink and babble at 15 dB), so a finished reading may end a wait that the sound of the voice asked for.
`line_noisy`: less than `NOISY_LINE_DB` (30 dB), about 20 dB SNR or worse (all the bench's 15 dB lines, few of its
25 dB ones). There Smart Turn's verdicts on half sentences run high (`calls/session/smart_turn.py`); between the two
the line is neither.

Per frame: the wrapped VAD and the frame's energy (one small numpy dot, ~2 us).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

GATE_DB = 14.0
FLOOR_MARGIN_DB = 10.0
START_OVER_ROOM_DB = 6.0
ROOM_TALKS_AT = 0.2
QUIET_LINE_DB = 40.0
NOISY_LINE_DB = 30.0
ROOM_ALPHA = 0.02
ARM_AFTER_MS = 60
LEVEL_ARM_MS = 160
DECAY_DB_PER_FRAME = 0.02  # 1 dB a second at 20 ms frames
FLOOR_ALPHA = 0.05  # the noise floor follows the unvoiced frames' level over about a second


def frame_level_db(pcm: bytes) -> float:
    """The frame's mean power in dB (PCM16LE; ~0 for digital silence)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    return 10.0 * math.log10(float(np.dot(samples, samples)) / max(1, samples.size) + 1.0)


class LevelGatedVAD:
    def __init__(self, vad, in_utterance: Callable[[], bool], gate_db: float = GATE_DB,
                 floor_margin_db: float = FLOOR_MARGIN_DB, arm_after_ms: int = ARM_AFTER_MS,
                 frame_ms: int = 20, start_over_room_db: float | None = START_OVER_ROOM_DB,
                 level_arm_ms: int | None = LEVEL_ARM_MS) -> None:
        """`vad`: has `is_speech(pcm) -> bool`; `in_utterance()`: whether the caller's utterance is under way."""
        self.vad = vad
        self.in_utterance = in_utterance
        self.gate_db = gate_db
        self.floor_margin_db = floor_margin_db
        self.arm_after_ms = arm_after_ms
        self.level_arm_ms = level_arm_ms
        self.frame_ms = frame_ms
        self.start_over_room_db = start_over_room_db
        self.loudest = -1.0  # dB of the utterance's loudest voiced frame (decaying)
        self.floor: float | None = None  # dB: the line's level while the VAD hears no voice (moving average)
        self.armed = False
        self.gated = 0  # voiced frames taken for noise, all told (for logs and tests)
        self.room: float | None = None  # dB: the line's level between utterances, voiced or not (moving average)
        self.room_voiced = 0.0  # the share of those frames the VAD calls voiced (moving average)
        self.held = 0  # voiced frames between utterances too close to the room's level to start one, all told
        self._quiet_ms = 0  # quiet (silence as this gate hears it, or frames quiet enough to gate) since the last voice

    def is_speech(self, pcm: bytes) -> bool:
        level = frame_level_db(pcm)
        if not self.vad.is_speech(pcm):
            floor = self.floor
            self.floor = level if floor is None else floor + FLOOR_ALPHA * (level - floor)
            if not self.in_utterance():
                self._room(level, 0.0)
            self._quiet()
            return False
        if not self.in_utterance():
            margin = self.start_over_room_db
            if margin is not None and (self.room is None or level < self.room + margin):
                self.held += 1
                self._room(level, 1.0)
                return False  # the room, not a caller: no utterance starts on it
            self.loudest = level  # the utterance may begin with this frame
            self.armed = False
            self._quiet_ms = 0
            return True
        loudest = self.loudest - DECAY_DB_PER_FRAME
        if level > loudest:
            loudest = level
        self.loudest = loudest
        if level < loudest - self.gate_db and self.floor is not None and level < self.floor + self.floor_margin_db:
            if self.armed:
                self.gated += 1
                self._quiet()
                return False
            # Not armed: a run this quiet is a pause the VAD hears as the room's voice once it is long enough.
            self._quiet_ms += self.frame_ms
            if self.level_arm_ms is not None and self._quiet_ms >= self.level_arm_ms:
                self.armed = True
                self.gated += 1
                return False
            return True
        self.armed = False
        self._quiet_ms = 0
        return True

    def _room(self, level: float, voiced: float) -> None:
        room = self.room
        self.room = level if room is None else room + FLOOR_ALPHA * (level - room)
        self.room_voiced += ROOM_ALPHA * (voiced - self.room_voiced)

    def learn_room_from(self, other: LevelGatedVAD) -> None:
        """Take what `other` knows of the line (the room, its voiced share, the floor): a gate built mid-call (the
        cascade the realtime brain falls back to) would otherwise learn the room from the caller talking now."""
        if other.room is not None:
            self.room, self.room_voiced = other.room, other.room_voiced
        if other.floor is not None:
            self.floor = other.floor

    @property
    def room_talks(self) -> bool:
        """Whether the room behind the caller sounds like talk: the VAD hears voice in a good part of it."""
        return self.room_voiced >= ROOM_TALKS_AT

    @property
    def headroom_db(self) -> float | None:
        """How far the caller's loudest frame is above the line's noise (the floor or the room, whichever is
        louder); None before the caller spoke or the line was heard."""
        noise = max((n for n in (self.floor, self.room) if n is not None), default=None)
        return self.loudest - noise if noise is not None and self.loudest >= 0.0 else None

    @property
    def line_quiet(self) -> bool:
        """Whether the line's noise is far below the caller's voice (`QUIET_LINE_DB`)."""
        headroom = self.headroom_db
        return headroom is not None and headroom >= QUIET_LINE_DB

    @property
    def line_noisy(self) -> bool:
        """Whether the line's noise is measured and near the caller's voice (`NOISY_LINE_DB`)."""
        headroom = self.headroom_db
        return headroom is not None and headroom < NOISY_LINE_DB

    def _quiet(self) -> None:
        self._quiet_ms += self.frame_ms
        if self._quiet_ms >= self.arm_after_ms:
            self.armed = True
