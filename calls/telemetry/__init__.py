"""Operability: Prometheus metrics, OpenTelemetry traces and the call id in the logs.

Everything here is fed from outside the per-frame path: a call's recorder hands each stored turn and event to its
`CallTelemetry` (call.py), admission counts admissions and refusals, the DB thread its queue. The package imports
no other part of the app, so any layer may use it.
"""
