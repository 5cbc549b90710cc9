"""The carrier peers live in the product (agent test suites place calls with them): suites.caller.peers.
Re-exported here so the harnesses, tests and benchmark keep one name for them."""

from suites.caller.peers import PEERS, CarrierPeer, SimulationError, StreamTarget, TelnyxPeer, TwilioPeer

__all__ = ["PEERS", "CarrierPeer", "SimulationError", "StreamTarget", "TelnyxPeer", "TwilioPeer"]
