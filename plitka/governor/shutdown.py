"""Teardown that runs once, whichever way the process ends: interpreter exit or SIGTERM.

Cog's worker process exits normally when the server shuts it down (atexit runs); a SIGTERM sent to
the worker itself would otherwise end it without unloading models or stopping the guard's thread.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("plitka.governor")


def teardown_on_exit(teardown: Callable[[], None]) -> Callable[[], None]:
    """Register `teardown` for exit and SIGTERM; returns the run-once wrapper (call it to tear down now)."""
    lock = threading.Lock()
    done = False

    def once() -> None:
        nonlocal done
        with lock:
            if done:
                return
            done = True
        teardown()

    atexit.register(once)
    if threading.current_thread() is threading.main_thread():  # signal handlers live on the main thread
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            log.info("SIGTERM: tearing down")
            once()
            if callable(previous):
                previous(signum, frame)
            else:
                raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, on_sigterm)
    return once
