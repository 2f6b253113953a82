"""Give each granule region one ordered colour so that the colours' areas match the order.

Blocks first: the picture is cut into BLOCKS x BLOCKS blocks and each block's regions are shared out
by the order (so the mix is even over the tile, as a real mix is); then the whole picture is put
exactly on the order. Within those quotas each region takes the colour that changes it least:
regions start at their cheapest colour and the cheapest moves (extra cost per pixel) from colours
over their quota to colours under it are made until every colour is within one region of its quota.
"""

from __future__ import annotations

import numpy as np

BLOCKS = 4
TIE_JITTER = 10.0  # cost units per pixel (ray_cost: below 4 "already this colour", blue vs red ~300)


def _jitter(indices: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random number in [0, 1) per region index (the same picture, the same result)."""
    return np.random.default_rng(len(indices)).random(int(indices.max()) + 1)[indices]


def assign_colours(
    cost: np.ndarray, weight: np.ndarray, shares: np.ndarray, block: np.ndarray, blocks: int
) -> np.ndarray:
    """Colour index (0..K-1) of each region.

    cost: NxK cost of painting region i in colour k (0 where it already is k); weight: N counted
    pixels per region; shares: K fractions summing to 1; block: N block index per region.
    """
    colour = cost.argmin(axis=1)
    for index in range(blocks):
        members = np.flatnonzero(block == index)
        if len(members):
            colour[members] = _balanced(cost[members], weight[members], shares, colour[members])
    return _balanced(cost, weight, shares, colour)


def _balanced(cost: np.ndarray, weight: np.ndarray, shares: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """colour, moved cheapest first until each colour's weight is as near its quota as regions allow."""
    colour = colour.copy()
    quota = shares * weight.sum()
    for _ in range(4 * len(shares) ** 2):
        area = np.bincount(colour, weights=weight, minlength=len(shares))
        excess = area - quota
        over, under = int(excess.argmax()), int(excess.argmin())
        if excess[over] <= 0 or excess[under] >= 0:
            break
        need = min(excess[over], -excess[under])
        candidates = np.flatnonzero((colour == over) & (weight > 0))
        if len(candidates) == 0:
            break
        extra = (cost[candidates, under] - cost[candidates, over]) / weight[candidates]
        # Among regions that change about as much, pick at random, as crumb is mixed: sorted by
        # cost alone, a gentle lighting gradient would decide and lay the new colour in bands.
        extra = extra + TIE_JITTER * _jitter(candidates)
        order = candidates[np.argsort(extra, kind="stable")]
        moved = np.cumsum(weight[order])
        # take regions until the need is met; the last one only if that lands nearer the quota
        count = int(np.searchsorted(moved, need))
        if count < len(order) and abs(moved[count] - need) < abs(need - (moved[count - 1] if count else 0)):
            count += 1
        if count == 0:
            break
        colour[order[:count]] = under
    return colour
