"""A tile request as a short code for phone and email, and back: 'RED60-WHITE40-A45-S7-QS-K3'.

The code is readable on purpose (palette codes and numbers, dash-separated, any case): it can be read
out over the phone and typed back. Two check characters (CRC-32 of the rest, in Crockford's base 32)
catch a mistyped character but for about 1 in 1,024. Decoding goes through build_request, so a code
is held to every rule a typed request is; what is not a code is refused naming the `code` field.
"""

from __future__ import annotations

import zlib
from typing import Any

from plitka.request import ANGLES, MAX_SEED, QUALITIES, RequestError, TileRequest, build_request

FIELD = "code"
MAX_CODE_LENGTH = 120  # 4 colours of 7 letters and 6 digits, angle, a 10-digit seed, quality, check: ~75
_CHECK_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's: no I, L, O, U
_QUALITY_LETTERS = {quality[0].upper(): quality for quality in QUALITIES}
_EXAMPLE = "e.g. RED60-WHITE40-A0-S7-QS-XX"


def encode(request: TileRequest) -> str:
    """The request's code; its seed must be fixed (not -1), or the code would not reopen the same tile."""
    if request.seed < 0:
        raise RequestError("seed", "a share code needs a fixed seed (0 or more), not -1 (random)")
    colours = [f"{code}{share:g}" for code, share in request.mix.items()]
    body = "-".join([*colours, f"A{request.angle}", f"S{request.seed}", f"Q{request.quality[0].upper()}"])
    return f"{body}-{_check(body)}"


def decode(code: str) -> TileRequest:
    """A code back into the request it was made from; anything else is a RequestError on `code`."""
    if not isinstance(code, str):
        raise RequestError(FIELD, f"must be text, {_EXAMPLE}")
    if len(code) > MAX_CODE_LENGTH:
        raise RequestError(FIELD, f"at most {MAX_CODE_LENGTH} characters, got {len(code)}")
    cleaned = "".join(code.split()).upper()
    body, _, check = cleaned.rpartition("-")
    if not body or len(check) != 2:
        raise RequestError(FIELD, f"not a share code ({_EXAMPLE})")
    if check != _check(body):
        raise RequestError(FIELD, "the check characters do not match: a character is mistyped")
    parts = body.split("-")
    if len(parts) < 4:
        raise RequestError(FIELD, f"not a share code ({_EXAMPLE})")
    *colours, angle, seed, quality = parts
    angle_value = _number(angle, "A", 3)
    seed_value = _number(seed, "S", len(str(MAX_SEED)))
    if not colours or quality[:1] != "Q" or quality[1:] not in _QUALITY_LETTERS or angle_value not in ANGLES:
        raise RequestError(FIELD, f"not a share code ({_EXAMPLE})")
    mix = ", ".join(_colour(part) for part in colours)
    try:
        return build_request(mix, angle=angle_value, seed=seed_value, quality=_QUALITY_LETTERS[quality[1:]])
    except RequestError as error:
        raise RequestError(FIELD, f"{error.field}: {error.detail}") from None


def _check(body: str) -> str:
    crc = zlib.crc32(body.encode("ascii", "replace"))
    return _CHECK_ALPHABET[crc % 32] + _CHECK_ALPHABET[(crc >> 5) % 32]


def _number(part: str, tag: str, digits: int) -> int:
    if part[:1] != tag or not part[1:].isdigit() or not part[1:].isascii() or len(part) > digits + 1:
        raise RequestError(FIELD, f"not a share code ({_EXAMPLE})")
    return int(part[1:])


def _colour(part: str) -> str:
    """'RED66.667' -> '66.667% RED'."""
    letters = len(part) - len(part.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    code, share = part[:letters], part[letters:]
    if not code or not share or not share.replace(".", "", 1).isdigit() or not share.isascii():
        raise RequestError(FIELD, f"not a share code ({_EXAMPLE})")
    return f"{share}% {code}"


def code_for_report(report: dict[str, Any]) -> str:
    """The code of the tile a report.json describes (its mix, angle, quality and the seed it used)."""
    mix = ", ".join(f"{share:g}% {code}" for code, share in report["requested"].items())
    request = build_request(mix, angle=report["angle"], quality=report["quality"], seed=report["seed"])
    return encode(request)
