"""Speech-to-speech on the OpenAI Realtime API: the model hears the caller and answers in audio, no STT or TTS.

- `config.RealtimeConfig`: what the agent asks of the model (prompt, voice, turn detection, tools, greeting) and
  the `session.update` that says it;
- `audio.AudioBridge`: the call's audio to the model's format and back (μ-law passes straight through for 8 kHz
  PCMU calls); `heard_ms` turns what marks confirmed into a truncate's `audio_end_ms`;
- `events`: the server's events read defensively (unknown and malformed ones counted and skipped);
- `link.RealtimeLink`: the SDK's connection (`AsyncOpenAI().realtime.connect`) with the few client events we send;
- `tools.RealtimeTools`: end_call, transfer_call, HTTP tools and knowledge search for the model's function calls;
- `brain.RealtimeBrain`: the registry entry an agent chooses ("openai-realtime").

The call itself is coordinated by `calls.session.realtime_session.RealtimeCallSession`.
"""
