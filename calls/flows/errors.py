"""The flow package's error type and the small vocabularies every part of it shares."""

from __future__ import annotations

import re

__all__ = ["FlowError", "DTMF_KEYS", "IDENTIFIER"]


class FlowError(ValueError):
    """A flow definition is invalid. The message names the node (or ``flow``) and the field."""


DTMF_KEYS = frozenset("0123456789*#")
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
