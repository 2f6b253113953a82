"""Give each granule region one ordered colour so that the colours' areas match the order.

Blocks first: the picture is cut into BLOCKS x BLOCKS blocks and each block's regions are shared out
by the order (so the mix is even over the tile, as a real mix is); then the whole picture is put
exactly on the order. Regions start at their cheapest colour and move from colours over their quota
to colours under it until every colour is within one region of its quota. Which regions move:
crumbs scattered as in a real mix (scattered_order), away from each other and from the crumbs that
already have the colour; never the cheapest-first run, which follows a lighting gradient or a
neighbourhood and lays the new colour in clouds. Regions much larger than a crumb (several crumbs
the segmentation could not part) move only when crumb-sized ones run out: one of them repainted is
a cloud.
"""

from __future__ import annotations

import numpy as np

BLOCKS = 4
CRUMB_SIZE_FACTOR = 2.5  # regions over this times the median region are clumps of crumbs: moved last
SPACING_SHRINK = 0.75  # each scatter pass lowers the spacing between chosen crumbs by this factor


def assign_colours(
    cost: np.ndarray,
    weight: np.ndarray,
    shares: np.ndarray,
    block: np.ndarray | None = None,
    centroid: np.ndarray | None = None,
    strays: np.ndarray | None = None,
) -> np.ndarray:
    """Colour index (0..K-1) of each region.

    cost: NxK cost of painting region i in colour k (each starts at its cheapest); weight: NxK counted
    pixels of region i painted colour k (or N: the same whatever its colour); shares: K fractions
    summing to 1; block: N block index per region (None: one block); centroid: Nx2 (y, x) of each
    region, by which moved regions are scattered (None: fixed pseudo-random positions); strays: K
    pixels that read as each colour whatever the regions are given (a white crumb's deep shade reads
    BLACK), counted in the whole picture's shares.
    """
    weight = np.broadcast_to(weight[:, None] if weight.ndim == 1 else weight, cost.shape)
    centroid = _positions(len(cost)) if centroid is None else centroid
    colour = cost.argmin(axis=1)
    counted = weight[np.arange(len(colour)), colour]
    typical = np.median(counted[counted > 0]) if (counted > 0).any() else 0.0
    crumb_sized = counted <= CRUMB_SIZE_FACTOR * typical
    for index in np.unique(block) if block is not None else ():
        members = np.flatnonzero(block == index)
        colour[members] = _balanced(
            weight[members], shares, colour[members], centroid[members], crumb_sized[members]
        )
    return _balanced(weight, shares, colour, centroid, crumb_sized, strays)


def _balanced(
    weight: np.ndarray,
    shares: np.ndarray,
    colour: np.ndarray,
    centroid: np.ndarray,
    crumb_sized: np.ndarray,
    strays: np.ndarray | None = None,
) -> np.ndarray:
    """colour, moved until each colour's counted area (and its strays) is as near its quota as regions
    allow."""
    colour = colour.copy()
    rows = np.arange(len(colour))
    strays = np.zeros(len(shares)) if strays is None else strays
    for _ in range(4 * len(shares) ** 2):
        counted = weight[rows, colour]
        area = np.bincount(colour, weights=counted, minlength=len(shares)) + strays
        excess = area - shares * area.sum()
        over, under = int(excess.argmax()), int(excess.argmin())
        if excess[over] <= 0 or excess[under] >= 0:
            break
        need = min(excess[over], -excess[under])
        candidates = np.flatnonzero((colour == over) & (weight[:, under] > 0))
        if len(candidates) == 0:
            break
        occupied = centroid[colour == under]
        order = np.concatenate(
            [
                group[scattered_order(centroid[group], occupied)]
                for group in (candidates[crumb_sized[candidates]], candidates[~crumb_sized[candidates]])
            ]
        )
        moved = np.cumsum(weight[order, under])
        # take regions until the need is met; the last one only if that lands nearer the quota
        count = int(np.searchsorted(moved, need))
        if count < len(order) and abs(moved[count] - need) < abs(need - (moved[count - 1] if count else 0)):
            count += 1
        if count == 0:
            break
        colour[order[:count]] = under
    return colour


def scattered_order(points: np.ndarray, occupied: np.ndarray) -> np.ndarray:
    """A permutation of points (Nx2) whose every prefix is spread out: blue noise over the crumbs.

    Dart throwing in passes: a point is taken when no point taken before it, nor any occupied point
    (Mx2, crumbs already of the colour), lies within the pass's spacing; the spacing starts at what
    would spread all the points evenly and shrinks each pass, so the first crumbs chosen are far from
    each other and from the colour's own crumbs, the next fill the larger holes, and so on.
    By hand: a grid-hashed Poisson-disk pass over a few thousand points; no installed library has one.
    """
    count = len(points)
    if count == 0:
        return np.zeros(0, np.int64)
    rng = np.random.default_rng(count)
    remaining = rng.permutation(count)
    span = np.ptp(np.concatenate([points, occupied]), axis=0) + 1.0
    spacing = float(np.sqrt(span[0] * span[1] / (count + len(occupied))))
    order: list[int] = []
    taken: list[np.ndarray] = [occupied]
    while len(remaining):
        grid = _SpacingGrid(spacing, np.concatenate(taken))
        accepted = np.array([index for index in remaining if grid.add_if_free(points[index])], np.int64)
        order.extend(accepted.tolist())
        taken.append(points[accepted])
        remaining = remaining[~np.isin(remaining, accepted)]
        spacing *= SPACING_SHRINK
    return np.array(order, np.int64)


class _SpacingGrid:
    """Points hashed into cells as large as the spacing: a new point is free when no point in the
    3x3 cells around it lies nearer than the spacing."""

    def __init__(self, spacing: float, points: np.ndarray):
        self.spacing = spacing
        self.cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
        for point in points:
            self._put(point)

    def add_if_free(self, point: np.ndarray) -> bool:
        y, x = float(point[0]), float(point[1])
        row, col = int(y // self.spacing), int(x // self.spacing)
        limit = self.spacing**2
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                for other_y, other_x in self.cells.get((row + dy, col + dx), ()):
                    if (other_y - y) ** 2 + (other_x - x) ** 2 < limit:
                        return False
        self._put(point)
        return True

    def _put(self, point: np.ndarray) -> None:
        key = (int(point[0] // self.spacing), int(point[1] // self.spacing))
        self.cells.setdefault(key, []).append((float(point[0]), float(point[1])))


def _positions(count: int) -> np.ndarray:
    """Fixed pseudo-random positions, for callers that give no centroids."""
    return np.random.default_rng(count).random((count, 2)) * 1024
