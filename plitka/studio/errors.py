"""API errors as the page shows them: the field they name and the words, beside that field."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

# coglet puts its own words before the product's line ("Prediction failed: Generator iteration
# error: colors: ...", from servers of earlier versions "...error: RequestError: colors: ..."); the
# line itself starts with the field it names.
_PRODUCT_LINE = re.compile(
    r"(?:^|\b(?:error|failed|RequestError): )(?P<field>[a-z_][a-z0-9_]*)(?:\.[a-z0-9_.]+)?: (?P<message>.+)"
)
MAX_MESSAGE = 2000  # characters shown of any one error


@dataclass(frozen=True)
class FieldError:
    field: str | None  # an input's name, or None for an error about the whole request
    message: str

    def to_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "message": self.message}


def from_prediction_error(text: str, inputs: Collection[str]) -> FieldError:
    """A failed prediction's `error`: the field it names where that is one of the inputs."""
    text = str(text).strip()[:MAX_MESSAGE]
    for line in text.splitlines():
        match = _PRODUCT_LINE.search(line)
        if match and match["field"] in inputs:
            start = match.start("field")
            return FieldError(match["field"], line[start:].strip())
    return FieldError(None, text or "the prediction failed without a message")


def from_validation_detail(detail: object, inputs: Collection[str]) -> FieldError:
    """Cog's HTTP 422 body ({"detail": [{"loc": ["body", "input", "seed"], "msg": ...}]})."""
    items = detail if isinstance(detail, list) else [detail]
    for item in items:
        if not isinstance(item, dict):
            continue
        location = [part for part in item.get("loc", []) if isinstance(part, str)]
        field = next((part for part in reversed(location) if part in inputs), None)
        message = str(item.get("msg", "not allowed"))[:MAX_MESSAGE]
        if field:
            return FieldError(field, f"{field}: {message}")
    return FieldError(None, str(detail)[:MAX_MESSAGE])
