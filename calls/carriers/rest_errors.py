"""Errors of the carriers' REST APIs (dialling out, reconnecting a stream), as one small hierarchy."""

from __future__ import annotations


class CarrierRestError(Exception):
    """A carrier REST request failed. `permanent`: retrying the same request will not help (bad number, auth)."""

    def __init__(self, message: str, *, carrier: str = "", permanent: bool = False) -> None:
        super().__init__(message)
        self.carrier = carrier
        self.permanent = permanent


class NotConfigured(CarrierRestError):
    """The carrier's REST credentials (or another setting the request needs) are not set."""

    def __init__(self, message: str, *, carrier: str = "") -> None:
        super().__init__(message, carrier=carrier, permanent=True)
