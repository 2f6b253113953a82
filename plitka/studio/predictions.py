"""What the studio knows of each prediction it started: status, outputs (bytes), error, progress.

The backends write here as the API reports; the page reads with a long poll that returns as soon as
something changed, so an output reaches the screen without a polling delay.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from plitka.studio.errors import FieldError

TERMINAL = frozenset({"succeeded", "failed", "canceled"})
OUTPUT_KINDS = ("preview", "final", "colormap", "report")  # the product's order (docs/api.md)
KEEP_PREDICTIONS = 32  # the page's recent tiles; older ones are forgotten with their pictures
_STEP = re.compile(r"denoising step (\d+)/(\d+)")
_DATA_URI = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[^,;]*)*?;base64,", re.ASCII)


@dataclass(frozen=True)
class Output:
    data: bytes
    content_type: str
    name: str


@dataclass
class Prediction:
    id: str
    inputs: dict
    status: str = "starting"
    outputs: list[Output] = field(default_factory=list)
    error: FieldError | None = None
    step: tuple[int, int] | None = None  # (done, total) denoising steps, from the logs
    started: float = field(default_factory=time.monotonic)
    version: int = 0  # bumped on every change; the page waits for a higher one

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "version": self.version,
            "elapsed": round(time.monotonic() - self.started, 2),
            "outputs": [
                {
                    "kind": OUTPUT_KINDS[index] if index < len(OUTPUT_KINDS) else output.name,
                    "name": output.name,
                    "content_type": output.content_type,
                    "url": f"/api/predictions/{self.id}/outputs/{index}",
                }
                for index, output in enumerate(self.outputs)
            ],
            "error": self.error.to_dict() if self.error else None,
            "progress": {"step": self.step[0], "steps": self.step[1]} if self.step else None,
        }


def decode_data_uri(uri: str, index: int) -> Output:
    """A local Cog server's output: `data:<type>;base64,<payload>`."""
    match = _DATA_URI.match(uri)
    if not match:
        raise ValueError("output is not a base64 data URI")
    try:
        data = base64.b64decode(uri[match.end() :], validate=True)
    except binascii.Error as error:
        raise ValueError(f"output is not valid base64 ({error})") from None
    content_type = match["type"] or "application/octet-stream"
    return Output(data, content_type, _output_name(index, content_type))


def _output_name(index: int, content_type: str) -> str:
    stem = OUTPUT_KINDS[index] if index < len(OUTPUT_KINDS) else f"output-{index}"
    extension = {"image/jpeg": "jpg", "application/json": "json"}.get(
        content_type, content_type.split("/")[-1]
    )
    return f"{stem}.{extension}"


class PredictionStore:
    def __init__(self, keep: int = KEEP_PREDICTIONS):
        self._keep = keep
        self._items: OrderedDict[str, Prediction] = OrderedDict()
        self._changed = threading.Condition()

    def add(self, prediction: Prediction) -> None:
        with self._changed:
            self._items[prediction.id] = prediction
            while len(self._items) > self._keep:
                self._items.popitem(last=False)

    def get(self, prediction_id: str) -> Prediction | None:
        with self._changed:
            return self._items.get(prediction_id)

    def update(
        self,
        prediction_id: str,
        *,
        status: str | None = None,
        outputs: list[Output] | None = None,
        error: FieldError | None = None,
        logs: str | None = None,
    ) -> None:
        """Record what the API said; a finished prediction does not change any more."""
        with self._changed:
            prediction = self._items.get(prediction_id)
            if prediction is None or prediction.status in TERMINAL:
                return
            if outputs is not None and len(outputs) > len(prediction.outputs):
                prediction.outputs = outputs
            if logs:
                steps = _STEP.findall(logs[-4000:])
                if steps:
                    prediction.step = (int(steps[-1][0]), int(steps[-1][1]))
            if error is not None:
                prediction.error = error
            if status:
                prediction.status = status
            prediction.version += 1
            self._changed.notify_all()

    def wait(self, prediction_id: str, after_version: int, timeout: float) -> Prediction | None:
        """The prediction once its version passes `after_version` or it has finished (or at timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                prediction = self._items.get(prediction_id)
                if prediction is None or prediction.version > after_version or prediction.status in TERMINAL:
                    return prediction
                left = deadline - time.monotonic()
                if left <= 0:
                    return prediction
                self._changed.wait(left)
