"""The gate in front of the device: a few generations at a time, the rest wait in a bounded queue.

Hand-written over threading.Condition because a plain Semaphore cannot say how many wait, bound the
queue, or give up on a cancelled request while it waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CANCEL_POLL_SECONDS = 0.1  # how quickly a waiting request notices that it was cancelled


class BusyError(RuntimeError):
    """The queue in front of the device is full, or the wait ran past its timeout."""


class Cancelled(Exception):
    """The prediction was cancelled while it waited or generated."""


class GenerationGate:
    def __init__(self, slots: int = 1, max_waiting: int = 4, timeout: float = 300.0):
        self.slots = slots
        self.max_waiting = max_waiting
        self.timeout = timeout
        self._condition = threading.Condition()
        self.in_flight = 0
        self.waiting = 0
        self.peak_waiting = 0
        self.peak_in_flight = 0
        self.entered = 0
        self.refused_full = 0
        self.timed_out = 0
        self.wait_seconds = 0.0

    @contextmanager
    def enter(self, cancel: threading.Event | None = None) -> Iterator[float]:
        """Hold a slot for the block; yields the seconds waited for it."""
        waited = self._wait_for_slot(cancel)
        try:
            yield waited
        finally:
            self.leave()

    def try_enter(self) -> bool:
        """A slot without waiting, when nobody waits and one is free (the guard's idle work)."""
        with self._condition:
            if self.in_flight >= self.slots or self.waiting:
                return False
            self._take_slot()
            return True

    def leave(self) -> None:
        with self._condition:
            self.in_flight -= 1
            self._condition.notify()

    def _wait_for_slot(self, cancel: threading.Event | None) -> float:
        start = time.monotonic()
        deadline = start + self.timeout
        with self._condition:
            if self.in_flight >= self.slots and self.waiting >= self.max_waiting:
                self.refused_full += 1
                raise BusyError(
                    f"busy: {self.waiting} requests already wait for the device (queue limit "
                    f"{self.max_waiting}, PLITKA_MAX_CONCURRENCY); try again shortly"
                )
            self.waiting += 1
            self.peak_waiting = max(self.peak_waiting, self.waiting)
            try:
                while self.in_flight >= self.slots:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("cancelled while waiting for the device")
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.timed_out += 1
                        raise BusyError(
                            f"busy: waited {self.timeout:g} s for the device with {self.waiting - 1} other "
                            "request(s) queued (PLITKA_QUEUE_TIMEOUT); try again shortly"
                        )
                    self._condition.wait(min(left, CANCEL_POLL_SECONDS) if cancel else left)
            finally:
                self.waiting -= 1
            self._take_slot()
            waited = time.monotonic() - start
            self.wait_seconds += waited
        return waited

    def _take_slot(self) -> None:
        self.in_flight += 1
        self.entered += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def stats(self) -> dict[str, Any]:
        with self._condition:
            return {
                "slots": self.slots,
                "max_waiting": self.max_waiting,
                "timeout_seconds": self.timeout,
                "in_flight": self.in_flight,
                "waiting": self.waiting,
                "peak_in_flight": self.peak_in_flight,
                "peak_waiting": self.peak_waiting,
                "entered": self.entered,
                "refused_full": self.refused_full,
                "timed_out": self.timed_out,
                "wait_seconds_total": round(self.wait_seconds, 4),
            }
