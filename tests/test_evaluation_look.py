"""eval-recolor's figures of what a person sees: lightness match, patchiness, invisibility patches."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from plitka.analysis.measure import NOT_COUNTED, ColourSegmentation
from plitka.colour.spaces import lab_image
from plitka.evaluation.look import PATCH_PX, invisibility_patches, lightness_match, patchiness
from plitka.lock import Confidence, LockResult

SIDE = 256


def _segmentation(labels: np.ndarray) -> ColourSegmentation:
    return ColourSegmentation(("RED", "WHITE"), labels.astype(np.int8), np.zeros((2, 3), np.float32))


def test_a_colour_laid_in_clouds_is_patchier_than_the_same_share_scattered():
    rng = np.random.default_rng(0)
    scattered = (rng.random((SIDE, SIDE)) < 0.3).astype(np.int8)
    clouds = np.zeros((SIDE, SIDE), np.int8)
    clouds[:, : int(0.3 * SIDE)] = 1  # the same share, in one band
    assert patchiness(_segmentation(clouds)) > 5 * patchiness(_segmentation(scattered))
    assert patchiness(_segmentation(scattered)) < 0.1


def test_patchiness_leaves_uncounted_pixels_out():
    labels = np.zeros((SIDE, SIDE), np.int8)
    labels[::2] = 1
    with_gaps = labels.copy()
    with_gaps[:, : SIDE // 2 : 2] = NOT_COUNTED  # gaps over the left half, across both colours alike
    # rows alternate colours: every block holds both, half and half, wherever the gaps are
    assert patchiness(_segmentation(labels)) < 0.01
    assert patchiness(_segmentation(with_gaps)) < 0.01


def _locked(lightness_new: float, lightness_kept: float) -> LockResult:
    """Two regions of WHITE side by side: the left repainted, the right kept, each a flat grey with
    a ramp of +-5 L* across it."""
    regions = np.zeros((SIDE, SIDE), np.int32)
    regions[:, SIDE // 2 :] = 1
    ramp = np.linspace(-5, 5, SIDE // 2)[None, :]
    lab = np.zeros((SIDE, SIDE, 3), np.float32)
    lab[:, : SIDE // 2, 0] = lightness_new + ramp
    lab[:, SIDE // 2 :, 0] = lightness_kept + ramp
    rgb = np.clip(np.round(_lab_to_rgb(lab) * 255), 0, 255).astype(np.uint8)
    return LockResult(
        image=Image.fromarray(rgb),
        codes=("RED", "WHITE"),
        regions=regions,
        region_colour=np.array([1, 1]),
        repainted_regions=np.array([True, False]),
        repainted_share=50.0,
        confidence=Confidence(1.0, {}),
    )


def _lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)


def test_lightness_match_compares_repainted_pixels_with_the_colours_kept_pixels():
    locked = _locked(70.0, 85.0)
    (match,) = lightness_match(locked)
    measured = lab_image(np.asarray(locked.image))[..., 0]
    assert match.code == "WHITE"
    assert abs(match.median_difference - (np.median(measured[:, :128]) - np.median(measured[:, 128:]))) < 0.01
    assert abs(match.median_difference + 15) < 0.5
    assert abs(match.spread_ratio - 1.0) < 0.05


def test_invisibility_patches_lie_inside_one_kind_and_come_in_equal_numbers():
    locked = _locked(70.0, 85.0)
    patches, labels, colours = invisibility_patches(locked, np.random.default_rng(0))
    assert labels.count(0) == labels.count(1) > 0
    assert set(colours) == {1}
    side = round(PATCH_PX * SIDE / 1024)
    for patch, label in zip(patches, labels, strict=True):
        assert patch.shape[:2] == (max(4, side), max(4, side))
        mean_l = lab_image(np.ascontiguousarray(patch))[..., 0].mean()
        assert abs(mean_l - (70 if label else 85)) < 6
