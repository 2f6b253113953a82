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

BLOCKS = 6  # per side: each block holds some 70 crumbs at 1024 px, a share resolved to ~1.5%
CRUMB_SIZE_FACTOR = 2.5  # regions over this times the median region are clumps of crumbs: moved last


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
    """A permutation of points (Nx2) whose every prefix is spread out over the picture: a stratified
    choice. The box of the points and of the occupied ones (Mx2, crumbs that already have the colour)
    is cut into cells holding about one each. A point's round is its place among its cell's points, in
    random order, after the cell's occupied ones; round by round, the cells come in ordered-dither
    (Bayer) order, which keeps cells that follow each other apart. So the first crumbs chosen lie one to
    a cell, in cells without the colour, spread over the whole picture; the next fill in between.
    """
    count = len(points)
    if count == 0:
        return np.zeros(0, np.int64)
    rng = np.random.default_rng(count)
    everything = np.concatenate([points, occupied])
    low = everything.min(axis=0)
    side = float(np.sqrt(np.prod(np.ptp(everything, axis=0) + 1.0) / len(everything)))
    columns = int(np.ptp(everything[:, 1]) // side) + 1
    rows, cols = ((points - low) // side).astype(np.int64).T
    cell = rows * columns + cols
    taken_rows, taken_cols = ((occupied - low) // side).astype(np.int64).T
    taken = np.bincount(taken_rows * columns + taken_cols, minlength=int(cell.max()) + 1)
    shuffle = rng.permutation(count)
    by_cell = np.lexsort((shuffle, cell))
    sorted_cells = cell[by_cell]
    place = np.empty(count, np.int64)
    place[by_cell] = np.arange(count) - np.searchsorted(sorted_cells, sorted_cells)
    return np.lexsort((shuffle, _dither_rank(rows, cols), place + taken[cell]))


def _dither_rank(rows: np.ndarray, cols: np.ndarray, bits: int = 16) -> np.ndarray:
    """Each cell's place in an ordered-dither (Bayer) matrix: the bits of (row xor col) and row
    interleaved and reversed. By hand: one line of bit arithmetic that no library offers."""
    mixed = rows ^ cols
    rank = np.zeros(len(rows), np.int64)
    for bit in range(bits):
        rank = (rank << 2) | (((mixed >> bit) & 1) << 1) | ((rows >> bit) & 1)
    return rank


def _positions(count: int) -> np.ndarray:
    """Fixed pseudo-random positions, for callers that give no centroids."""
    return np.random.default_rng(count).random((count, 2)) * 1024
