"""Heaps of crumb solids: irregular convex chips packed in layers under a flat pressed top.

Each crumb is the convex hull (trimesh) of points on a random ellipsoid, so it has the flat cut facets of
chopped rubber. Sizes and elongation follow the layout's figures read off the reference photos
(plitka/layout.py: a crumb ~2 % of the tile side, long / short axis 1-1.8, log-normal spread 0.2).
Crumbs lie on jittered grids in LAYERS layers; each one's top is placed just under the pressed surface
(z = 0) for the top layer and deeper for the lower ones, so the top reads flat with dark binder gaps.
The tile spans 0..1 in x and y; z points to the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plitka.layout import ASPECT_RANGE, CRUMB_SPACING, RADIUS_SPREAD

LAYERS = 3
LAYER_DEPTH = 0.45  # crumb spacings between the tops of two layers
TOP_JITTER = 0.25  # crumb spacings: how far a top-layer crumb's top sits under the pressed surface
CRUMB_RADIUS = 0.68  # crumb spacings: a crumb's mean half-width, so that neighbours touch and overlap
FLATNESS = 0.6  # a crumb's height over its width: pressed chips lie flat
HULL_POINTS = 14
OVERHANG = 1.0  # crumb spacings past the tile edge, so the edge cuts crumbs as a mould does
BINDER_DEPTH = 2.0  # crumb spacings under the surface: the dark floor seen through the gaps


@dataclass(frozen=True)
class Heap:
    vertices: np.ndarray  # (V, 3) float32
    faces: np.ndarray  # (F, 3) int32
    face_crumb: np.ndarray  # (F,) int32 crumb id of each face
    crumbs: int
    binder_z: float


def build_heap(seed: int, spacing: float = CRUMB_SPACING) -> Heap:
    """One heap over the unit tile; the same seed gives the same heap."""
    import trimesh  # the bank's build extra, not the runtime

    rng = np.random.default_rng(seed)
    vertices, faces, owners, offset, crumb = [], [], [], 0, 0
    for layer in range(LAYERS):
        for centre in _jittered_grid(spacing, rng):
            hull = trimesh.convex.convex_hull(_crumb_points(spacing, rng))
            points = hull.vertices - hull.vertices.mean(axis=0)
            top = -spacing * (layer * LAYER_DEPTH + rng.uniform(0, TOP_JITTER))
            points += [centre[0], centre[1], top - points[:, 2].max()]
            vertices.append(points)
            faces.append(hull.faces + offset)
            owners.append(np.full(len(hull.faces), crumb))
            offset += len(points)
            crumb += 1
    return Heap(
        vertices=np.concatenate(vertices).astype(np.float32),
        faces=np.concatenate(faces).astype(np.int32),
        face_crumb=np.concatenate(owners).astype(np.int32),
        crumbs=crumb,
        binder_z=-BINDER_DEPTH * spacing,
    )


def _crumb_points(spacing: float, rng: np.random.Generator) -> np.ndarray:
    """Points on a random ellipsoid (elongated, flattened, turned about the vertical and tilted a little)."""
    radius = CRUMB_RADIUS * spacing * rng.lognormal(0.0, RADIUS_SPREAD)
    aspect = np.sqrt(rng.uniform(*ASPECT_RANGE))
    directions = rng.normal(size=(HULL_POINTS, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    points = directions * radius * np.array([aspect, 1 / aspect, FLATNESS])
    points *= rng.uniform(0.85, 1.0, (HULL_POINTS, 1))
    return points @ _rotation(rng).T


def _rotation(rng: np.random.Generator) -> np.ndarray:
    turn, tilt, axis = rng.uniform(0, 2 * np.pi), rng.normal(0, 0.35), rng.uniform(0, 2 * np.pi)
    about_z = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]])
    k = np.array([np.cos(axis), np.sin(axis), 0.0])
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    tilted = np.eye(3) + np.sin(tilt) * cross + (1 - np.cos(tilt)) * cross @ cross  # Rodrigues
    return tilted @ about_z


def _jittered_grid(spacing: float, rng: np.random.Generator) -> np.ndarray:
    steps = np.arange(-OVERHANG, 1 / spacing + OVERHANG)
    grid = np.stack(np.meshgrid(steps, steps), -1).reshape(-1, 2) * spacing
    return grid + rng.uniform(0, spacing, grid.shape)
