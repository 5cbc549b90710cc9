"""The simulated caller's voice lives in the product (agent test suites speak with it): suites.caller.speech.
Re-exported here so the harnesses, tests and benchmark keep one name for it."""

from suites.caller.speech import (
    DEFAULT_VOICE,
    NEURAL_VOICES,
    NOISES,
    WPM,
    active_level,
    caller_speech,
    make_noise,
    mix,
    speak,
)

__all__ = ["DEFAULT_VOICE", "NEURAL_VOICES", "NOISES", "WPM", "active_level", "caller_speech", "make_noise", "mix",
           "speak"]
