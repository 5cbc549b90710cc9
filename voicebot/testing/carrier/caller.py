"""The simulated caller's clock lives in the product (agent test suites place calls with it): suites.caller.simulated.
Re-exported here so the harnesses, tests and benchmark keep one name for it."""

from suites.caller.simulated import FRAME_MS, CallResult, SimulatedCaller, Step, TurnResult

__all__ = ["FRAME_MS", "CallResult", "SimulatedCaller", "Step", "TurnResult"]
