"""The studio's order routes: a request as a share code and back (GET /api/share), and the spec
sheet of a finished prediction (GET /api/predictions/<id>/sheet.pdf), made by plitka.order."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from plitka.order import Quantities, order_for
from plitka.order.share import code_for_report, decode, encode
from plitka.order.sheet import sheet_for
from plitka.request import RequestError, build_request
from plitka.studio.predictions import Prediction

# The order fields of the sheet's query, each a plain decimal (bounded again by plitka.order).
ORDER_FIELDS = ("area", "area_unit", "depth_mm", "bulk_density", "binder_percent", "wastage_percent")
_DECIMAL = re.compile(r"\d{1,7}(?:\.\d{1,6})?")
_ASKED = ("colors", "angle", "seed", "quality")


def share(query: dict[str, list[str]]) -> dict[str, Any]:
    """?code=... or ?colors=...&angle=...&seed=...&quality=...: the request and its code."""
    asked = {key: values[0] for key, values in query.items()}
    if "code" in asked:
        request = decode(asked["code"])
    else:
        request = build_request(
            asked.get("colors", ""),
            angle=_integer(asked.get("angle", "0"), "angle"),
            seed=_integer(asked.get("seed", "-1"), "seed"),
            quality=asked.get("quality", "standard"),
        )
    code = encode(request) if request.seed >= 0 else None
    return {
        "code": code,
        "mix": request.mix,
        "angle": request.angle,
        "seed": request.seed,
        "quality": request.quality,
    }


def sheet(prediction: Prediction, query: dict[str, list[str]]) -> tuple[bytes, str]:
    """The PDF of a succeeded prediction, and a file name for it."""
    outputs = {output.name.split(".")[0]: output for output in prediction.outputs}
    if prediction.status != "succeeded" or "report" not in outputs or "final" not in outputs:
        raise RequestError("prediction", "the sheet needs a finished prediction with its picture and report")
    report = json.loads(outputs["report"].data)
    order = _order(query, report["requested"])
    with Image.open(io.BytesIO(outputs["final"].data)) as picture:
        pdf = sheet_for(report, picture.convert("RGB"), order, datetime.now(UTC).date())
    return pdf, f"plitka-{code_for_report(report)}.pdf"


def _order(query: dict[str, list[str]], mix: dict[str, float]) -> Quantities | None:
    asked = {key: values[0] for key, values in query.items() if key in ORDER_FIELDS}
    if not asked.get("area"):
        return None
    given = {key: value if key == "area_unit" else _decimal(value, key) for key, value in asked.items()}
    return order_for(mix, **given)


def _decimal(text: str, field: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise RequestError(field, f"must be a plain decimal number like 120 or 12.5, got {text[:12]!r}")
    return float(text)


def _integer(text: str, field: str) -> int:
    if not re.fullmatch(r"-?\d{1,10}", text):
        raise RequestError(field, f"must be an integer, got {text[:12]!r}")
    return int(text)
