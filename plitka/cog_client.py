"""A client of the real Cog HTTP server (coglet, via `plitka serve`), as Replicate talks to it.

For the tests and bench/; needs `requests` (a dev dependency).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent  # the checkout: plitka serve runs predict.py from it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen  # `plitka serve`, which supervises coglet
    log_path: Path


@contextmanager
def serving(
    work_dir: Path, log_path: Path | None = None, train: bool = False, **env_changes: str
) -> Iterator[Server]:
    """A running `plitka serve`; stopped on exit. Its log is `log_path`, by default work_dir/server.log.
    `train`: coglet's train mode (train.py:train at /trainings) instead of predictions."""
    port = free_port()
    env = dict(os.environ, PLITKA_WORK_DIR=str(work_dir), **env_changes)
    log_path = log_path or work_dir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            # `plitka serve` runs `python -m cog.server.http` (coglet) for predict.py:Predictor
            # (train.py:train with --train).
            [
                sys.executable,
                "-m",
                "plitka.cli",
                "serve",
                "--port",
                str(port),
                *(["--train"] if train else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, log_path)
        yield Server(url, process, log_path)
    finally:
        process.terminate()
        process.wait(timeout=40)


@contextmanager
def running_server(work_dir: Path, train: bool = False, **env_changes: str) -> Iterator[str]:
    """The server's base URL; stopped on exit. Its log is work_dir/server.log."""
    with serving(work_dir, train=train, **env_changes) as server:
        yield server.url


def wait_until_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(f"{url}/health-check", timeout=2).json().get("status") == "READY":
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not READY after {timeout}s:\n{log_path.read_text()}")


def send_until_accepted(
    send: Callable[[], requests.Response], patience: float
) -> tuple[requests.Response, int, float]:
    """Send a prediction request, again while Cog answers 409 (every slot busy; coglet also frees a
    slot a moment after answering), for up to `patience` seconds. Returns the last answer, how many
    409s came before it, and the perf_counter() at which it was sent."""
    deadline = time.monotonic() + patience
    busy = 0
    while True:
        sent = time.perf_counter()
        response = send()
        if response.status_code != 409 or time.monotonic() > deadline:
            return response, busy, sent
        busy += 1
        time.sleep(0.05)


def predict(url: str, patience: float = 2.5, **inputs: object) -> dict:
    """POST one prediction and wait for it; 409s are retried for `patience` seconds and counted in
    the dict's "busy_answers"."""
    response, busy, _ = send_until_accepted(
        lambda: requests.post(f"{url}/predictions", json={"input": inputs}, timeout=300), patience
    )
    if response.status_code == 409:
        raise RuntimeError(f"server stayed at capacity for {patience} s: {response.text}")
    return {"http_status": response.status_code, "busy_answers": busy, **response.json()}


def decode(data_uri: str) -> bytes:
    header, payload = data_uri.split(",", 1)
    assert header.endswith(";base64"), header
    return base64.b64decode(payload)


TERMINAL = {"succeeded", "failed", "canceled"}


@dataclass
class StreamedPrediction:
    """What the webhooks of one prediction said, with seconds since the request was sent."""

    output_seconds: list[float] = field(default_factory=list)  # when the i-th output first arrived
    end_seconds: float = 0.0
    final: dict = field(default_factory=dict)  # the terminal webhook's body

    @property
    def first_output_seconds(self) -> float:
        return self.output_seconds[0]


class WebhookReceiver:
    """A local HTTP endpoint for Cog's webhooks, as Replicate receives them; one per client."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[float, dict]] = queue.Queue()
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                events.put((time.perf_counter(), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def predict(
        self, url: str, timeout: float = 300, patience: float = 2.5, **inputs: object
    ) -> StreamedPrediction:
        """Start one prediction with `Prefer: respond-async` and follow its output webhooks to the end.

        Times count from the request Cog accepted (409s are retried for `patience` seconds). Webhooks
        can arrive out of order: each output's time is the first body that held it."""
        prediction_id = uuid.uuid4().hex
        body = {"input": inputs, "webhook": self.url, "webhook_events_filter": ["output", "completed"]}
        response, _, start = send_until_accepted(
            lambda: requests.put(
                f"{url}/predictions/{prediction_id}",
                json=body,
                headers={"Prefer": "respond-async"},
                timeout=30,
            ),
            patience,
        )
        response.raise_for_status()
        streamed = StreamedPrediction()
        deadline = time.monotonic() + timeout
        while not streamed.final:
            arrived, event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            if event.get("id") != prediction_id:
                continue
            seconds = arrived - start
            for _ in range(len(streamed.output_seconds), len(event.get("output") or [])):
                streamed.output_seconds.append(seconds)
            if event.get("status") in TERMINAL:
                streamed.end_seconds, streamed.final = seconds, event
        return streamed
