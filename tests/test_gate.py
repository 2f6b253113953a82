"""The gate in front of the device: slots, a bounded queue, the wait timeout and cancellation."""

import threading
import time

import pytest

from plitka.governor.gate import BusyError, Cancelled, GenerationGate


def hold(gate: GenerationGate) -> tuple[threading.Event, threading.Thread]:
    """A thread that holds a slot until the returned event is set."""
    release, entered = threading.Event(), threading.Event()

    def work():
        with gate.enter():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=work)
    thread.start()
    assert entered.wait(5)
    return release, thread


def test_one_at_a_time_and_the_waits_are_counted():
    gate = GenerationGate(slots=1, max_waiting=4, timeout=10)
    release, holder = hold(gate)
    waited: list[float] = []

    def wait():
        with gate.enter() as seconds:
            waited.append(seconds)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.2)
    assert gate.stats()["waiting"] == 1 and gate.stats()["in_flight"] == 1
    release.set()
    holder.join(5)
    waiter.join(5)
    assert waited[0] >= 0.15
    stats = gate.stats()
    assert (stats["in_flight"], stats["peak_in_flight"], stats["peak_waiting"], stats["entered"]) == (
        0,
        1,
        1,
        2,
    )


def test_a_full_queue_answers_busy_at_once():
    gate = GenerationGate(slots=1, max_waiting=0, timeout=10)
    release, holder = hold(gate)
    start = time.monotonic()
    with (
        pytest.raises(BusyError, match=r"^busy: 0 requests already wait .*PLITKA_MAX_CONCURRENCY"),
        gate.enter(),
    ):
        pass
    assert time.monotonic() - start < 1
    release.set()
    holder.join(5)
    assert gate.stats()["refused_full"] == 1


def test_a_wait_past_the_timeout_answers_busy():
    gate = GenerationGate(slots=1, max_waiting=2, timeout=0.2)
    release, holder = hold(gate)
    with pytest.raises(BusyError, match=r"waited 0.2 s for the device .*PLITKA_QUEUE_TIMEOUT"), gate.enter():
        pass
    release.set()
    holder.join(5)
    assert gate.stats()["timed_out"] == 1 and gate.stats()["waiting"] == 0


def test_a_cancelled_request_leaves_the_queue():
    gate = GenerationGate(slots=1, max_waiting=2, timeout=30)
    release, holder = hold(gate)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(Cancelled), gate.enter(cancel):
        pass
    assert time.monotonic() - start < 2
    release.set()
    holder.join(5)
    assert gate.stats()["waiting"] == 0 and gate.stats()["in_flight"] == 0


def test_try_enter_never_jumps_the_queue():
    gate = GenerationGate(slots=1, max_waiting=4, timeout=10)
    assert gate.try_enter()
    assert not gate.try_enter()  # the slot is taken
    entered = threading.Event()

    def wait():
        with gate.enter():
            entered.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    deadline = time.monotonic() + 5
    while gate.stats()["waiting"] != 1:
        assert time.monotonic() < deadline, "the waiter never queued"
        time.sleep(0.01)
    # Free the slot while holding the gate's lock, so the waiter cannot take it yet: the slot is free
    # and a request waits for it, the moment try_enter must not jump in.
    with gate._condition:
        gate.leave()
        assert gate.stats()["in_flight"] == 0 and gate.stats()["waiting"] == 1
        assert not gate.try_enter(), "try_enter took the slot a waiting request was woken for"
    waiter.join(5)
    assert entered.is_set() and gate.stats()["in_flight"] == 0 and gate.stats()["entered"] == 2
