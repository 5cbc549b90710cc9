"""Running a suite off the request: a dashboard click returns at once while the calls go on.

A thread of the web process, not a Celery task: the suite's caller must reach this very server on loopback in real
time (its media socket sends a frame every 20 ms), and a worker may run on another host or be busy with post-call
work; the calls themselves still go through the server's ordinary webhook and media socket."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connections
from django.utils import timezone

from .models import ScenarioResult, SuiteRun
from .runner import run_blocking

log = logging.getLogger(__name__)

_threads: set[threading.Thread] = set()  # kept, so a run is never collected mid-way


def run_in_background(run_id: int, base_url: str | None = None) -> threading.Thread:
    def work() -> None:
        close_old_connections()
        try:
            run_blocking(run_id, base_url)
        except Exception:
            log.exception("suite run %s failed", run_id)
            # Never leave a run "running" forever: what did not finish is an error, the run failed.
            SuiteRun.objects.filter(pk=run_id).update(status=SuiteRun.Status.FAILED, finished_at=timezone.now())
            ScenarioResult.objects.filter(run_id=run_id, status__in=("pending", "running")).update(
                status=ScenarioResult.Status.ERROR, failures=["the run stopped: see the server log"])
        finally:
            connections.close_all()
            _threads.discard(threading.current_thread())

    thread = threading.Thread(target=work, name=f"suite-run-{run_id}", daemon=True)
    _threads.add(thread)
    thread.start()
    return thread
