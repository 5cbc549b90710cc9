"""The carrier's side of a call, simulated: `peers` (one wire format per carrier) and `caller` (the clock)."""
