"""Where the studio sends predictions: a local Cog server (coglet) or Replicate's HTTP API.

Both take the same `input` object (the product's schema) and report into a PredictionStore. Only
the standard library is used: the studio adds no runtime dependency to the Cog image.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from plitka.studio.errors import FieldError, from_prediction_error, from_validation_detail
from plitka.studio.predictions import TERMINAL, Output, PredictionStore, decode_data_uri

log = logging.getLogger("plitka.studio")

API_TIMEOUT = 30.0  # seconds for one call to the API
BUSY_PATIENCE = 5.0  # seconds a new prediction retries while the server answers 409 (every slot busy)
REPLICATE_API = "https://api.replicate.com/v1"
REPLICATE_POLL = 0.5  # seconds between polls of a Replicate prediction (its own output rate limit)
MAX_OUTPUT_BYTES = 64 * 2**20  # one output fetched from Replicate
MAX_POLL_FAILURES = 20  # polls in a row that fail before the studio gives the prediction up


class BackendError(RuntimeError):
    """The API could not be asked: not reachable, or an answer the studio cannot read."""


class Backend(Protocol):
    description: str

    def schema(self) -> dict[str, Any]: ...
    def start(self, prediction_id: str, inputs: dict[str, Any]) -> FieldError | None: ...
    def on_webhook(self, prediction_id: str, body: dict[str, Any]) -> None: ...


def input_properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The model's inputs as the served OpenAPI schema declares them, with Cog's `allOf: [{$ref}]`
    (how it writes choices) merged into each input."""
    try:
        components = schema["components"]["schemas"]
        properties = components["Input"]["properties"]
    except (KeyError, TypeError):
        raise BackendError("the API's schema has no components.schemas.Input") from None
    resolved = {}
    for name, spec in properties.items():
        merged = dict(spec)
        for part in spec.get("allOf", []):
            reference = part.get("$ref", "") if isinstance(part, dict) else ""
            target = components.get(reference.removeprefix("#/components/schemas/"), {})
            merged.update({key: value for key, value in target.items() if key in ("enum", "type")})
        resolved[name] = merged
    return resolved


def _call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One JSON call; HTTP errors are answers (status, body), an unreachable API is BackendError."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise BackendError(
            f"the API at {urllib.parse.urlsplit(url).netloc} is not reachable ({reason})"
        ) from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")[:2000]


def _until_accepted(send: Any) -> tuple[int, Any]:
    deadline = time.monotonic() + BUSY_PATIENCE
    while True:
        status, body = send()
        if status != 409 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def _refusal(status: int, body: Any, inputs: Any) -> FieldError:
    if status == 422 and isinstance(body, dict):
        return from_validation_detail(body.get("detail"), inputs)
    if status == 409:
        return FieldError(None, "the server is busy with another prediction; try again in a moment")
    text = body.get("detail") or body.get("error") or body if isinstance(body, dict) else body
    return FieldError(None, f"the API answered HTTP {status}: {str(text)[:500]}")


class CogBackend:
    """A local Cog server. Predictions start with `Prefer: respond-async`; coglet then posts each
    change to the studio's webhook (`webhook_base` + id), which calls on_webhook."""

    def __init__(self, url: str, store: PredictionStore):
        self.url = url.rstrip("/")
        self.store = store
        self.webhook_base = ""  # set by the studio server once it knows its port and secret
        self.description = f"local Cog server {self.url}"

    def schema(self) -> dict[str, Any]:
        status, body = _call("GET", f"{self.url}/openapi.json")
        if status != 200 or not isinstance(body, dict):
            raise BackendError(f"the API's /openapi.json answered HTTP {status}")
        return body

    def start(self, prediction_id: str, inputs: dict[str, Any]) -> FieldError | None:
        body = {
            "input": inputs,
            "webhook": f"{self.webhook_base}{prediction_id}",
            "webhook_events_filter": ["start", "output", "logs", "completed"],
        }
        status, answer = _until_accepted(
            lambda: _call("PUT", f"{self.url}/predictions/{prediction_id}", body, {"Prefer": "respond-async"})
        )
        if status in (200, 201, 202):
            return None
        return _refusal(status, answer, inputs)

    def on_webhook(self, prediction_id: str, body: dict[str, Any]) -> None:
        prediction = self.store.get(prediction_id)
        if prediction is None:
            return
        outputs = decode_outputs(body.get("output"), prediction.outputs)
        record(self.store, prediction_id, body, prediction.inputs, outputs)


def decode_outputs(raw: Any, known: list[Output]) -> list[Output] | None:
    """The outputs of a webhook body; those already `known` are kept, not decoded again (every
    webhook carries all outputs so far, and a long prediction sends one per log line)."""
    if not isinstance(raw, list):
        return None
    outputs = list(known[: len(raw)])
    for index in range(len(outputs), len(raw)):
        uri = raw[index]
        try:
            outputs.append(decode_data_uri(str(uri), index))
        except ValueError as error:
            log.warning("output %d of a prediction is unreadable: %s", index, error)
            return outputs
    return outputs


def record(store: PredictionStore, prediction_id: str, body: dict, inputs: Any, outputs: list | None) -> None:
    """Write one report of the API (webhook body or polled prediction) into the store."""
    status = body.get("status") if body.get("status") in TERMINAL | {"starting", "processing"} else None
    error = from_prediction_error(body.get("error") or "", inputs) if status == "failed" else None
    logs = body.get("logs") if isinstance(body.get("logs"), str) else None
    store.update(prediction_id, status=status, outputs=outputs, error=error, logs=logs)


class ReplicateBackend:
    """Replicate's HTTP API. The token is read here and sent only to Replicate, never to the page;
    predictions are polled from this process (a webhook would need a public address)."""

    def __init__(self, model: str, token: str, store: PredictionStore, api: str = REPLICATE_API):
        owner_name, _, self.version = model.partition(":")
        if owner_name.count("/") != 1 or not all(owner_name.split("/")):
            raise BackendError(f"--replicate: expected OWNER/MODEL[:VERSION], got {model!r}")
        if not token:
            raise BackendError("REPLICATE_API_TOKEN is not set: the studio needs it to call Replicate")
        self.model, self.api, self.store = owner_name, api.rstrip("/"), store
        self._headers = {"Authorization": f"Bearer {token}"}
        self._remote_ids: dict[str, str] = {}
        self.description = f"Replicate model {model}"

    def schema(self) -> dict[str, Any]:
        path = f"/models/{self.model}" + (f"/versions/{self.version}" if self.version else "")
        status, body = _call("GET", self.api + path, headers=self._headers)
        if status != 200 or not isinstance(body, dict):
            raise BackendError(f"Replicate answered HTTP {status} for the model's schema")
        version = body if self.version else body.get("latest_version") or {}
        schema = version.get("openapi_schema")
        if not isinstance(schema, dict):
            raise BackendError("Replicate's answer has no openapi_schema for this model")
        return schema

    def start(self, prediction_id: str, inputs: dict[str, Any]) -> FieldError | None:
        if self.version:
            url, body = f"{self.api}/predictions", {"version": self.version, "input": inputs}
        else:
            url, body = f"{self.api}/models/{self.model}/predictions", {"input": inputs}
        status, answer = _call("POST", url, body, self._headers)
        if status not in (200, 201) or not isinstance(answer, dict) or "id" not in answer:
            return _refusal(status, answer, inputs)
        self._remote_ids[prediction_id] = str(answer["id"])
        threading.Thread(target=self._follow, args=(prediction_id,), daemon=True).start()
        return None

    def on_webhook(self, prediction_id: str, body: dict[str, Any]) -> None:
        return None  # predictions are polled

    def _follow(self, prediction_id: str) -> None:
        remote = urllib.parse.quote(self._remote_ids[prediction_id])
        fetched: list[Output] = []
        failures = 0
        while (prediction := self.store.get(prediction_id)) and prediction.status not in TERMINAL:
            try:
                status, body = _call("GET", f"{self.api}/predictions/{remote}", headers=self._headers)
                if status == 200 and isinstance(body, dict):
                    fetched = self._fetch_new(body.get("output"), fetched)
                    record(self.store, prediction_id, body, prediction.inputs, fetched)
                failures = 0
            except (BackendError, OSError, ValueError) as error:  # OSError: urllib's errors too
                failures += 1
                log.warning("polling Replicate (%d): %s", failures, error)
                if failures >= MAX_POLL_FAILURES:
                    self.store.update(prediction_id, status="failed", error=FieldError(None, str(error)))
            time.sleep(REPLICATE_POLL)

    def _fetch_new(self, urls: Any, fetched: list[Output]) -> list[Output]:
        """The outputs so far, fetching only those not yet here (the page gets them from the studio)."""
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list):
            return fetched
        fetched = list(fetched)
        for index in range(len(fetched), len(urls)):
            fetched.append(self._fetch(str(urls[index]), index))
        return fetched

    def _fetch(self, url: str, index: int) -> Output:
        if url.startswith("data:"):
            return decode_data_uri(url, index)
        # Files under the API's own host need the token; replicate.delivery URLs do not get it.
        same_host = urllib.parse.urlsplit(url).netloc == urllib.parse.urlsplit(self.api).netloc
        if urllib.parse.urlsplit(url).scheme != "https" and not same_host:
            raise BackendError(f"output {index} is not an https URL")
        request = urllib.request.Request(url, headers=self._headers if same_host else {})
        with urllib.request.urlopen(request, timeout=API_TIMEOUT) as response:
            data = response.read(MAX_OUTPUT_BYTES + 1)
            content_type = response.headers.get_content_type()
        if len(data) > MAX_OUTPUT_BYTES:
            raise BackendError(f"output {index} is larger than {MAX_OUTPUT_BYTES} bytes")
        name = Path(urllib.parse.urlsplit(url).path).name or f"output-{index}"
        return Output(data, content_type, name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def local_api(log_path: Path, timeout: float = 120.0) -> Iterator[str]:
    """Start `plitka serve` on a free port for the studio, wait for READY; stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "plitka.cli", "serve", "--port", str(port)],
            env=dict(os.environ),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(url, process, log_path, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendError(f"plitka serve exited with {process.returncode}; see {log_path}")
        try:
            status, body = _call("GET", f"{url}/health-check")
            if status == 200 and isinstance(body, dict) and body.get("status") == "READY":
                return
        except BackendError:
            pass
        time.sleep(0.3)
    raise BackendError(f"plitka serve was not READY after {timeout:g} s; see {log_path}")
