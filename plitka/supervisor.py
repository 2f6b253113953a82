"""`plitka serve`: runs coglet (the Cog HTTP server) and starts it again when it cannot serve.

coglet 0.23.1 does not replace a worker that died (SIGKILL, out of host memory, a crash in native
code): its slots stay poisoned and every POST gets 409 until a restart. Replicate restarts an
instance whose health check fails; a local `plitka serve` has nobody to do that, so this loop
does: it restarts coglet when its process exits, when its Python worker is gone, when
/health-check reports DEFUNCT or UNHEALTHY (every slot lost, or Predictor.healthcheck() False)
a few times in a row, or when it has been BUSY longer than PLITKA_STUCK_SECONDS. Each restart is
one log line that says why.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

import psutil

log = logging.getLogger("plitka.serve")

BROKEN_STATES = ("DEFUNCT", "UNHEALTHY")
HEALTH_TIMEOUT = 15  # seconds; coglet waits up to 10 s for Predictor.healthcheck()
WORKER_MARK = "_run_worker"  # coglet starts its worker as `python -c "...coglet.server._run_worker()"`


@dataclass(frozen=True)
class SupervisorTimes:
    check_interval: float = 0.5  # seconds between checks
    broken_checks: int = 3  # DEFUNCT/UNHEALTHY this many checks in a row before a restart
    stuck_seconds: float = 0.0  # BUSY this long is a stuck prediction (0: never)
    stop_seconds: float = 30.0  # a coglet asked to stop gets this long before SIGKILL
    backoff: tuple[float, ...] = (0.0, 1.0, 5.0, 30.0)  # wait before the n-th quick restart in a row
    stable_seconds: float = 60.0  # up this long, the next restart counts as the first again


class CogletHealth:
    """What one look at a running coglet says: None while it can serve, else why it cannot."""

    def __init__(self, url: str, process: subprocess.Popen, times: SupervisorTimes):
        self.url = url
        self.process = process
        self.times = times
        self.worker_pid: int | None = None
        self.broken_in_a_row = 0
        self.busy_since: float | None = None
        self.served = False  # got past start-up once (a worker, an answer but STARTING): restarts can help

    def problem(self) -> str | None:
        if (code := self.process.poll()) is not None:
            return f"coglet exited with status {code}"
        if reason := self._worker_problem():
            return reason
        return self._health_problem()

    def _worker_problem(self) -> str | None:
        worker = find_worker(self.process.pid)
        if worker is not None:
            self.worker_pid = worker
            self.served = True  # coglet spawns its worker after it has bound its port
            return None
        if self.worker_pid is not None:
            return f"the Python worker (pid {self.worker_pid}) died"
        return None  # not started yet

    def _health_problem(self) -> str | None:
        answer = self._health()
        if answer is None:
            return None  # starting up, or too busy to answer: the process checks above still hold
        status = str(answer.get("status", ""))
        self.served = self.served or status not in ("", "STARTING")
        self.broken_in_a_row = self.broken_in_a_row + 1 if status in BROKEN_STATES else 0
        if self.broken_in_a_row >= self.times.broken_checks:
            detail = answer.get("user_healthcheck_error") or ""
            return f"health check says {status}" + (f" ({str(detail)[:200]})" if detail else "")
        now = time.monotonic()
        self.busy_since = (self.busy_since or now) if status == "BUSY" else None
        if self.times.stuck_seconds and self.busy_since and now - self.busy_since > self.times.stuck_seconds:
            return (
                f"BUSY for {now - self.busy_since:.0f} s (PLITKA_STUCK_SECONDS={self.times.stuck_seconds:g})"
            )
        return None

    def _health(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"{self.url}/health-check", timeout=HEALTH_TIMEOUT) as reply:
                body = reply.read()
        except urllib.error.HTTPError as error:  # an error status still carries the health answer
            body = error.read()
        except OSError:
            return None
        try:
            answer = json.loads(body)
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None


class Supervisor:
    """Start `command`, watch it, restart it when it cannot serve; stop it on SIGTERM or SIGINT."""

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        url: str,
        times: SupervisorTimes = SupervisorTimes(),
        start: Callable[..., subprocess.Popen] = subprocess.Popen,
    ):
        self.command = list(command)
        self.env = env
        self.url = url
        self.times = times
        self._start = start
        self._stopping = threading.Event()
        self.restarts = 0

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (then coglet's exit status) or a coglet that never got ready."""
        signals = (signal.SIGTERM, signal.SIGINT)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in signals}
        try:
            return self._serve()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _serve(self) -> int:
        quick_restarts = 0
        while True:
            started = time.monotonic()
            process = self._start(self.command, env=self.env)
            self._process = process
            health = CogletHealth(self.url, process, self.times)
            reason = self._watch(health)
            if self._stopping.is_set():
                return self._stop(process)
            code = self._stop(process)
            if not health.served:  # a port in use, a broken install: a restart would fail the same way
                log.error("coglet stopped before it was ever ready (%s); not restarting", reason)
                return code or 1
            quick_restarts = (
                0 if time.monotonic() - started > self.times.stable_seconds else quick_restarts + 1
            )
            delay = (
                self.times.backoff[min(quick_restarts, len(self.times.backoff)) - 1]
                if quick_restarts
                else 0.0
            )
            self.restarts += 1
            log.warning("restarting coglet (restart %d, in %.0f s): %s", self.restarts, delay, reason)
            if self._stopping.wait(delay):
                return 0

    def _watch(self, health: CogletHealth) -> str:
        while not self._stopping.wait(self.times.check_interval):
            if reason := health.problem():
                return reason
        return "stopping"

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping.set()
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # coglet finishes a running prediction, then exits

    def _stop(self, process: subprocess.Popen) -> int:
        """Stop coglet (it finishes a running prediction first), then any worker it left behind."""
        leftovers = _descendants(process.pid)
        if process.poll() is None and not self._stopping.is_set():  # on a signal, _on_signal sent it
            process.terminate()
        try:
            code = process.wait(timeout=self.times.stop_seconds)
        except subprocess.TimeoutExpired:
            log.warning("coglet did not stop within %.0f s; killing it", self.times.stop_seconds)
            process.kill()
            code = process.wait()
        _, alive = psutil.wait_procs(leftovers, timeout=5)
        for child in alive:  # a worker stuck in native code does not notice coglet has gone
            child.kill()
        return code


def find_worker(pid: int) -> int | None:
    """The pid of the live Python worker under coglet process `pid`, or None."""
    for child in _descendants(pid):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and WORKER_MARK in " ".join(child.cmdline()):
                return child.pid
        except psutil.NoSuchProcess:
            continue
    return None


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
