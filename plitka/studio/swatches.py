"""The palette for the page: each colour's names and code, and a crop of the product's own render."""

from __future__ import annotations

import io
import threading

from plitka.palette import PALETTE
from plitka.render.swatch import crumb_crop

SWATCH_SIZE = (120, 72)  # px: wide enough for the crumbs' texture at their real 1024-px scale


def palette_rows() -> list[dict[str, str]]:
    return [
        {"code": color.code, "name_en": color.name_en, "name_ru": color.name_ru, "hex": color.hex}
        for color in PALETTE
    ]


class SwatchCache:
    """PNG bytes per palette code, rendered once (about 0.1-0.3 s each) and kept."""

    def __init__(self) -> None:
        self._png: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def png(self, code: str) -> bytes | None:
        if code not in PALETTE.codes:
            return None
        with self._lock:
            if code not in self._png:
                buffer = io.BytesIO()
                crumb_crop(PALETTE[code], *SWATCH_SIZE).save(buffer, "PNG", optimize=True)
                self._png[code] = buffer.getvalue()
            return self._png[code]

    def warm(self, stop: threading.Event) -> None:
        """Render every swatch ahead of the page asking (run in a thread at start) until `stop`."""
        for code in PALETTE.codes:
            if stop.is_set():
                return
            self.png(code)
