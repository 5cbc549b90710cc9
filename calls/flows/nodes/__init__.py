"""Node types beyond say / ask / end, one module each. Every module exposes `TYPE`, `enter` and, as it needs,
`on_input` (the node waits for the caller), `reprompt` (silence) and `RESUME` ({effect type: handler})."""

from __future__ import annotations

from . import answer, collect, handover, llm, tool, transfer

MODULES = (collect, llm, tool, answer, transfer, handover)


def register(engine_cls) -> None:
    for module in MODULES:
        engine_cls._ENTER[module.TYPE] = module.enter
        if hasattr(module, "on_input"):
            engine_cls._INPUT[module.TYPE] = module.on_input
        if hasattr(module, "reprompt"):
            engine_cls._REPROMPT[module.TYPE] = module.reprompt
        for effect_type, handler in getattr(module, "RESUME", {}).items():
            engine_cls._RESUME[(module.TYPE, effect_type)] = handler
