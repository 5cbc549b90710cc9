"""The call session layer: one call's conversation, coordinated.

- `call_session.CallSession` coordinates one call: the per-frame path, the caller's turns, barge-in, DTMF,
  hanging up and transfers, and the lifetime of every task;
- `turn_taking`: the swappable strategies that decide when the caller's turn has ended and whether their speech
  over the agent's is an interruption (chosen per agent by name); `smart_turn`: the one that asks a turn model
  (`calls.providers.turn`) whether the caller sounds done;
- `speaker.Speaker`: brain outputs -> sentences -> TTS -> playout, and the reply's actions;
- `turn_log.TurnLog`: turn records, what the caller heard, recording offsets, latency metrics;
- `watchdog.Watchdog`: silence re-prompts and the maximum call duration;
- `settings.AgentSettings`, `lines`: what the session reads of the agent, and what it says on its own;
- `factory.build_session` assembles a session from an Agent.

Below this layer are the pipeline stages and providers; above it, the carrier edge (`calls.carriers`,
`calls.consumers`).
"""
