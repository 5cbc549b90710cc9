"""Hypothesis strategies for carrier media-socket messages: valid ones (from the recorded fixtures), the same with
any field replaced by a value of the wrong type or deleted, truncated JSON, invalid base64, deep nesting, huge
payloads and plain random text."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TWILIO_KINDS = ("start", "media", "mark", "dtmf", "stop", "connected")
TELNYX_KINDS = ("start_pcmu", "start_pcma", "start_l16", "media", "mark", "dtmf", "stop", "connected", "error")


def templates(carrier: str) -> dict[str, dict]:
    kinds = TWILIO_KINDS if carrier == "twilio" else TELNYX_KINDS
    return {kind: json.loads((FIXTURES / carrier / f"{kind}.json").read_text()) for kind in kinds}


# Any JSON value, including the ones Python's json accepts beyond the standard (NaN, Infinity, huge integers).
json_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 1e400, 0.5, -1, 0, 8000, 16000, "8000", "PCMU", "L16", "audio/x-mulaw", ""]),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _paths(value, prefix=()) -> list[tuple]:
    """Every key path in a nested dict (lists are left whole)."""
    out = []
    if isinstance(value, dict):
        for key, inner in value.items():
            out.append((*prefix, key))
            out.extend(_paths(inner, (*prefix, key)))
    return out


@st.composite
def mutated(draw, template: dict) -> dict:
    """`template` with one to three fields replaced by arbitrary JSON values, or deleted."""
    msg = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(msg)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = msg
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue
        if draw(st.booleans()):
            parent[path[-1]] = draw(json_values)
        else:
            del parent[path[-1]]
    return msg


def _dumps(msg) -> str:
    return json.dumps(msg, allow_nan=True)


def with_payload(template: dict, payload: str) -> str:
    msg = copy.deepcopy(template)
    msg["media"]["payload"] = payload
    return _dumps(msg)


def junk_text(carrier: str) -> st.SearchStrategy[str]:
    """One media-socket text message that may be anything from valid to garbage."""
    t = templates(carrier)
    valid = st.sampled_from([_dumps(m) for m in t.values()])
    media = t["media"]
    return st.one_of(
        valid,
        st.sampled_from(list(t.values())).flatmap(mutated).map(_dumps),
        valid.flatmap(lambda text: st.integers(0, max(0, len(text) - 1)).map(lambda n: text[:n])),  # truncated
        st.text(max_size=200),
        json_values.map(_dumps),
        st.text(max_size=60).map(lambda p: with_payload(media, p)),  # invalid base64, mostly
        st.binary(max_size=400).map(lambda b: with_payload(media, base64.b64encode(b).decode())),
        st.integers(1, 70_000).map(lambda n: with_payload(media, base64.b64encode(b"\xff" * n).decode())),  # huge
        st.integers(500, 60_000).flatmap(lambda n: st.sampled_from(["[" * n, '{"a":' * n, "[" * n + "]" * n])),
        st.sampled_from(['{"event": "media", "media": {"payload": "' + "A" * 4 + '", "track": "inbound"},'
                         ' "sequence_number": 1e400}', '{"event": "start", "sequence_number": Infinity}',
                         '{"event": "start", "start": {"mediaFormat": []}}', "NaN", "-Infinity", "null", "1e999"]),
    )


def message_sequences(carrier: str, max_size: int = 12) -> st.SearchStrategy[list[str]]:
    return st.lists(junk_text(carrier), min_size=1, max_size=max_size)
