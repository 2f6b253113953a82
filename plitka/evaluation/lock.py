"""Score the colour lock on a labelled folder (photos/ + labels.csv, as ../shared/seed-outputs):
each picture re-coloured to its ordered mix, then judged by the measurement, before and after."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from plitka.analysis.evaluate import parse_proportions, read_labels
from plitka.analysis.measure import measure_proportions
from plitka.lock.lock import lock_colours
from plitka.lock.quality import detail_kept


@dataclass(frozen=True)
class RecolourResult:
    file: str
    ordered: dict[str, float]
    before: dict[str, float]
    after: dict[str, float]
    repainted: float  # percent of the tile
    detail: float
    confidence: float
    seconds: float  # the lock alone, per picture

    @property
    def mae_before(self) -> float:
        return _mae(self.ordered, self.before)

    @property
    def mae_after(self) -> float:
        return _mae(self.ordered, self.after)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "ordered": self.ordered,
            "measured_before": self.before,
            "measured_after": self.after,
            "before": round(self.mae_before, 3),
            "after": round(self.mae_after, 3),
            "repainted": round(self.repainted, 2),
            "detail": round(self.detail, 3),
            "confidence": round(self.confidence, 2),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class RecolourReport:
    files: tuple[RecolourResult, ...]

    def summary(self) -> dict:
        """MAE before and after (mean over all picture-colour pairs), median detail and seconds."""
        return {
            "before": round(_pooled(self.files, "before"), 3),
            "after": round(_pooled(self.files, "after"), 3),
            "worst_after": round(max(result.mae_after for result in self.files), 3),
            "repainted": round(float(np.mean([result.repainted for result in self.files])), 2),
            "detail": round(float(np.median([result.detail for result in self.files])), 3),
            "seconds": round(float(np.median([result.seconds for result in self.files])), 3),
        }

    def to_dict(self) -> dict:
        return {**self.summary(), "files": [result.to_dict() for result in self.files]}

    def format_table(self) -> str:
        head = f"{'picture':44} {'before':>7} {'after':>6} {'repaint%':>8} {'detail':>6} {'conf':>5} {'s':>5}"
        lines = [head]
        for result in self.files:
            lines.append(
                f"{result.file:44} {result.mae_before:7.2f} {result.mae_after:6.2f} {result.repainted:8.1f} "
                f"{result.detail:6.3f} {result.confidence:5.2f} {result.seconds:5.2f}"
            )
        summary = self.summary()
        lines.append("")
        lines.append(
            f"{'overall (MAE; median detail, seconds)':44} "
            f"{summary['before']:7.2f} {summary['after']:6.2f} "
            f"{summary['repainted']:8.1f} {summary['detail']:6.3f} {'':5} {summary['seconds']:5.2f}"
        )
        lines.append(f"worst picture after: {summary['worst_after']:.2f} points")
        return "\n".join(lines)


def evaluate_recolour(root: Path) -> RecolourReport:
    """Re-colour every labelled picture under root to its ordered mix and measure before and after."""
    root = Path(root)
    results = []
    for row in read_labels(root):
        ordered = parse_proportions(row["proportions"])
        with Image.open(root / row["file"]) as opened:
            picture = opened.convert("RGB")
        start = time.perf_counter()
        locked = lock_colours(picture, ordered, force=True)
        seconds = time.perf_counter() - start
        results.append(
            RecolourResult(
                file=row["file"],
                ordered=ordered,
                before=measure_proportions(picture, list(ordered)),
                after=measure_proportions(locked.image, list(ordered)),
                repainted=locked.repainted_share,
                detail=detail_kept(picture, locked.image),
                confidence=locked.confidence.value,
                seconds=seconds,
            )
        )
    if not results:
        raise ValueError(f"{root / 'labels.csv'} lists no pictures")
    return RecolourReport(tuple(results))


def _mae(ordered: dict[str, float], measured: dict[str, float]) -> float:
    return float(np.mean([abs(measured[code] - share) for code, share in ordered.items()]))


def _pooled(results: tuple[RecolourResult, ...], which: str) -> float:
    measured = (lambda r: r.before) if which == "before" else (lambda r: r.after)
    errors = [abs(measured(r)[code] - share) for r in results for code, share in r.ordered.items()]
    return float(np.mean(errors))
