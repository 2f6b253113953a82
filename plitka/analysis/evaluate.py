"""Score measure_proportions against reference photos with known proportions (labels.csv).

The error of a photo is the absolute difference, in percentage points, between measured and
labelled share of each of its colours; MAE is the mean over all (photo, colour) pairs, overall and
per family (the sorted colour codes joined by '-').
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from plitka.analysis.measure import measure_proportions
from plitka.palette import PALETTE, Palette

LABELS_FILE = "labels.csv"
# ../shared/reference-tiles beside the checkout: the labelled photos (never needed at run time).
DEFAULT_REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference-tiles"


@dataclass(frozen=True)
class FileResult:
    file: str
    family: str
    trust: str
    expected: dict[str, float]
    measured: dict[str, float]

    @property
    def errors(self) -> list[float]:
        return [abs(self.measured[code] - share) for code, share in self.expected.items()]

    @property
    def mae(self) -> float:
        return float(np.mean(self.errors))

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "family": self.family,
            "trust": self.trust,
            "expected": self.expected,
            "measured": self.measured,
            "mae": round(self.mae, 3),
        }


@dataclass(frozen=True)
class EvalReport:
    files: tuple[FileResult, ...]

    @property
    def mae(self) -> float:
        return _mae(self.files)

    def families(self) -> dict[str, dict]:
        """Family -> {"n": photos, "mae": points}, in first-seen order."""
        names = dict.fromkeys(result.family for result in self.files)
        return {name: _summary([r for r in self.files if r.family == name]) for name in names}

    def by_trust(self) -> dict[str, dict]:
        """labels.csv trust value (as_named, corrected) -> {"n": photos, "mae": points}."""
        names = dict.fromkeys(result.trust for result in self.files)
        return {name: _summary([r for r in self.files if r.trust == name]) for name in names}

    def to_dict(self, include_files: bool = True) -> dict:
        report = {"mae": round(self.mae, 3), "families": self.families()}
        if include_files:
            report["files"] = [result.to_dict() for result in self.files]
        return report

    def format_table(self) -> str:
        lines = [f"{'photo':48} {'trust':9} {'colour: expected -> measured':62} {'MAE':>5}"]
        for result in self.files:
            shares = "  ".join(
                f"{code} {share:g}->{result.measured[code]:.1f}" for code, share in result.expected.items()
            )
            lines.append(f"{result.file:48} {result.trust:9} {shares:62} {result.mae:5.2f}")
        lines.append("")
        lines.append(f"{'family / subset':48} {'photos':>6} {'MAE':>6}")
        for name, summary in {**self.families(), **_prefixed(self.by_trust())}.items():
            lines.append(f"{name:48} {summary['n']:6d} {summary['mae']:6.2f}")
        lines.append(f"{'overall':48} {len(self.files):6d} {self.mae:6.2f}")
        return "\n".join(lines)


def evaluate_reference_set(
    root: Path, include_singles: bool = False, palette: Palette = PALETTE
) -> EvalReport:
    """Measure every labelled photo under root with its labelled colours and compare."""
    root = Path(root)
    results = []
    for row in read_labels(root):
        expected = parse_proportions(row["proportions"])
        if len(expected) == 1 and not include_singles:
            continue
        with Image.open(root / row["file"]) as photo:
            measured = measure_proportions(photo, list(expected), palette)
        results.append(FileResult(row["file"], row["family"], row["trust"], expected, measured))
    if not results:
        raise ValueError(f"{root / LABELS_FILE} lists no photos to evaluate")
    return EvalReport(tuple(results))


def read_labels(root: Path) -> list[dict[str, str]]:
    labels = root / LABELS_FILE
    if not labels.is_file():
        raise FileNotFoundError(f"no {LABELS_FILE} in {root}")
    with labels.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def parse_proportions(text: str) -> dict[str, float]:
    """'BLUE:10;RED:90' -> {'BLUE': 10.0, 'RED': 90.0}"""
    pairs = (item.split(":") for item in text.split(";") if item)
    return {code.strip(): float(share) for code, share in pairs}


def _mae(results: Iterable[FileResult]) -> float:
    errors = [error for result in results for error in result.errors]
    return float(np.mean(errors))


def _summary(results: list[FileResult]) -> dict:
    return {"n": len(results), "mae": round(_mae(results), 3)}


def _prefixed(summaries: dict[str, dict]) -> dict[str, dict]:
    return {f"trust={name}": summary for name, summary in summaries.items()}
