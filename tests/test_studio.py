"""The studio's server (plitka/studio) against the real Cog server and a Replicate-shaped API.

The page itself, in a real browser, is tests/test_studio_browser.py.
"""

import io
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import requests
from PIL import Image

from plitka.cog_client import ROOT, decode, free_port
from plitka.palette import PALETTE
from plitka.render.swatch import crumb_crop
from plitka.studio import StudioServer
from plitka.studio.backends import CogBackend, ReplicateBackend, input_properties
from plitka.studio.errors import from_prediction_error, from_validation_detail
from plitka.studio.predictions import PredictionStore
from plitka.studio.swatches import SWATCH_SIZE

INPUTS = ("colors", "params_json", "angle", "quality", "seed", "output_format", "engine")
SCHEMA = json.loads((ROOT / ".cog" / "openapi_schema.json").read_text())


# --- errors beside their fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    "error, field, words",
    [
        (
            "Prediction failed: Generator iteration error: RequestError: colors: unknown colour 'redd'; "
            "did you mean RED (red)?",
            "colors",
            "colors: unknown colour 'redd'",
        ),
        pytest.param(
            "Prediction failed: Generator iteration error: seed: must be an integer",
            "seed",
            "seed: must be an integer",
            id="after-coglets-words",
        ),
        ("params_json.overrides.resolution: must be a multiple of 8", "params_json", "params_json.overrides"),
        ("engine: sdxl is unavailable here (...)", "engine", "engine: sdxl"),
        ("CUDA exploded: something: bad", None, "CUDA exploded"),
    ],
)
def test_prediction_error_names_its_field(error, field, words):
    found = from_prediction_error(error, INPUTS)
    assert found.field == field
    assert found.message.startswith(words)


def test_validation_error_names_its_field():
    detail = [
        {"loc": ["body", "input", "seed"], "msg": "ensure this value is less than or equal to 2147483647"}
    ]
    found = from_validation_detail(detail, INPUTS)
    assert (found.field, found.message) == (
        "seed",
        "seed: ensure this value is less than or equal to 2147483647",
    )


def test_schema_choices_are_read_from_cogs_references():
    inputs = input_properties(SCHEMA)
    assert inputs["angle"]["enum"] == [0, 30, 45, 60, 90, 120, 135, 150]
    assert inputs["quality"]["enum"] == ["preview", "standard", "high"]
    assert inputs["seed"]["maximum"] == 2**31 - 1


# --- through the real Cog server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def studio(procedural_server):
    store = PredictionStore()
    with StudioServer(CogBackend(procedural_server, store), store) as server:
        yield server.url


def follow(studio: str, prediction: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while prediction["status"] not in ("succeeded", "failed", "canceled"):
        assert time.monotonic() < deadline, prediction
        url = f"{studio}/api/predictions/{prediction['id']}?after={prediction['version']}"
        prediction = requests.get(url, timeout=60).json()
    return prediction


pytestmark = pytest.mark.server


def test_config_lists_the_palette_and_the_served_inputs(studio):
    config = requests.get(f"{studio}/api/config", timeout=30).json()
    assert [row["code"] for row in config["palette"]] == list(PALETTE.codes)
    assert len(config["palette"]) == 29
    assert config["inputs"]["angle"]["enum"] == [0, 30, 45, 60, 90, 120, 135, 150]
    assert config["image_input"] is ("image" in input_properties(SCHEMA))


def test_swatch_is_a_crop_of_the_products_own_render(studio):
    response = requests.get(f"{studio}/api/swatches/DKGREEN.png", timeout=60)
    assert response.headers["Content-Type"] == "image/png"
    served = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert np.array_equal(served, np.asarray(crumb_crop(PALETTE["DKGREEN"], *SWATCH_SIZE)))
    other = np.asarray(crumb_crop(PALETTE["RED"], *SWATCH_SIZE))
    assert not np.array_equal(served, other)
    assert requests.get(f"{studio}/api/swatches/NOPE.png", timeout=10).status_code == 404


def test_prediction_streams_all_four_outputs_through_the_studio(studio):
    answer = requests.post(
        f"{studio}/api/predictions", json={"input": {"colors": "60% RED, 40% WHITE", "seed": 7}}, timeout=30
    )
    assert answer.status_code == 201
    prediction = follow(studio, answer.json())
    assert prediction["status"] == "succeeded", prediction
    assert [o["kind"] for o in prediction["outputs"]] == ["preview", "final", "colormap", "report"]
    preview = requests.get(studio + prediction["outputs"][0]["url"], timeout=10)
    assert Image.open(io.BytesIO(preview.content)).size == (512, 512)
    report = requests.get(studio + prediction["outputs"][3]["url"], timeout=10).json()
    assert report["requested"] == {"RED": 60.0, "WHITE": 40.0}
    assert report["seed"] == 7


def test_api_refusal_comes_back_naming_the_field(studio):
    bad_seed = requests.post(
        f"{studio}/api/predictions", json={"input": {"colors": "red", "seed": 2**31}}, timeout=30
    )
    assert bad_seed.json()["error"]["field"] == "seed"
    zero = requests.post(
        f"{studio}/api/predictions", json={"input": {"colors": "100% RED, 0% WHITE"}}, timeout=30
    )
    failed = follow(studio, zero.json())
    assert failed["status"] == "failed"
    assert failed["error"]["field"] == "colors"
    assert failed["error"]["message"].startswith("colors: every colour needs a share above 0%")


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"input": {"colours": "red"}}, 400, "colours"),
        ({"inputs": {}}, 400, None),
        ([1, 2], 400, None),
    ],
)
def test_studio_refuses_what_is_not_a_prediction(studio, body, status, field):
    answer = requests.post(f"{studio}/api/predictions", json=body, timeout=30)
    assert answer.status_code == status
    assert answer.json()["error"]["field"] == field


def test_studio_refuses_oversized_and_malformed_requests(studio):
    huge = requests.post(
        f"{studio}/api/predictions",
        data=b"x" * (25 * 2**20),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert huge.status_code == 413
    assert requests.post(f"{studio}/api/predictions", data=b"{not json", timeout=10).status_code == 400
    assert requests.get(f"{studio}/static/../server.py", timeout=10).status_code == 404
    assert requests.get(f"{studio}/api/predictions/{'0' * 32}", timeout=10).status_code == 404
    flood = "&".join(f"a{i}=1" for i in range(20))
    assert requests.get(f"{studio}/api/predictions/{'0' * 32}?{flood}", timeout=10).status_code == 400
    assert requests.get(f"{studio}/api/predictions/{'0' * 32}?after=x", timeout=10).status_code == 400


def test_webhook_needs_the_studios_secret(studio):
    answer = requests.post(
        f"{studio}/api/predictions", json={"input": {"colors": "red", "seed": 1}}, timeout=30
    )
    prediction_id = answer.json()["id"]
    forged = {"status": "failed", "error": "colors: forged"}
    assert (
        requests.post(f"{studio}/hooks/{'f' * 32}/{prediction_id}", json=forged, timeout=10).status_code
        == 404
    )
    assert follow(studio, answer.json())["status"] == "succeeded"


def test_page_and_its_files_are_served_with_a_strict_policy(studio):
    page = requests.get(f"{studio}/", timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for name in ("studio.js", "studio.css"):
        assert requests.get(f"{studio}/static/{name}", timeout=10).status_code == 200


# --- Replicate: the token stays in the studio --------------------------------------------------

TOKEN = "r8_studio_test_token_4f1c2b9e7a"


class ReplicateShaped:
    """Replicate's prediction API as far as the studio uses it: bearer token, schema, create, poll,
    output files. Outputs are the real product's, made by the local Cog server behind it."""

    def __init__(self, cog_url: str):
        self.cog_url, self.predictions, self.authorised = cog_url, {}, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self):
                ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
                outer.authorised.append((self.path, ok))
                if not ok:
                    self._send(401, {"detail": "Unauthenticated"})
                return ok

            def do_GET(self):
                if not self._authorised():
                    return
                if self.path == "/v1/models/acme/plitka-pro":
                    return self._send(200, {"latest_version": {"id": "v1", "openapi_schema": SCHEMA}})
                if self.path.startswith("/v1/predictions/"):
                    return self._send(200, outer.predictions[self.path.rsplit("/", 1)[1]])
                if self.path.startswith("/v1/files/"):
                    _, _, prediction_id, index = self.path.split("/")[1:]
                    data = outer.files[prediction_id][int(index)]
                    return self._send(
                        200, data, "image/png" if data[:4] == b"\x89PNG" else "application/json"
                    )
                self._send(404, {"detail": "not found"})

            def do_POST(self):
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = requests.post(
                    f"{outer.cog_url}/predictions", json={"input": body["input"]}, timeout=120
                )
                result = answer.json()
                prediction_id = f"rep{len(outer.predictions)}"
                base = f"http://127.0.0.1:{outer.port}/v1/files/{prediction_id}"
                outputs = result.get("output") or []
                outer.files[prediction_id] = [decode(uri) for uri in outputs]
                outer.predictions[prediction_id] = {
                    "id": prediction_id,
                    "status": result["status"],
                    "error": result.get("error"),
                    "output": [f"{base}/{i}" for i in range(len(outputs))],
                    "logs": "",
                }
                self._send(201, {"id": prediction_id, "status": "starting"})

        self.files: dict[str, list[bytes]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_replicate_token_is_used_by_the_studio_and_never_served(procedural_server):
    replicate = ReplicateShaped(procedural_server)
    store = PredictionStore()
    backend = ReplicateBackend("acme/plitka-pro", TOKEN, store, api=replicate.url)
    try:
        with StudioServer(backend, store) as studio:
            served = []

            def get(path):
                response = requests.get(studio.url + path, timeout=60)
                served.append(response.content + str(response.headers).encode())
                return response

            for path in (
                "/",
                "/static/studio.js",
                "/static/studio.css",
                "/api/config",
                "/api/swatches/RED.png",
            ):
                assert get(path).status_code == 200
            started = requests.post(
                studio.url + "/api/predictions", json={"input": {"colors": "red", "seed": 3}}, timeout=120
            )
            served.append(started.content)
            prediction = started.json()
            while prediction["status"] not in ("succeeded", "failed"):
                prediction = get(f"/api/predictions/{prediction['id']}?after={prediction['version']}").json()
            assert prediction["status"] == "succeeded", prediction
            report = get(prediction["outputs"][3]["url"]).json()
            assert report["requested"] == {"RED": 100.0}
            for output in prediction["outputs"][:3]:
                get(output["url"])
    finally:
        replicate.close()
    assert replicate.authorised and all(ok for _, ok in replicate.authorised)
    assert not [body for body in served if TOKEN.encode() in body]
    assert not [body for body in served if b"r8_" in body]


# --- the commands ------------------------------------------------------------------------------


def wait_for_config(url: str, process: subprocess.Popen, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}"
        try:
            answer = requests.get(f"{url}/api/config", timeout=10)
            if answer.status_code == 200:  # 502 while the API is starting
                return answer.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"no studio at {url} after {timeout} s")


def answers(url: str) -> bool:
    try:
        requests.get(url, timeout=5)
        return True
    except requests.ConnectionError:
        return False


def gone(url: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while answers(url):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
    return True


def start(tmp_path, *arguments: str) -> subprocess.Popen:
    env = dict(os.environ, PLITKA_WORK_DIR=str(tmp_path))
    log = open(tmp_path / "command.log", "wb")  # noqa: SIM115 -- the process writes it until it ends
    return subprocess.Popen([sys.executable, "-m", "plitka.cli", *arguments], env=env, stdout=log, stderr=log)


def test_plitka_studio_starts_its_own_api_and_stops_it_on_sigterm(tmp_path):
    studio = f"http://127.0.0.1:{free_port()}"
    process = start(tmp_path, "studio", "--port", studio.rsplit(":", 1)[1])
    try:
        config = wait_for_config(studio, process)
        api = config["api"].removeprefix("local Cog server ")
        assert requests.get(f"{api}/health-check", timeout=10).json()["status"] == "READY"
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0
    assert gone(api), "the Cog server the studio started outlived it"


def test_plitka_serve_offers_the_studio_beside_it(tmp_path):
    api, studio = (f"http://127.0.0.1:{free_port()}" for _ in range(2))
    process = start(tmp_path, "serve", "--port", api.rsplit(":", 1)[1], "--studio", studio.rsplit(":", 1)[1])
    try:
        config = wait_for_config(studio, process)
        assert config["api"] == f"local Cog server {api}"
        assert len(config["palette"]) == 29
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert gone(studio), "the studio outlived the server it was started beside"
