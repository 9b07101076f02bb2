"""Running the sweep repeatedly: the worker's loop and the embedded default's thread.

Production runs `manage.py sweep_deadlines --loop` in its own worker process (docker-compose
`worker`; several may run, the sweep is safe concurrently). The embedded default (SQLite,
`make run`) has no worker: when SWEEP_IN_PROCESS is on (its default without DATABASE_URL),
the web process starts one daemon thread at start-up (`config/asgi.py`, `config/wsgi.py`),
which sweeps every SWEEP_INTERVAL seconds and dies with the process, so nothing is left
running after the server stops and an autoreload restarts it with the new code.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection

from deadlines.sweep import sweep
from workflow import audit

log = logging.getLogger("deadlines.sweep")

_thread: threading.Thread | None = None
_stop = threading.Event()
_start_lock = threading.Lock()


# Work of the apps above that follows each sweep (results keeps the reports of the cases
# received, `results.apps`): registered once from an AppConfig.ready(), as the workflow's
# event subscribers are, since this layer may not import them.
_after_sweep: list[Callable[[], object]] = []


def after_each_sweep(job: Callable[[], object]) -> None:
    if job not in _after_sweep:
        _after_sweep.append(job)


def run_after_sweep() -> None:
    """The registered jobs, each on its own: a failure is logged and the next pass retries."""
    for job in _after_sweep:
        try:
            job()
        except Exception:
            log.exception("%s failed after the sweep; the next pass will try again.", job)


def sweep_once() -> None:
    """One sweep, the work that follows it, then an audit anchor of the chains written
    since; each failure is logged and the next pass tries again."""
    close_old_connections()
    try:
        report = sweep()
    except Exception:
        log.exception("Deadline sweep failed; the next pass will try again.")
    else:
        if report.locked or report.expired or report.started or report.sent:
            log.info("Deadline sweep: %s", report)
    run_after_sweep()
    try:
        audit.anchor()
    except Exception:
        log.exception("Audit anchor failed; the next pass will try again.")
    finally:
        close_old_connections()


def run_forever(interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        sweep_once()
        stop.wait(interval)
    connection.close()


def start_in_process_if_enabled() -> threading.Thread | None:
    """Start the embedded default's sweep thread once per process, if the settings ask."""
    global _thread
    if not settings.SWEEP_IN_PROCESS:
        return None
    with _start_lock:
        if _thread is not None and _thread.is_alive():
            return None
        _stop.clear()
        _thread = threading.Thread(
            target=run_forever,
            args=(settings.SWEEP_INTERVAL, _stop),
            name="deadline-sweep",
            daemon=True,
        )
        _thread.start()
    log.info("Deadline sweep runs in this process every %s s.", settings.SWEEP_INTERVAL)
    return _thread


def stop_in_process(timeout: float = 30) -> None:
    """Ask the in-process sweep to stop after its current pass, and wait for it."""
    _stop.set()
    if _thread is not None:
        _thread.join(timeout)
