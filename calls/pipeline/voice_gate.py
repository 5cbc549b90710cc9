"""A caller's voice against the noise under it: voiced frames far quieter than the caller's own speech are noise.

The frame VAD (webrtcvad) hears babble — a room of talkers behind the caller — as voice: at 15 dB SNR it flags 40-80 %
of babble-only frames voiced, its longest silent run is 180-440 ms, so after the caller stops, the silence that ends a
turn (300 ms; the 700 or 1200 ms smart-turn waits) never comes and the turn stays open. The babble is, though, well
below the caller: in the turn-taking bench's babble (docs/benchmarks.md) the voiced frames after the caller stopped
were 15-25 dB below the loudest frame of their utterance, their words' voiced frames mostly within 15.

`LevelGatedVAD` wraps the frame VAD: while `armed`, inside an utterance (`in_utterance()`), a voiced frame more than
`gate_db` below the utterance's loudest voiced frame so far (decaying 1 dB a second) counts as silence. The
end-of-turn strategy arms it only once the caller has paused (the VAD heard a short silence and the turn model was
asked) and disarms it on the next frame that passes: inside the caller's words, 10-25 % of voiced frames are as quiet
(word endings, consonants), and gated there they would make pauses that are none. Speech start is the VAD's alone;
the loudest level is forgotten between utterances.

Per frame: the wrapped VAD, and for voiced frames inside an utterance the frame's energy (one small numpy dot).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

GATE_DB = 14.0
DECAY_DB_PER_FRAME = 0.02  # 1 dB a second at 20 ms frames


def frame_level_db(pcm: bytes) -> float:
    """The frame's mean power in dB (PCM16LE; ~0 for digital silence)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    return 10.0 * math.log10(float(np.dot(samples, samples)) / max(1, samples.size) + 1.0)


class LevelGatedVAD:
    def __init__(self, vad, in_utterance: Callable[[], bool], gate_db: float = GATE_DB) -> None:
        """`vad`: has `is_speech(pcm) -> bool`; `in_utterance()`: whether the caller's utterance is under way."""
        self.vad = vad
        self.in_utterance = in_utterance
        self.gate_db = gate_db
        self.loudest = -1.0  # dB of the utterance's loudest voiced frame (decaying)
        self.armed = False
        self.gated = 0  # voiced frames taken for noise, all told (for logs and tests)

    def is_speech(self, pcm: bytes) -> bool:
        if not self.vad.is_speech(pcm):
            return False
        if not self.in_utterance():
            self.loudest = frame_level_db(pcm)  # the utterance may begin with this frame
            return True
        level = frame_level_db(pcm)
        loudest = self.loudest - DECAY_DB_PER_FRAME
        if level > loudest:
            loudest = level
        self.loudest = loudest
        if self.armed and level < loudest - self.gate_db:
            self.gated += 1
            return False
        return True
