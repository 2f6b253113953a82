"""Crumbs of a new colour take their inside from real crumbs of that colour in the same picture.

Mapping a crumb's lightness from its old colour's look to its new one (plitka.lock.appearance) keeps
the old crumb's pattern: a white crumb is flat with a faint grain, so as red it came out flat with
bright specks, and a red crumb as BLACK came out mid-grey and speckled, where the picture's own red
and black crumbs show folds, facets, creases and their own grain. So the inside of a repainted crumb
(all but its rim) is copied pixel for pixel, at 1:1 (a stretched copy loses the grain), from the
insides of kept crumbs of its new colour: from the place, around a few kept crumbs of about its size,
where its shape lies most wholly on their insides. A kept crumb lends its inside at most MAX_LENT
times, so no crumb is seen over and over. Where no place covers MIN_COVER of it, the crumb
keeps its look's lightness. Its rim always keeps the look's lightness, so its edge meets its
neighbours as before. Only L* is copied: the repaint puts every pixel's a*b* on its colour's ray.

Written by hand: image quilting and patch-match libraries fill holes from anywhere in a picture; here
the source must be a crumb of one colour, whole, and the target one crumb's shape.
"""

from __future__ import annotations

import cv2
import numpy as np

from plitka.layout import interior_pixels

CANDIDATES = 6  # kept crumbs searched around per repainted crumb, the nearest in size first
SEARCH_PX = 3  # how far around each one's centre the best place is searched
MIN_COVER = 0.75  # share of a crumb's inside that one place must cover for the crumb to be copied
MIN_AREA = 12  # px: smaller crumbs are all rim, and kept crumbs this small give no inside
MAX_LENT = 2  # copies of one kept crumb's inside: one large white lent to 8 crumbs showed as clones
LARGER = 1.2  # the size sought: a little larger than the crumb, whose shape then fits inside


def bounding_boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """Nx4 (y0, x0, y1, x1), end exclusive, of each region id; absent ids get (0, 0, 0, 0)."""
    flat = labels.ravel()
    if count <= np.iinfo(np.uint16).max:
        flat = flat.astype(np.uint16)  # numpy sorts 16-bit keys by radix: 5x faster
    order = np.argsort(flat, kind="stable")
    ys, xs = np.divmod(order, labels.shape[1])
    ordered = flat[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ids = ordered[starts].astype(np.int64)
    boxes = np.zeros((count, 4), np.int64)
    boxes[ids, 0] = np.minimum.reduceat(ys, starts)
    boxes[ids, 1] = np.minimum.reduceat(xs, starts)
    boxes[ids, 2] = np.maximum.reduceat(ys, starts) + 1
    boxes[ids, 3] = np.maximum.reduceat(xs, starts) + 1
    return boxes


def insides(labels: np.ndarray, regions: np.ndarray, interior: np.ndarray | None = None) -> np.ndarray:
    """HxW bool: the pixels of `regions` (ids) whose 4 neighbours lie in the same region (a rim pixel
    blends in its neighbour's colour); interior: interior_pixels of every region, if already known."""
    chosen = np.zeros(labels.max() + 1, bool)
    chosen[regions] = True
    if interior is None:
        return interior_pixels(labels, chosen[labels])
    return chosen[labels] & interior


def copy_insides(
    lightness: np.ndarray,
    painted: np.ndarray,
    labels: np.ndarray,
    moved: np.ndarray,
    moved_colour: np.ndarray,
    donors: dict[int, np.ndarray],
    stray: np.ndarray,
) -> np.ndarray:
    """painted (HxW L*) with the inside of each moved region (ids, new colours moved_colour) copied
    from lightness (the picture's) where it best fits on the insides of its colour's donors (colour ->
    ids of kept crumbs); moved regions without a fitting place keep painted. stray: HxW bool, a
    donor's pixels that read as another grey (a white crumb's deep shade reads BLACK): never copied,
    or the copy would add that colour."""
    count = labels.max() + 1
    boxes = bounding_boxes(labels, count)
    area = np.bincount(labels.ravel(), minlength=count)
    interior = interior_pixels(labels, np.ones(labels.shape, bool))
    donor_inside = {
        colour: (insides(labels, ids, interior) & ~stray).astype(np.float32) for colour, ids in donors.items()
    }
    own_inside = insides(labels, moved, interior)
    out = painted.copy()
    lent = np.zeros(count, np.int64)  # times each kept crumb's inside was copied
    for region, colour in zip(moved, moved_colour, strict=True):
        pool = donors.get(int(colour), np.zeros(0, np.int64))
        pool = pool[lent[pool] < MAX_LENT]
        if len(pool) == 0 or area[region] < MIN_AREA:
            continue
        y0, x0, y1, x1 = boxes[region]
        want = own_inside[y0:y1, x0:x1] & (labels[y0:y1, x0:x1] == region)
        place = _best_place(
            want, pool[_nearest_in_size(area[pool], area[region])], boxes, donor_inside[colour]
        )
        if place is None or place[2] < MIN_COVER * want.sum():
            continue
        source = (slice(place[0], place[0] + y1 - y0), slice(place[1], place[1] + x1 - x0))
        take = want & (donor_inside[colour][source] > 0)
        out[y0:y1, x0:x1][take] = lightness[source][take]
        lent[np.unique(labels[source][take])] += 1
    return out


def _nearest_in_size(pool_area: np.ndarray, own_area: int) -> np.ndarray:
    return np.argsort(np.abs(np.log(pool_area / (LARGER * own_area))))[:CANDIDATES]


def _best_place(
    want: np.ndarray, candidates: np.ndarray, boxes: np.ndarray, inside: np.ndarray
) -> tuple[int, int, float] | None:
    """(y, x, pixels of want covered) of the best top-left corner for want's box on `inside`, searched
    SEARCH_PX around each candidate crumb's centre; None where no candidate has room around it."""
    template = want.astype(np.float32)
    height, width = want.shape
    best = None
    for donor in candidates:
        y0 = max(0, (boxes[donor, 0] + boxes[donor, 2] - height) // 2 - SEARCH_PX)
        x0 = max(0, (boxes[donor, 1] + boxes[donor, 3] - width) // 2 - SEARCH_PX)
        window = inside[y0 : y0 + height + 2 * SEARCH_PX, x0 : x0 + width + 2 * SEARCH_PX]
        if window.shape[0] < height or window.shape[1] < width:
            continue
        _, covered, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(window, template, cv2.TM_CCORR))
        if best is None or covered > best[2]:
            best = (y0 + y, x0 + x, covered)
    return best
