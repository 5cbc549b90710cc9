"""The simulated caller a test suite calls with: carrier peers (`peers`), the real-time clock (`simulated`) and the
caller's voice (`speech`). The test harnesses re-export these (voicebot.testing.carrier, voicebot.testing.speech)."""
