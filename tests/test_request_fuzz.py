"""Property-based checks of the request parser: any text up to the limits parses in bounded time and
either gives a valid request or a RequestError naming a field (issue 11)."""

import contextlib
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plitka.limits import MAX_COLORS_TEXT, MAX_PARAMS_JSON
from plitka.request import MAX_COLORS, RequestError, build_request, parse_color_text

FIELDS = {"colors", "params_json", "angle", "quality", "seed", "output_format", "engine"}
# Seconds one parse may take at the limit: the linear parser needs a few milliseconds; the
# backtracking regexes it replaced needed about 0.04 s at 1,000 characters and grew with the square.
BOUND_SECONDS = 0.25

# What the old regexes backtracked over, and what a colour text is made of.
PIECES = [
    " ",
    "  ",
    "\t",
    ",",
    ";",
    ":",
    "=",
    "(",
    ")",
    "/",
    "+",
    "&",
    "-",
    "%",
    ".",
    "0",
    "5",
    "60",
    "e",
    "and",
    "и",
    " and ",
    "with ",
    "red",
    "white",
    "красный",
    "тёмно-зелёный",
    "\x7f",
    "\x00",
    "😀",
    " parts ",
    " part",
    "части",
    "ч.",
    ":",
    "2:1",
    "pts",
]
adversarial = st.lists(st.sampled_from(PIECES), max_size=400).map("".join)
repeated = st.tuples(st.sampled_from(PIECES), st.sampled_from(PIECES), st.integers(1, MAX_COLORS_TEXT)).map(
    lambda t: t[0] + t[1] * ((MAX_COLORS_TEXT - 2 * len(t[0])) // max(1, len(t[1]))) + t[0]
)
color_texts = st.one_of(st.text(max_size=MAX_COLORS_TEXT), adversarial, repeated).map(
    lambda s: s[:MAX_COLORS_TEXT]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
colour_items = st.fixed_dictionaries(
    {
        "name": st.one_of(st.sampled_from(["red", "white", "BLUE", "жёлтый"]), json_values),
        "proportion": st.one_of(st.floats(allow_nan=False), st.integers(), json_values),
    }
)
params = st.fixed_dictionaries(
    {},
    optional={
        "colors": st.lists(colour_items, max_size=2 * MAX_COLORS) | json_values,
        "angle": st.sampled_from([0, 45, 45.0, 33, -1, True, "45"]) | json_values,
        "seed": st.integers() | json_values,
        "quality": st.sampled_from(["preview", "ultra", 1]),
        "overrides": st.dictionaries(
            st.sampled_from(["steps", "guidance", "strength", "resolution", "prompt", "sampler"]),
            json_values,
            max_size=3,
        ),
    },
)
json_texts = st.one_of(params.map(json.dumps), st.text(max_size=MAX_PARAMS_JSON), adversarial).map(
    lambda s: s[:MAX_PARAMS_JSON]
)


def parse_within_bound(**inputs):
    start = time.perf_counter()
    try:
        request = build_request(**inputs)
    except RequestError as error:
        request = error
    elapsed = time.perf_counter() - start
    assert elapsed < BOUND_SECONDS, f"{elapsed:.3f} s for {str(inputs)[:200]}"
    return request


def check_outcome(outcome):
    if isinstance(outcome, RequestError):
        assert outcome.field.split(".")[0].split("[")[0] in FIELDS
        assert str(outcome).startswith(f"{outcome.field}: ")
        assert len(str(outcome)) < 300
    else:
        assert 1 <= len(outcome.mix) <= MAX_COLORS
        assert abs(sum(outcome.mix.values()) - 100) <= 0.5 + 1e-9


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(color_texts)
def test_any_colour_text_parses_in_bounded_time_or_names_the_field(text):
    check_outcome(parse_within_bound(colors=text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_texts)
def test_any_params_json_parses_in_bounded_time_or_names_the_field(text):
    check_outcome(parse_within_bound(params_json=text))


@pytest.mark.parametrize(
    "text",
    [
        "x" + " " * (MAX_COLORS_TEXT - 2) + "x",
        "x" + "-" * (MAX_COLORS_TEXT - 2) + "x",
        "x" + " ," * (MAX_COLORS_TEXT // 2 - 1) + "x",
        "1" + " " * (MAX_COLORS_TEXT - 2) + "x",
        "red" + " and" * ((MAX_COLORS_TEXT - 6) // 4) + "red",
        "1" * MAX_COLORS_TEXT,
        "1." * (MAX_COLORS_TEXT // 2),
        "-1" * (MAX_COLORS_TEXT // 2),
        "1 %" * (MAX_COLORS_TEXT // 3),
        "1:" * (MAX_COLORS_TEXT // 2),
        "1 part" * (MAX_COLORS_TEXT // 6),
        "1 partsssss" * (MAX_COLORS_TEXT // 11),
        "1:1 " + "red/" * ((MAX_COLORS_TEXT - 4) // 4),
    ],
)
def test_the_runs_that_made_the_old_parser_quadratic_parse_in_bounded_time(text):
    check_outcome(parse_within_bound(colors=text))


def best_of_five(function, text):
    """CPU seconds of this thread (other processes on a busy machine do not count), the best of 5."""
    timings = []
    for _ in range(5):
        start = time.thread_time()
        with contextlib.suppress(RequestError):
            function(text)
        timings.append(time.thread_time() - start)
    return min(timings)


@pytest.mark.parametrize("run", [" ", "-", " ,", " and", "1 ", "x "])
def test_colour_text_parsing_time_grows_linearly_beyond_the_limit(run):
    # The scanner itself, without the length limit in front of it: 10x the text, about 10x the time
    # (the old regexes took over 100x: 0.58 s -> 69 s from 2,000 to 20,000 spaces on a loaded CPU).
    def scan(text):
        parse_color_text(text, limit=len(text))

    short = "x" + run * (2_000 // len(run)) + "x"
    long = "x" + run * (20_000 // len(run)) + "x"
    ratio = best_of_five(scan, long) / max(best_of_five(scan, short), 1e-6)
    assert ratio < 30, f"{ratio:.0f}x the time for 10x the text"
