"""The call session layer: one call's conversation, coordinated.

`call_session.CallSession` coordinates; `factory.build_session` assembles one from an Agent. Below this layer are
the pipeline stages and providers; above it, the carrier edge (`calls.carriers`, `calls.consumers`).
"""
