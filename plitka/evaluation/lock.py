"""Score the colour lock on a labelled folder (photos/ + labels.csv, as ../shared/seed-outputs):
each picture re-coloured to its ordered mix, then judged by the measurement, before and after, and by
what a person sees of the repaint (plitka.evaluation.look)."""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from plitka.analysis.evaluate import parse_proportions, read_labels
from plitka.analysis.measure import ColourSegmentation, segment_colours
from plitka.evaluation.look import (
    LightnessMatch,
    invisibility_patches,
    lightness_match,
    patchiness,
    scatter_patchiness,
)
from plitka.lock.lock import lock_colours
from plitka.lock.quality import detail_kept
from plitka.realism.twosample import FOLDS

MIN_BEFORE_SHARE = 2.0  # percent: an ordered colour shown less before leaves "before" no baseline


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
    patchiness_before: float = 0.0
    patchiness_after: float = 0.0
    scatter: tuple[float, float] = (0.0, 0.0)  # lock's colour map: its patchiness, and shuffled at random
    lightness: tuple[LightnessMatch, ...] = ()
    declined: str = ""  # why the lock left the picture unpainted

    @property
    def mae_before(self) -> float:
        return _mae(self.ordered, self.before)

    @property
    def mae_after(self) -> float:
        return _mae(self.ordered, self.after)

    @property
    def patchiness_baseline(self) -> str:
        """ "before" where every ordered colour showed on MIN_BEFORE_SHARE before, else "scatter"."""
        shown = all(self.before.get(code, 0.0) >= MIN_BEFORE_SHARE for code in self.ordered)
        return "before" if shown and self.patchiness_before > 0 else "scatter"

    @property
    def patchiness_ratio(self) -> float:
        """Patchiness after over its baseline (the issue's bar: at most 1.25)."""
        if self.patchiness_baseline == "before":
            return self.patchiness_after / self.patchiness_before
        return self.scatter[0] / self.scatter[1] if self.scatter[1] > 0 else 0.0

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
            "patchiness_before": round(self.patchiness_before, 3),
            "patchiness_after": round(self.patchiness_after, 3),
            "patchiness_ratio": round(self.patchiness_ratio, 2),
            "patchiness_baseline": self.patchiness_baseline,
            "lightness": [match.to_dict() for match in self.lightness],
            **({"declined": self.declined} if self.declined else {}),
        }


@dataclass(frozen=True)
class RecolourReport:
    files: tuple[RecolourResult, ...]
    invisibility: dict  # the classifier two-sample test's figures, or {"skipped": why}

    def summary(self) -> dict:
        """MAE before and after (mean over all picture-colour pairs), the worst picture, median detail
        and seconds, the worst lightness match and patchiness ratio, invisibility, declined pictures."""
        painted = [result for result in self.files if not result.declined]
        matches = [match for result in painted for match in result.lightness]
        ratios = [result.patchiness_ratio for result in painted]
        return {
            "before": round(_pooled(self.files, "before"), 3),
            "after": round(_pooled(self.files, "after"), 3),
            "worst_after": round(max(result.mae_after for result in self.files), 3),
            "repainted": round(float(np.mean([result.repainted for result in self.files])), 2),
            "detail": round(float(np.median([result.detail for result in self.files])), 3),
            "seconds": round(float(np.median([result.seconds for result in self.files])), 3),
            "worst_median_delta_L": round(max((abs(m.median_difference) for m in matches), default=0.0), 2),
            "worst_patchiness_ratio": round(max(ratios, default=0.0), 2),
            "invisibility": self.invisibility,
            "declined": {result.file: result.declined for result in self.files if result.declined},
        }

    def to_dict(self) -> dict:
        return {**self.summary(), "files": [result.to_dict() for result in self.files]}

    def format_table(self) -> str:
        head = (
            f"{'picture':44} {'before':>7} {'after':>6} {'repaint%':>8} {'detail':>6} {'conf':>5} "
            f"{'patchy':>11} {'ratio':>7} {'s':>5}  lightness (colour: median dL*, spread ratio)"
        )
        lines = [head]
        for result in self.files:
            looks = ", ".join(
                f"{m.code} {m.median_difference:+.1f} x{m.spread_ratio:.2f}" for m in result.lightness
            )
            patchy = f"{result.patchiness_before:.2f}->{result.patchiness_after:.2f}"
            lines.append(
                f"{result.file:44} {result.mae_before:7.2f} {result.mae_after:6.2f} {result.repainted:8.1f} "
                f"{result.detail:6.3f} {result.confidence:5.2f} {patchy:>11} "
                f"{result.patchiness_ratio:5.2f}{result.patchiness_baseline[0]} {result.seconds:5.2f}  "
                + (f"declined: {result.declined}" if result.declined else looks)
            )
        summary = self.summary()
        lines.append("")
        lines.append(
            f"{'overall (MAE; median detail, seconds)':44} "
            f"{summary['before']:7.2f} {summary['after']:6.2f} "
            f"{summary['repainted']:8.1f} {summary['detail']:6.3f} {'':27} {summary['seconds']:5.2f}"
        )
        lines.append(f"worst picture after: {summary['worst_after']:.2f} points")
        lines.append(f"worst lightness match: |median dL*| {summary['worst_median_delta_L']:.2f}")
        lines.append(
            "worst patchiness after / baseline (b: before, s: random scatter): "
            f"{summary['worst_patchiness_ratio']:.2f}"
        )
        lines.append(f"invisibility (0.5: repainted cannot be told from kept): {_figure(self.invisibility)}")
        lines.append(f"declined: {len(summary['declined'])}")
        return "\n".join(lines)


def evaluate_recolour(root: Path, seed: int = 0, invisibility: bool = True) -> RecolourReport:
    """Re-colour every labelled picture under root to its ordered mix, as the product does (a picture
    that does not look like crumb is declined), and judge shares, looks and scatter before and after;
    invisibility: also run the classifier test (eval-only scikit-learn, ~20 s)."""
    root = Path(root)
    results = []
    rng = np.random.default_rng(seed)
    patches: list[np.ndarray] = []
    labels: list[int] = []
    groups: list[int] = []
    for row in read_labels(root):
        ordered = parse_proportions(row["proportions"])
        with Image.open(root / row["file"]) as opened:
            picture = opened.convert("RGB")
        start = time.perf_counter()
        locked = lock_colours(picture, ordered)
        seconds = time.perf_counter() - start
        before, after = (_segmented(image, ordered) for image in (picture, locked.image))
        results.append(
            RecolourResult(
                file=row["file"],
                ordered=ordered,
                before=_shares(before, ordered),
                after=_shares(after, ordered),
                repainted=locked.repainted_share,
                detail=detail_kept(picture, locked.image),
                confidence=locked.confidence.value,
                seconds=seconds,
                patchiness_before=patchiness(before) if before else 0.0,
                patchiness_after=patchiness(after) if after else 0.0,
                scatter=scatter_patchiness(locked, rng) if locked.painted else (0.0, 0.0),
                lightness=tuple(lightness_match(locked)) if locked.painted else (),
                declined="" if locked.painted else locked.reason,
            )
        )
        if locked.painted and invisibility:
            found, kinds, _ = invisibility_patches(locked, rng)
            patches += found
            labels += kinds
            groups += [len(results)] * len(found)
    if not results:
        raise ValueError(f"{root / 'labels.csv'} lists no pictures")
    skipped = {"skipped": "not asked for"}
    return RecolourReport(
        tuple(results), _invisibility(patches, labels, groups, seed) if invisibility else skipped
    )


def _segmented(image: Image.Image, ordered: dict[str, float]) -> ColourSegmentation | None:
    return segment_colours(image, list(ordered)) if len(ordered) > 1 else None


def _shares(segmentation: ColourSegmentation | None, ordered: dict[str, float]) -> dict[str, float]:
    return segmentation.proportions() if segmentation else {code: 100.0 for code in ordered}


def _invisibility(patches: list[np.ndarray], labels: list[int], groups: list[int], seed: int) -> dict:
    """The classifier two-sample test on repainted against kept patches, folds never sharing a picture."""
    if importlib.util.find_spec("sklearn") is None:
        return {"skipped": "needs scikit-learn (pip install -r requirements-dev.txt)"}
    if len(set(groups)) < FOLDS or len(set(labels)) < 2:
        return {"skipped": f"patches from {len(set(groups))} pictures; needs {FOLDS}"}
    from plitka.realism.features import patch_features
    from plitka.realism.twosample import classifier_test

    features = np.stack([patch_features(np.ascontiguousarray(patch)) for patch in patches])
    result = classifier_test(features, np.array(labels), np.array(groups), seed=seed)
    return {**result.to_dict(), "patches": len(patches)}


def _figure(invisibility: dict) -> str:
    if "skipped" in invisibility:
        return f"skipped ({invisibility['skipped']})"
    return (
        f"accuracy {invisibility['accuracy']:.3f} +- {invisibility['accuracy_spread']:.3f}, "
        f"AUC {invisibility['auc']:.3f}, {invisibility['patches']} patches"
    )


def _mae(ordered: dict[str, float], measured: dict[str, float]) -> float:
    return float(np.mean([abs(measured[code] - share) for code, share in ordered.items()]))


def _pooled(results: tuple[RecolourResult, ...], which: str) -> float:
    measured = (lambda r: r.before) if which == "before" else (lambda r: r.after)
    errors = [abs(measured(r)[code] - share) for r in results for code, share in r.ordered.items()]
    return float(np.mean(errors))
