"""voicebot's test harnesses, in one place: what the tests, the benchmark and `manage.py simulate_call` share.

The app never imports this package (the `harnesses-out` contract in .importlinter); it is a Django app only so
that `simulate_call` is a management command (apps.py). By role:

- carrier/: (re-exported from the product's suites.caller, which test suites call with) the simulated carrier peers (Twilio, Telnyx: webhook signing, media-socket messages) and the
  simulated caller that talks over a real socket in real time and measures what a caller would notice;
- vendors/: local servers that speak the vendors' wire protocols (Deepgram, OpenAI, ElevenLabs, Twilio REST,
  Telnyx REST) and a customer's tool endpoint;
- speech.py: the simulated caller's voice (text -> PCM at a rate), defined once in suites.caller.speech;
- pcm.py: synthetic signals (tones, speech-like audio, silence) and frame helpers;
- server.py: a real voicebot server (daphne on loopback) in a subprocess.

Keep this file free of imports: Django imports it at start-up, being in INSTALLED_APPS.
"""
