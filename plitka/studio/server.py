"""The studio's HTTP server: the page, its swatches, and a small JSON API in front of a Backend.

Standard library only (http.server): a page and a proxy need nothing more, and the Cog image gains
no dependency. Binds 127.0.0.1 unless told otherwise: it is a tool for one person's machine.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from plitka.request import RequestError
from plitka.studio import order
from plitka.studio.backends import Backend, BackendError, CogBackend, input_properties
from plitka.studio.errors import FieldError
from plitka.studio.matching import match_colour
from plitka.studio.predictions import Prediction, PredictionStore
from plitka.studio.swatches import SwatchCache, palette_rows

log = logging.getLogger("plitka.studio")

STATIC = Path(__file__).with_name("static")
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
MAX_BODY = 24 * 2**20  # a request from the page: the inputs, with a photo as a data URL at most
MAX_WEBHOOK = 256 * 2**20  # coglet posts the whole prediction so far, outputs as data URIs
LONG_POLL = 20.0  # seconds a GET of a prediction waits for news
SCHEMA_TTL = 10.0  # seconds a page load reuses the API's schema before asking again
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
_ID = re.compile(r"[0-9a-f]{32}")
_OUTPUT = re.compile(r"/api/predictions/(?P<id>[0-9a-f]{32})/outputs/(?P<index>\d{1,2})")


class RequestRefused(Exception):
    def __init__(self, status: HTTPStatus, field: str | None, message: str):
        super().__init__(message)
        self.status, self.error = status, FieldError(field, message)


class Studio:
    """What the handler serves: static files, palette, schema, predictions."""

    def __init__(self, backend: Backend, store: PredictionStore):
        self.backend, self.store = backend, store
        self.files = {path.name: path for path in STATIC.iterdir() if path.suffix in STATIC_TYPES}
        self.swatches = SwatchCache()
        self.webhook_secret = secrets.token_hex(16)
        self._schema: tuple[float, dict[str, Any]] | None = None
        self._schema_lock = threading.Lock()

    def inputs(self, fresh: bool = False) -> dict[str, Any]:
        """The served schema's inputs; asked again when `fresh` and older than SCHEMA_TTL (a page
        load), else reused, so that starting a prediction costs no extra call to the API."""
        with self._schema_lock:
            stale = self._schema is None or (fresh and time.monotonic() - self._schema[0] > SCHEMA_TTL)
            if stale:
                self._schema = (time.monotonic(), input_properties(self.backend.schema()))
            assert self._schema is not None
            return self._schema[1]

    def config(self) -> dict[str, Any]:
        inputs = self.inputs(fresh=True)
        return {
            "api": self.backend.description,
            "palette": palette_rows(),
            "inputs": {name: _describe_input(spec) for name, spec in inputs.items()},
            "image_input": "image" in inputs,  # re-colouring a photo (the colour-lock issue's input)
        }

    def start(self, body: Any) -> Prediction:
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            raise RequestRefused(HTTPStatus.BAD_REQUEST, None, 'expected {"input": {...}}')
        inputs = body["input"]
        known = self.inputs()
        unknown = sorted(set(inputs) - set(known))
        if unknown:
            raise RequestRefused(
                HTTPStatus.BAD_REQUEST, unknown[0], f"{unknown[0]}: not an input of this model"
            )
        prediction = Prediction(uuid.uuid4().hex, inputs)
        self.store.add(prediction)
        refused = self.backend.start(prediction.id, inputs)
        if refused:
            self.store.update(prediction.id, status="failed", error=refused)
        return prediction


def _describe_input(spec: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of one input: type, default, choices (enum), bounds."""
    keys = ("type", "default", "minimum", "maximum", "format", "enum")
    return {key: spec[key] for key in keys if key in spec}


class Handler(BaseHTTPRequestHandler):
    studio: Studio
    server_version = "plitka-studio"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- routes --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        if path in ("/", "/index.html"):
            return self._static("index.html")
        if path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        if path == "/api/config":
            return self._json(self.studio.config())
        if path == "/api/match":  # reverse match: a colour -> the nearest mixes (docs/match.md)
            try:
                return self._json(match_colour(query))
            except RequestError as error:
                raise RequestRefused(HTTPStatus.BAD_REQUEST, error.field, str(error)) from None
        if match := re.fullmatch(r"/api/swatches/(?P<code>[A-Z0-9_]{1,24})\.png", path):
            data = self.studio.swatches.png(match["code"])
            if data is None:
                raise RequestRefused(HTTPStatus.NOT_FOUND, None, "no such colour")
            return self._bytes(data, "image/png", cache=True)
        if match := _OUTPUT.fullmatch(path):
            return self._output(match["id"], int(match["index"]))
        if path == "/api/share":
            return self._json(order.share(query))
        if match := re.fullmatch(r"/api/predictions/(?P<id>[0-9a-f]{32})/sheet\.pdf", path):
            prediction = self.studio.store.get(match["id"])
            if prediction is None:
                raise RequestRefused(HTTPStatus.NOT_FOUND, None, "no such prediction")
            pdf, name = order.sheet(prediction, query)
            return self._bytes(
                pdf, "application/pdf", extra={"Content-Disposition": f'attachment; filename="{name}"'}
            )
        if match := re.fullmatch(r"/api/predictions/(?P<id>[0-9a-f]{32})", path):
            after = _int(query.get("after", ["-1"])[0], "after")
            prediction = self.studio.store.wait(match["id"], after, LONG_POLL)
            if prediction is None:
                raise RequestRefused(
                    HTTPStatus.NOT_FOUND, None, "no such prediction (the studio keeps the last 32)"
                )
            return self._json(prediction.to_dict())
        raise RequestRefused(HTTPStatus.NOT_FOUND, None, "not found")

    def _post(self, path: str, query: dict[str, list[str]]) -> None:
        if path == "/api/predictions":
            prediction = self.studio.start(self._read_json(MAX_BODY))
            return self._json(prediction.to_dict(), HTTPStatus.CREATED)
        if match := re.fullmatch(r"/hooks/(?P<secret>[0-9a-f]{32})/(?P<id>[0-9a-f]{32})", path):
            if not secrets.compare_digest(match["secret"], self.studio.webhook_secret):
                raise RequestRefused(HTTPStatus.NOT_FOUND, None, "not found")
            body = self._read_json(MAX_WEBHOOK)
            if isinstance(body, dict):
                self.studio.backend.on_webhook(match["id"], body)
            return self._json({})
        raise RequestRefused(HTTPStatus.NOT_FOUND, None, "not found")

    # --- answers -------------------------------------------------------------------------------

    def _guarded(self, route: Any) -> None:
        url = urlsplit(self.path)
        try:
            try:
                query = parse_qs(url.query, max_num_fields=8)
            except ValueError:
                raise RequestRefused(HTTPStatus.BAD_REQUEST, None, "too many query fields") from None
            route(url.path, query)
        except RequestRefused as refused:
            self._json({"error": refused.error.to_dict()}, refused.status)
        except RequestError as error:  # the order routes: one input of the query, named
            self._json({"error": FieldError(error.field, str(error)).to_dict()}, HTTPStatus.BAD_REQUEST)
        except BackendError as error:
            self._json({"error": FieldError(None, str(error)).to_dict()}, HTTPStatus.BAD_GATEWAY)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # the page gets a short line; the log has the rest
            log.exception("studio: %s %s", self.command, url.path)
            self._json({"error": FieldError(None, "the studio failed; see its log").to_dict()}, 500)

    def _read_json(self, limit: int) -> Any:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise RequestRefused(HTTPStatus.LENGTH_REQUIRED, None, "Content-Length is required")
        if int(length) > limit:
            raise RequestRefused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, None, f"the request is over {limit} bytes"
            )
        try:
            return json.loads(self.rfile.read(int(length)))
        except (ValueError, RecursionError):
            raise RequestRefused(HTTPStatus.BAD_REQUEST, None, "the request is not JSON") from None

    def _static(self, name: str) -> None:
        path = self.studio.files.get(name)
        if path is None:
            raise RequestRefused(HTTPStatus.NOT_FOUND, None, "not found")
        self._bytes(path.read_bytes(), STATIC_TYPES[path.suffix])

    def _output(self, prediction_id: str, index: int) -> None:
        prediction = self.studio.store.get(prediction_id)
        if prediction is None or index >= len(prediction.outputs):
            raise RequestRefused(HTTPStatus.NOT_FOUND, None, "no such output")
        output = prediction.outputs[index]
        self._bytes(
            output.data,
            output.content_type,
            cache=True,
            extra={"Content-Disposition": f'inline; filename="{output.name}"'},
        )

    def _json(self, body: Any, status: int = HTTPStatus.OK) -> None:
        self._bytes(
            json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8", status=status
        )

    def _bytes(
        self,
        data: bytes,
        content_type: str,
        status: int = HTTPStatus.OK,
        cache: bool = False,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "private, max-age=3600" if cache else "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _int(text: str, field: str) -> int:
    if not re.fullmatch(r"-?\d{1,9}", text):
        raise RequestRefused(HTTPStatus.BAD_REQUEST, field, f"{field}: expected an integer")
    return int(text)


class StudioServer:
    """The studio on host:port (port 0: a free one), serving in a thread until close()."""

    def __init__(self, backend: Backend, store: PredictionStore, host: str = "127.0.0.1", port: int = 0):
        self.studio = Studio(backend, store)
        handler = type("StudioHandler", (Handler,), {"studio": self.studio})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        if isinstance(backend, CogBackend):
            backend.webhook_base = (
                f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/{self.studio.webhook_secret}/"
            )
        self._stop_warming = threading.Event()
        self._warming = threading.Thread(
            target=self.studio.swatches.warm, args=(self._stop_warming,), daemon=True
        )

    def start(self) -> StudioServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self._warming.start()
        return self

    def close(self) -> None:
        # Rendering threads still running at interpreter exit can abort it (native code): end them.
        self._stop_warming.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._warming.is_alive():
            self._warming.join(timeout=30)

    def __enter__(self) -> StudioServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_studio(
    backend: Backend, store: PredictionStore, host: str, port: int, should_stop: Any = None
) -> None:
    """Serve until interrupted (or until should_stop() says so, checked each second)."""
    with StudioServer(backend, store, host, port) as server:
        print(f"Plitka Pro studio: {server.url}/  (API: {backend.description})", flush=True)
        try:
            while not (should_stop and should_stop()):
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
