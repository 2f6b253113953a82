"""The decisions of `plitka serve`'s supervisor against a stand-in health endpoint (the real coglet
cases, a killed or hung worker and a failing healthcheck, are in test_server_hostile.py)."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plitka.supervisor import CogletHealth, Supervisor, SupervisorTimes


@pytest.fixture
def health():
    """(url, answers): the endpoint answers /health-check with answers[0] (change it to move on),
    with the HTTP status in its "_code" (default 200)."""
    answers = [{"status": "READY"}]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            answer = dict(answers[0])
            code = answer.pop("_code", 200)
            body = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answers
    server.shutdown()


@pytest.fixture
def process():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait()


def test_ready_is_no_problem(health, process):
    url, _ = health
    assert CogletHealth(url, process, SupervisorTimes()).problem() is None


@pytest.mark.parametrize("status", ["DEFUNCT", "UNHEALTHY"])
def test_broken_status_a_few_times_in_a_row_is_a_problem(health, process, status):
    url, answers = health
    answers[0] = {"status": status, "user_healthcheck_error": "work dir is not writable"}
    watcher = CogletHealth(url, process, SupervisorTimes(broken_checks=3))
    assert [watcher.problem() for _ in range(2)] == [None, None]
    assert watcher.problem() == f"health check says {status} (work dir is not writable)"


def test_a_broken_status_under_an_error_code_counts_too(health, process):
    url, answers = health
    answers[0] = {"status": "UNHEALTHY", "_code": 503}
    watcher = CogletHealth(url, process, SupervisorTimes(broken_checks=1))
    assert watcher.problem() == "health check says UNHEALTHY"


def test_a_ready_answer_in_between_starts_the_count_again(health, process):
    url, answers = health
    watcher = CogletHealth(url, process, SupervisorTimes(broken_checks=2))
    answers[0] = {"status": "UNHEALTHY"}
    assert watcher.problem() is None
    answers[0] = {"status": "READY"}
    assert watcher.problem() is None
    answers[0] = {"status": "UNHEALTHY"}
    assert watcher.problem() is None
    assert watcher.problem() == "health check says UNHEALTHY"


def test_busy_longer_than_the_stuck_limit_is_a_problem(health, process, monkeypatch):
    url, answers = health
    clock = [100.0]
    monkeypatch.setattr("plitka.supervisor.time.monotonic", lambda: clock[0])
    watcher = CogletHealth(url, process, SupervisorTimes(stuck_seconds=60))
    answers[0] = {"status": "BUSY"}
    assert watcher.problem() is None
    clock[0] += 59
    assert watcher.problem() is None
    clock[0] += 2
    assert watcher.problem() == "BUSY for 61 s (PLITKA_STUCK_SECONDS=60)"
    answers[0] = {"status": "READY"}
    assert watcher.problem() is None  # a finished prediction resets the clock
    answers[0] = {"status": "BUSY"}
    assert watcher.problem() is None


def test_busy_is_never_a_problem_without_a_stuck_limit(health, process, monkeypatch):
    url, answers = health
    clock = [0.0]
    monkeypatch.setattr("plitka.supervisor.time.monotonic", lambda: clock[0])
    watcher = CogletHealth(url, process, SupervisorTimes(stuck_seconds=0))
    answers[0] = {"status": "BUSY"}
    for _ in range(3):
        clock[0] += 10_000
        assert watcher.problem() is None


def test_an_exited_coglet_is_a_problem(health):
    url, _ = health
    done = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    done.wait()
    assert CogletHealth(url, done, SupervisorTimes()).problem() == "coglet exited with status 3"


def test_a_coglet_that_never_becomes_ready_is_not_restarted(health, caplog):
    url, answers = health
    answers[0] = {"status": "STARTING"}
    command = [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(4)"]
    supervisor = Supervisor(command, {}, url, SupervisorTimes(check_interval=0.1))
    assert supervisor.run() == 4
    assert supervisor.restarts == 0
    assert "before it was ever ready (coglet exited with status 4); not restarting" in caplog.text


def test_a_coglet_that_served_and_then_exited_is_restarted(health, tmp_path):
    url, _ = health  # READY
    runs = tmp_path / "runs"
    script = (  # counts its runs in a file; the first one exits with 9 after 0.5 s
        "import pathlib, sys, time; p = pathlib.Path(sys.argv[1]);"
        " n = len(p.read_text()) if p.exists() else 0;"
        " p.write_text('x' * (n + 1)); time.sleep(0.5); raise SystemExit(0 if n else 9)"
    )
    command = [sys.executable, "-c", script, str(runs)]
    supervisor = Supervisor(command, {}, url, SupervisorTimes(check_interval=0.1, backoff=(0.0,)))
    stopper = threading.Timer(2.5, supervisor._stopping.set)
    stopper.start()
    supervisor.run()
    assert supervisor.restarts >= 1
    assert len(runs.read_text()) >= 2
