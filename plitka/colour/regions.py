"""Split a picture of crumb into granule regions: one label per granule, every pixel labelled.

Seeds are the lit tops of granules (peaks of the smoothed lightness), grown by OpenCV's watershed
over the picture's colour edges, so borders settle in the dark crevices and on colour edges; then
the facets of one granule (neighbouring regions of one colour with no dark crevice between them)
are merged, never beyond a granule's size. Where a granule layout lines up with the
picture (the img2img of our exact layout), its granules are used instead (`layout_regions`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from plitka.colour.spaces import lab_image

CREVICE_DEPTH = 6.0  # L* below the local mean (sigma CREVICE_SIGMA_PX) that makes a pixel a crevice
CREVICE_SIGMA_PX = 4.0  # at 1024 px; scaled with the picture
SEED_SIGMA_PX = 2.0  # at 1024 px: lightness smoothed this much before its peaks are found...
SEED_RADIUS_PX = 5  # ...each the brightest within this radius (granules are ~12-50 px across)
MERGE_AB = 7.0  # neighbouring facets merge when their mean a*b* lie closer than this...
MERGE_L = 12.0  # ...their mean L* closer than this...
MERGE_SEAM = 0.95  # ...and the seam between them is no darker than this fraction of the darker facet
MERGED_SIZE_QUANTILE = 90  # a merged region stays within MERGED_SIZE_QUANTILE_FACTOR times this
MERGED_SIZE_QUANTILE_FACTOR = 1.5  # percentile of the regions' areas before merging
RIM_DEPTH = 2.0  # L*: a layout granule lines up where its outline is this much darker than its inside
REFERENCE_SIDE = 1024


@dataclass(frozen=True)
class Regions:
    """labels: HxW int32 region id 0..count-1 for every pixel; count: number of regions."""

    labels: np.ndarray
    count: int

    @property
    def areas(self) -> np.ndarray:
        return np.bincount(self.labels.ravel(), minlength=self.count)


def segment_granules(rgb: np.ndarray, lab: np.ndarray | None = None) -> Regions:
    """Granule regions of a top view of crumb (HxWx3 uint8 RGB)."""
    lab = lab_image(rgb) if lab is None else lab
    scale = max(rgb.shape[:2]) / REFERENCE_SIDE
    markers = _seeds(lab, scale)
    cv2.watershed(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), markers)
    labels = _fill_watershed_lines(markers) - 1
    count = int(labels.max()) + 1
    return merge_facets(Regions(labels, count), lab)


def crevices(lab: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Pixels clearly darker than their surroundings: the gaps and shadows between granules."""
    lightness = lab[..., 0]
    local = cv2.GaussianBlur(lightness, (0, 0), CREVICE_SIGMA_PX * scale)
    return lightness < local - CREVICE_DEPTH


def _seeds(lab: np.ndarray, scale: float) -> np.ndarray:
    """int32 markers: 1.. for each seed, 0 elsewhere. A granule is a lit bump between dark crevices,
    so each local maximum of the smoothed lightness (over SEED_RADIUS_PX) seeds one granule."""
    smooth = cv2.GaussianBlur(lab[..., 0], (0, 0), SEED_SIGMA_PX * scale)
    radius = max(1, round(SEED_RADIUS_PX * scale))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    surroundings = cv2.GaussianBlur(lab[..., 0], (0, 0), CREVICE_SIGMA_PX * scale)
    # a peak in a dark patch (the floor between granules) is no granule top
    peaks = (smooth >= cv2.dilate(smooth, disc)) & (smooth >= surroundings)
    _, markers = cv2.connectedComponents(peaks.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    if markers.max() == 0:  # nothing but one flat level (a blank picture): one region
        markers[markers.shape[0] // 2, markers.shape[1] // 2] = 1
    return markers


def _fill_watershed_lines(markers: np.ndarray) -> np.ndarray:
    """watershed marks borders -1 (and the picture's frame); give each the largest neighbouring label."""
    lines = markers <= 0
    grown = cv2.dilate(np.where(lines, 0, markers).astype(np.float32), np.ones((3, 3), np.uint8))
    filled = np.where(lines, grown.astype(np.int32), markers)
    while (filled <= 0).any():  # only where a whole 3x3 was border: grow again
        grown = cv2.dilate(filled.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
        filled = np.where(filled <= 0, grown, filled)
    return filled


def merge_facets(regions: Regions, lab: np.ndarray) -> Regions:
    """Merge neighbouring regions of one colour with no crevice between them (facets of one granule)."""
    labels, count = regions.labels, regions.count
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=count).astype(np.float64)
    means = (
        np.stack([np.bincount(flat, weights=lab[..., c].ravel(), minlength=count) for c in range(3)], axis=1)
        / np.maximum(areas, 1)[:, None]
    )
    pairs, seam = _neighbour_pairs(labels, lab[..., 0])
    if len(pairs) == 0:
        return regions
    first, second = pairs[:, 0], pairs[:, 1]
    close_ab = np.linalg.norm(means[first, 1:] - means[second, 1:], axis=1) < MERGE_AB
    close_l = np.abs(means[first, 0] - means[second, 0]) < MERGE_L
    no_crevice = seam >= MERGE_SEAM * np.minimum(means[first, 0], means[second, 0])
    candidates = np.flatnonzero(close_ab & close_l & no_crevice)
    closeness = np.linalg.norm(means[first, 1:] - means[second, 1:], axis=1)
    order = candidates[np.argsort(closeness[candidates], kind="stable")]
    cap = MERGED_SIZE_QUANTILE_FACTOR * np.percentile(areas, MERGED_SIZE_QUANTILE)
    parent = _capped_union(pairs[order], areas, cap)
    _, relabelled = np.unique(parent, return_inverse=True)
    return Regions(relabelled[labels].astype(np.int32), int(relabelled.max()) + 1)


def _neighbour_pairs(labels: np.ndarray, lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique (a, b) region pairs that touch (a < b) and the mean L* along their shared border."""
    firsts, seconds, values = [], [], []
    flat_labels, flat_lightness = labels.ravel(), lightness.ravel()
    for here, there in _differing_neighbours(labels):
        a, b = flat_labels[here], flat_labels[there]
        firsts.append(np.minimum(a, b))
        seconds.append(np.maximum(a, b))
        values.append(np.minimum(flat_lightness[here], flat_lightness[there]))
    first, second = np.concatenate(firsts).astype(np.int64), np.concatenate(seconds).astype(np.int64)
    if len(first) == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    key = first * (int(labels.max()) + 1) + second
    unique, inverse = np.unique(key, return_inverse=True)
    seam = np.bincount(inverse, weights=np.concatenate(values)) / np.bincount(inverse)
    width = int(labels.max()) + 1
    return np.stack([unique // width, unique % width], axis=1), seam


def _differing_neighbours(labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Flat indices (here, there) of the pixels whose right, then lower, neighbour has another label, in
    row-major order (on the flat picture: a mask over a 2-D slice gathers several times slower)."""
    flat, width = labels.ravel(), labels.shape[1]
    right = flat[:-1] != flat[1:]
    right[width - 1 :: width] = False  # a row's last pixel has no right neighbour
    across, down = np.flatnonzero(right), np.flatnonzero(flat[:-width] != flat[width:])
    return [(across, across + 1), (down, down + width)]


def _capped_union(pairs: np.ndarray, areas: np.ndarray, cap: float) -> np.ndarray:
    """Root of each region after joining the pairs in order, skipping a join that would make a region
    larger than cap (so facets join into granules, and granules never chain into a mass).

    By hand: a union-find with a size limit, over a few thousand pairs; no library offers the limit.
    """
    parent = list(range(len(areas)))
    size = [float(area) for area in areas]

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for first, second in pairs.tolist():
        a, b = root(first), root(second)
        if a != b and size[a] + size[b] <= cap:
            parent[b] = a
            size[a] += size[b]
    return np.array([root(node) for node in range(len(parent))])


def layout_regions(granules: np.ndarray, lab: np.ndarray, fallback: Regions) -> tuple[Regions, float]:
    """Regions from the picture's known granule ids (-1 and below: gap or background) where they still
    line up with the picture, fallback's regions elsewhere; and the share of pixels taken from the layout.

    A layout granule lines up when the picture is calm inside it (its a*b* spread stays below half
    of the picture's) and its rim is darker than its inside (a crevice runs along its outline).
    """
    ids = np.where(granules >= 0, granules, -1)
    count = int(ids.max()) + 1
    if count <= 0:
        return fallback, 0.0
    inside = ids >= 0
    flat_ids = ids[inside]
    area = np.bincount(flat_ids, minlength=count).astype(np.float64)
    ab = lab[..., 1:][inside]
    mean = np.stack([np.bincount(flat_ids, weights=ab[:, c], minlength=count) for c in range(2)], 1)
    mean /= np.maximum(area, 1)[:, None]
    spread = np.sqrt(((ab - mean[flat_ids]) ** 2).sum(axis=1))
    granule_spread = np.bincount(flat_ids, weights=spread, minlength=count) / np.maximum(area, 1)
    picture_spread = float(np.sqrt(((ab - ab.mean(axis=0)) ** 2).sum(axis=1)).mean())
    aligned = (granule_spread < 0.5 * picture_spread) & (area > 0) & _rims_darker(ids, lab[..., 0], count)
    use = np.zeros(granules.shape, bool)
    use[inside] = aligned[flat_ids]
    labels = np.where(use, ids, fallback.labels + count)
    _, relabelled = np.unique(labels, return_inverse=True)
    relabelled = relabelled.reshape(labels.shape).astype(np.int32)
    return Regions(relabelled, int(relabelled.max()) + 1), float(use.mean())


def _rims_darker(ids: np.ndarray, lightness: np.ndarray, count: int) -> np.ndarray:
    """Per granule id: is the mean L* of its outline RIM_DEPTH below that of its inside?"""
    rim = np.zeros(ids.shape, bool)
    rim[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    rim[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    rim[1:] |= ids[1:] != ids[:-1]
    rim[:-1] |= ids[:-1] != ids[1:]
    inside = ids >= 0
    means = []
    for part in (rim & inside, ~rim & inside):
        total = np.bincount(ids[part], weights=lightness[part], minlength=count)
        means.append(total / np.maximum(np.bincount(ids[part], minlength=count), 1))
    has_inside = np.bincount(ids[~rim & inside], minlength=count) > 0
    return has_inside & (means[0] < means[1] - RIM_DEPTH)


def crevice_border_share(regions: Regions, lab: np.ndarray, depth: float = 3.0) -> float:
    """Share of touching region pairs whose shared border is a crevice: darker, by `depth` L*, than
    the darker of the two regions. Granules of crumb are parted by crevices; regions that noise or
    a smooth surface was cut into are not."""
    labels, count = regions.labels, regions.count
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=count).astype(np.float64)
    mean_l = np.bincount(flat, weights=lab[..., 0].ravel(), minlength=count) / np.maximum(areas, 1)
    pairs, seam = _neighbour_pairs(labels, lab[..., 0])
    if len(pairs) == 0:
        return 0.0
    darker = np.minimum(mean_l[pairs[:, 0]], mean_l[pairs[:, 1]])
    return float((seam < darker - depth).mean())
