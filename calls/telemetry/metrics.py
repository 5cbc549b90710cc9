"""The Prometheus metrics of a web process (served at /metrics, voicebot/ops.py).

Several server processes (uvicorn --workers N): set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the
workers (the Procfile does) and prometheus_client's multiprocess mode sums them at each scrape: counters and
histograms add up, gauges are summed over the processes alive (`livesum`). Without it each process reports only
itself (scrape each one, or run one worker per container).
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

#: Turn latency buckets (s): the interesting range is 0.1-2 s; beyond 5 s a turn has gone wrong anyway.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
WEBHOOK_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

LIVE_CALLS = Gauge("voicebot_live_calls", "Call sessions live in the process(es).", multiprocess_mode="livesum")
ADMITTED = Counter("voicebot_calls_admitted", "Calls admitted, by where (webhook: answered; media: stream started).",
                   ["where"])
REFUSED = Counter("voicebot_calls_refused", "Calls refused with the overflow answer, by where and why.",
                  ["where", "reason"])
TURN_LATENCY = Histogram("voicebot_turn_latency_seconds",
                         "Per agent turn: time from the caller's last voiced frame to each stage (end_to_end: the "
                         "first reply audio sent), and the stage's own duration (stt, brain, tts), by provider.",
                         ["stage", "provider"], buckets=LATENCY_BUCKETS)
BARGE_INS = Counter("voicebot_barge_ins",
                    "Caller speech over the agent: true (it interrupted) or false (no turn: a backchannel or noise "
                    "the agent paused for, then went on).", ["outcome"])
PROVIDER_ERRORS = Counter("voicebot_provider_errors", "Provider failures during calls, by stage and provider.",
                          ["stage", "provider"])
FALLBACKS = Counter("voicebot_provider_fallbacks", "Provider failures a fallback chain took over, by stage and the "
                    "provider that failed.", ["stage", "provider"])
CALLS_ENDED = Counter("voicebot_calls_ended", "Calls ended, by end reason.", ["reason"])
WEBHOOK_LATENCY = Histogram("voicebot_webhook_seconds", "Carrier webhook handling time, by carrier.", ["carrier"],
                            buckets=WEBHOOK_BUCKETS)
DB_QUEUE = Gauge("voicebot_db_queue_depth", "ORM jobs waiting for the DB thread.", multiprocess_mode="livesum")


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def render() -> tuple[bytes, str]:
    """The exposition text of this process, or of all the workers in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def process_exited() -> None:
    """A clean exit in multiprocess mode: this process's live gauges stop counting."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())
