"""Build a one-heap trial bank with other crumb solids or packing: the trials T1-T10 of docs/bank.md,
"Geometry trials" (about a minute each; needs requirements-bank.txt).

    python tools/bank_trial.py T6 --out /tmp/bankT6
    PLITKA_BANK_DIR=/tmp/bankT6 python tools/measure_renders.py --renderer bank

The trial's knobs replace plitka/bank/geometry.py's (and, for T7, build.py's) in this process only,
so the shipped geometry stays the one rule; the crumb shapes below exist only for these trials.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

import plitka.bank.build as build
import plitka.bank.geometry as geometry
from plitka.layout import ASPECT_RANGE, RADIUS_SPREAD

DEEP = {"LAYERS": 5, "LAYER_DEPTH": 0.3}  # T6: lower layers close enough that no binder shows
CHIP = {"shape": "chip", "CRUMB_RADIUS": 0.62, "FLATNESS": 0.5, "TOP_JITTER": 0.3, "tilt": 0.3}
TRIALS: dict[str, dict] = {
    "T0": {},
    "T1": {**CHIP, "LAYERS": 4},
    "T2": {**CHIP, "LAYERS": 6, "LAYER_DEPTH": 0.3},
    "T3": {**CHIP, "LAYERS": 6, "LAYER_DEPTH": 0.3, "tilt": 0.15, "top_drop": 0.08},
    "T4": {**CHIP, "LAYERS": 6, "LAYER_DEPTH": 0.3, "tilt": 0.15, "top_drop": 0.08, "TOP_JITTER": 0.05},
    "T5": {**DEEP, "shape": "pressed", "HULL_POINTS": 24, "CRUMB_RADIUS": 0.6, "TOP_JITTER": 0.1}
    | {"tilt": 0.2},
    "T6": DEEP,
    "T7": {"build.LIGHT_ALBEDO": 0.75},
    "T8": {**DEEP, "CRUMB_RADIUS": 0.56},
    "T9": {**DEEP, "tilt": 0.0, "TOP_JITTER": 0.05},
    "T10": {**DEEP, "shape": "rough", "HULL_POINTS": 40},
}
TILT = 0.35  # the shipped sigma of a crumb's tilt (geometry._rotation)
CHIP_SIDES = (5, 9)  # a chip's outline has 5-8 corners
CHIP_TOP = 0.8  # the chip's top face, as wide as this share of its outline: a bevelled slab
PRESSED_CUT = 0.5  # of the half-height: where a pressed crumb's top is cut flat
ROUGH_PULL = 0.6  # hull points of a rough crumb are pulled in by a factor down to this


def rotation(tilt: float) -> Callable[[np.random.Generator], np.ndarray]:
    """geometry._rotation with another tilt sigma (radians)."""

    def turned(rng: np.random.Generator) -> np.ndarray:
        turn, angle, axis = rng.uniform(0, 2 * np.pi), rng.normal(0, tilt), rng.uniform(0, 2 * np.pi)
        about_z = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]])
        k = np.array([np.cos(axis), np.sin(axis), 0.0])
        cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        return (np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross) @ about_z

    return turned


def _size(spacing: float, rng: np.random.Generator) -> tuple[float, float]:
    radius = geometry.CRUMB_RADIUS * spacing * rng.lognormal(0.0, RADIUS_SPREAD)
    return radius, np.sqrt(rng.uniform(*ASPECT_RANGE))


def chip_points(top_drop: float) -> Callable[[float, np.random.Generator], np.ndarray]:
    """An irregular polygon outline under a narrower, slightly uneven top: a bevelled slab."""

    def points(spacing: float, rng: np.random.Generator) -> np.ndarray:
        radius, aspect = _size(spacing, rng)
        corners = rng.integers(*CHIP_SIDES)
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        ring = np.stack([np.cos(angles), np.sin(angles)], 1) * rng.uniform(0.75, 1.0, (corners, 1))
        ring *= [aspect, 1 / aspect]
        height = geometry.FLATNESS * radius
        top_z = height / 2 - rng.uniform(0, top_drop, corners) * 2 * height
        top = np.column_stack([ring * CHIP_TOP * radius, top_z])
        bottom = np.column_stack([ring * radius, np.full(corners, -height / 2)])
        return np.concatenate([top, bottom]) @ geometry._rotation(rng).T

    return points


def ellipsoid_points(pull: float, cut: float | None) -> Callable[[float, np.random.Generator], np.ndarray]:
    """geometry._crumb_points with points pulled in down to `pull` and the top cut flat at `cut`."""

    def points(spacing: float, rng: np.random.Generator) -> np.ndarray:
        radius, aspect = _size(spacing, rng)
        directions = rng.normal(size=(geometry.HULL_POINTS, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        shape = radius * np.array([aspect, 1 / aspect, geometry.FLATNESS])
        result = directions * shape * rng.uniform(pull, 1.0, (geometry.HULL_POINTS, 1))
        if cut is not None:
            result[:, 2] = np.minimum(result[:, 2], cut * shape[2])
        return result @ geometry._rotation(rng).T

    return points


def apply(knobs: dict) -> None:
    """Set a trial's knobs on the geometry (and build) modules of this process."""
    knobs = dict(knobs)
    shape, tilt, top_drop = knobs.pop("shape", None), knobs.pop("tilt", TILT), knobs.pop("top_drop", 0.15)
    for name, value in knobs.items():
        module = build if name.startswith("build.") else geometry
        name = name.removeprefix("build.")
        if not hasattr(module, name):
            raise SystemExit(f"error: no knob {name}")
        setattr(module, name, value)
    geometry._rotation = rotation(tilt)
    if shape == "chip":
        geometry._crumb_points = chip_points(top_drop)
    elif shape == "pressed":
        geometry._crumb_points = ellipsoid_points(0.85, PRESSED_CUT)
    elif shape == "rough":
        geometry._crumb_points = ellipsoid_points(ROUGH_PULL, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trial", choices=sorted(TRIALS))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=16)
    args = parser.parse_args(argv)
    apply(TRIALS[args.trial])
    from plitka.bank.bank import build_bank

    costs = build_bank(args.out, 1, 1024, args.samples, 1)
    print(f"{args.out}: {args.trial} in {costs[0]['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
