"""A hostile client against the real Cog server (`plitka serve` -> coglet): bad inputs, oversized
bodies, a killed worker, a broken predictor, folders the service did not write (issue 11)."""

import json
import os
import signal
import time

import psutil
import pytest
import requests

from plitka.cog_client import predict, serving
from plitka.limits import MAX_COLORS_TEXT, MAX_PARAMS_JSON
from plitka.outputs import MARKER
from plitka.supervisor import find_worker

pytestmark = pytest.mark.server

VALID = {"colors": "60% red, 40% white", "params_json": '{"overrides": {"resolution": 512}}', "seed": 1}
MAX_ERROR = 300


def legacy(*colors, **extra):
    return json.dumps({"colors": [{"name": n, "proportion": p} for n, p in colors], **extra})


def overrides(**values):
    return legacy(("red", 100), overrides=values)


RED = legacy(("red", 100))

# (inputs, the field its error must name)
BAD_COLORS = [
    "60% redd, 40% white",
    "60% red, 30% white",
    "60% red, 50% white",
    "-10% red, 110% white",
    "20% red, 20% white, 20% black, 20% blue, 20% yellow",
    "red, white",
    "red and white",
    "60% red, 40%",
    "0% red, 100% white",
    "99.9999% red, 0.0001% white",
    "99.99 red 0.01 white",
    "1e309% red",
    "1E5 red",
    "1/2 red, 1/2 white",
    "../../etc/passwd",
    "/etc/passwd",
    "file:///etc/passwd",
    "http://169.254.169.254/",
    "https://example.com/red.png",
    "\x7f" * 900 + "zz",
    "a" * MAX_COLORS_TEXT,
    "x" + " " * 998 + "x",
    "x" + "-" * 998 + "x",
    "x" + " ," * 499 + "x",
    "red" + " and" * 240 + " red",
    "9" * 400 + "% red",
    "150% red",
    "100% red, 100% white",
    "60 red 40",
    "%",
    "-",
    ",,,,",
    "()",
    "60%",
    "0.6",
    "1",
    "nan% red",
    "inf% red",
    "NaN red",
    "red NaN",
    "red; DROP TABLE colors;--",
    "<script>alert(1)</script>",
    "{{7*7}} red",
    "${jndi:ldap://x}",
    "red\x00white",
    "red\u202ewhite",
    "😀 100%",
    "красны 100%",
    "зелёный 50, 50",
    "60% red 40% white 0% blue",
    "red " * 250,
    "60 % red , 40 %",
    "50% red, 50% red, 50% white",
    "1 red 1 white 1 blue",
    "0.5 red 0.4 white",
    "red 60 white 40 blue",
    "60% red, 40% white" + " " * 980 + "x",
    "\n\n\n60%\tredd",
]
BAD_PARAMS = [
    "{broken",
    "[1, 2]",
    '"red"',
    "null",
    "42",
    '{"colours": []}',
    '{"colors": []}',
    '{"colors": "red"}',
    '{"colors": [1]}',
    '{"colors": [{"name": "red"}]}',
    '{"colors": [{"proportion": 1}]}',
    legacy(("red", "60"), ("white", 40)),
    legacy(("red", None)),
    legacy(("red", True)),
    legacy(("red", [1])),
    legacy((None, 100)),
    legacy((1, 100)),
    legacy((["red"], 100)),
    legacy(({"a": 1}, 100)),
    legacy(("red", 60), ("white", 60)),
    legacy(("red", -5), ("white", 105)),
    legacy(("red", 250)),
    legacy(("redd", 100)),
    legacy(("red", 99.9999), ("white", 0.0001)),
    '{"colors": [{"name": "red", "proportion": NaN}]}',
    '{"colors": [{"name": "red", "proportion": Infinity}]}',
    '{"colors": [{"name": "red", "proportion": -Infinity}]}',
    '{"colors": [{"name": "red", "proportion": 1e999}]}',
    '{"colors": [{"name": "red", "proportion": 100}, {"name": "white", "proportion": 1e-320}]}',
    "[" * 1000 + "]" * 1000,
    '{"a":' * 500 + "1" + "}" * 500,
    RED[:-1] + ', "seed": ' + "9" * 3000 + "}",
    legacy(("red", 100), extra=1),
    legacy(("red", 1), overrides=[]),
    overrides(steps=0),
    overrides(steps=101),
    overrides(steps=20.5),
    overrides(steps="20"),
    overrides(steps=True),
    overrides(guidance=-1),
    overrides(guidance=21),
    overrides(strength=0),
    overrides(strength=1.5),
    overrides(resolution=513),
    overrides(resolution=4096),
    overrides(resolution=8),
    overrides(lora_scale=3),
    overrides(use_controlnet="yes"),
    overrides(sampler="ddim"),
    overrides(prompt="a cat"),
    overrides(negative_prompt="x" * 100),
    overrides(prompt="x" * 3000),
    " " * (MAX_PARAMS_JSON + 1) + "{}",
    RED + " trailing",
    "\ufeff" + RED,
    '{"colors": [{"name": "red", "proportion": 100}], "colors": 5}',
]
# params_json setting a form field: the error names that field
BAD_PARAMS_FIELDS = [
    *[(legacy(("red", 100), seed=value), "seed") for value in (2**31, -2, 7.5, "7", True)],
    *[(legacy(("red", 100), angle=value), "angle") for value in (45.0, 33, "45")],
    *[(legacy(("red", 100), quality=value), "quality") for value in ("ultra", 1)],
    *[(legacy(("red", 100), output_format=value), "output_format") for value in ("gif", "../x")],
    *[(legacy(("red", 100), engine=value), "engine") for value in ("dalle", "sdxl")],
]
CASES = (
    [({"colors": text}, "colors") for text in BAD_COLORS]
    + [({"params_json": text}, "params_json") for text in BAD_PARAMS]
    + [({"params_json": text}, field) for text, field in BAD_PARAMS_FIELDS]
    + [({"colors": "red", "angle": value}, "angle") for value in (33, -1, 360, 45.5, "45", True, 2**40)]
    + [({"colors": "red", "seed": value}, "seed") for value in (-2, 2**31, 2**63, 10**30, 1.5, "7", [7])]
    + [({"colors": "red", "quality": value}, "quality") for value in ("ultra", "", "PREVIEW", 1, ["high"])]
    + [
        ({"colors": "red", "output_format": value}, "output_format")
        for value in ("gif", "../x", "", "PNG", 0)
    ]
    + [({"colors": "red", "engine": value}, "engine") for value in ("dalle", "", "SDXL", "sdxl", 3)]
    + [({"colors": value}, "colors") for value in (123, ["red"], {"red": 100}, True, 1.5)]
    + [({"params_json": value}, "params_json") for value in ({"colors": []}, 1, ["x"], True)]
    + [({"colors": "70% red, 30% white", "params_json": legacy(("red", 50), ("white", 50))}, "colors")]
    + [({"colors": "red", "angle": 45, "params_json": legacy(("red", 1), angle=30)}, "angle")]
    # colors has a default (the form's example mix): only a colors emptied (or null: coglet's 422) is missing
    + [({"colors": ""}, "colors"), ({"colors": "   "}, "colors"), ({"colors": None}, "colors")]
    + [({"colors": "", "params_json": "{}"}, "params_json")]
)


def error_text(result: dict) -> str:
    """A failed prediction's error, or a 4xx answer's body."""
    if result.get("status") == "failed":
        return str(result.get("error"))
    return json.dumps(
        {key: value for key, value in result.items() if key not in ("http_status", "busy_answers")}
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    (work / "operators-folder").mkdir()
    (work / "operators-folder" / "notes.txt").write_text("not the service's")
    (work / "00000000-old-looking-folder").mkdir()  # sorts before every output folder
    with serving(work, PLITKA_KEEP_OUTPUTS="3") as running:
        yield running


def schema_refused_the_length(result: dict) -> bool:
    """coglet's own 422 for a string over the schema's maxLength: it repeats the whole value
    (coglet 0.23.1; docs/troubleshooting.md), so it is the one answer allowed to be long."""
    detail = result.get("detail") or [{}]
    return result["http_status"] == 422 and all("is longer than" in str(item.get("msg")) for item in detail)


def test_every_bad_input_is_refused_naming_the_field_and_the_server_keeps_serving(server):
    assert len(CASES) >= 150
    problems, long_schema_answers = [], 0
    for number, (inputs, field) in enumerate(CASES, start=1):
        result = predict(server.url, patience=10, **inputs)
        refused = result.get("status") == "failed" or 400 <= result["http_status"] < 500
        error = error_text(result)
        too_long = len(error) >= MAX_ERROR and not schema_refused_the_length(result)
        long_schema_answers += len(error) >= MAX_ERROR and not too_long
        if not refused or field not in error or too_long or "Traceback" in error:
            problems.append(f"{str(inputs)[:120]}: {result['http_status']} {error[:200]}")
        if number % 10 == 0:
            valid = predict(server.url, patience=10, **VALID)
            assert valid["status"] == "succeeded", (number, valid.get("error"))
    assert not problems, "\n".join(problems)
    print(f"{len(CASES)} bad inputs refused; {long_schema_answers} over-long strings got coglet's long 422")


@pytest.mark.parametrize("size", [1_000_000, 10_000_000])
def test_megabyte_colours_are_refused_at_once_and_the_server_stays_ready(server, size):
    body = {"input": {"colors": "\x7f" * (size - 2) + "zz"}}
    start = time.perf_counter()
    answer = requests.post(f"{server.url}/predictions", json=body, timeout=60)
    print(f"{size:,} characters refused with {answer.status_code} in {time.perf_counter() - start:.3f} s")
    result = {"http_status": answer.status_code, **answer.json()}
    # refused by coglet against the schema's maxLength: the worker never sees it (no worker time)
    assert schema_refused_the_length(result)
    assert result["detail"][0]["loc"] == ["body", "input", "colors"]
    assert requests.get(f"{server.url}/health-check", timeout=5).json()["status"] == "READY"
    assert predict(server.url, patience=10, **VALID)["status"] == "succeeded"


@pytest.mark.soak
def test_a_folder_that_was_in_the_work_dir_survives_50_predictions(server):
    work = server.log_path.parent
    for _ in range(50):
        assert predict(server.url, patience=10, **VALID)["status"] == "succeeded"
    assert (work / "operators-folder" / "notes.txt").read_text() == "not the service's"
    assert (work / "00000000-old-looking-folder").is_dir()
    ours = [path for path in work.iterdir() if (path / MARKER).is_file()]
    assert len(ours) == 3  # PLITKA_KEEP_OUTPUTS: the service still prunes its own


def wait_for_ready(url: str, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if requests.get(f"{url}/health-check", timeout=2).json().get("status") == "READY":
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not READY within {seconds} s")


def test_a_killed_worker_is_replaced_and_the_next_prediction_is_served(tmp_path):
    with serving(tmp_path) as server:
        worker = find_worker(server.process.pid)
        assert worker is not None
        os.kill(worker, signal.SIGKILL)
        time.sleep(0.2)
        seconds = wait_for_ready(server.url, 15)
        assert find_worker(server.process.pid) not in (None, worker)
        assert predict(server.url, patience=10, **VALID)["status"] == "succeeded"
        log = server.log_path.read_text()
        assert f"restarting coglet (restart 1, in 0 s): the Python worker (pid {worker}) died" in log, log[
            -2000:
        ]
        print(f"READY again {seconds:.2f} s after the worker was killed")


def test_a_predictor_whose_healthcheck_fails_is_restarted(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    with serving(work, log_path=tmp_path / "server.log") as server:
        work.rmdir()
        work.write_text("a file where the work dir should be")  # no output folder can be made
        deadline = time.monotonic() + 20
        while "health check says UNHEALTHY" not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_path.read_text()[-2000:]
            time.sleep(0.2)
        assert "is not writable" in server.log_path.read_text()
        work.unlink()
        wait_for_ready(server.url, 40)
        assert predict(server.url, patience=10, **VALID)["status"] == "succeeded"


def test_a_hung_worker_is_replaced(tmp_path):
    with serving(tmp_path) as server:
        worker = find_worker(server.process.pid)
        os.kill(worker, signal.SIGSTOP)  # the worker hangs: the prediction below never finishes
        answer = requests.put(
            f"{server.url}/predictions/stuck1",
            json={"input": VALID},
            headers={"Prefer": "respond-async"},
            timeout=10,
        )
        assert answer.status_code == 202
        # coglet waits 10 s for Predictor.healthcheck() and then says UNHEALTHY; three in a row
        deadline = time.monotonic() + 60
        while "restarting coglet" not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_path.read_text()[-2000:]
            time.sleep(0.5)
        assert "health check says UNHEALTHY (healthcheck timed out)" in server.log_path.read_text()
        wait_for_ready(server.url, 30)
        assert predict(server.url, patience=10, **VALID)["status"] == "succeeded"
        assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
