"""The colour lock paints only pictures of crumb: every picture in tests/noncrumb.py is declined, crumb
at several scales is not."""

from __future__ import annotations

import numpy as np
import pytest
from noncrumb import MAKERS, SIDES
from PIL import Image
from test_lock import render

from plitka.lock import LOCK_MIN_CONFIDENCE, lock_colours

ORDER = {"RED": 60, "WHITE": 40}


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_every_picture_that_is_not_crumb_is_declined_and_left_as_it_was(kind, side):
    picture = MAKERS[kind](side, np.random.default_rng(side))
    locked = lock_colours(picture, ORDER)
    assert locked.confidence.value < LOCK_MIN_CONFIDENCE, (kind, locked.confidence.describe())
    assert not locked.painted and "does not look like a crumb surface" in locked.reason
    assert np.array_equal(np.asarray(locked.image), picture)


@pytest.mark.parametrize(
    ("kind", "sign"), [("mosaic", "shading"), ("lattice", "shading"), ("noise", "coherence")]
)
def test_flat_art_fails_the_shading_sign_and_noise_the_coherence_sign(kind, sign):
    """Flat cells between edges are not a crumb's shaded facets; pixel noise has no shapes."""
    locked = lock_colours(MAKERS[kind](1024, np.random.default_rng(1)), ORDER)
    assert locked.confidence.signs[sign] == 0.0, locked.confidence.describe()


@pytest.mark.parametrize("size", [512, 1024, 1536])
def test_renders_of_crumb_at_several_sizes_are_crumb(size):
    picture, _ = render({"RED": 70, "WHITE": 30}, size=size)
    locked = lock_colours(picture, ORDER)
    assert locked.confidence.value >= 0.9, locked.confidence.describe()
    assert locked.painted


@pytest.mark.reference
@pytest.mark.parametrize("scale", [0.6, 1.0, 1.6])
def test_photos_of_crumb_at_several_scales_are_crumb(reference_tiles, scale):
    """Every fourth labelled photo, resized: customers' photos come at any size."""
    photos = sorted((reference_tiles / "photos").glob("*.jpg"))[::4]
    for path in photos:
        with Image.open(path) as opened:
            photo = opened.convert("RGB")
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)))
        locked = lock_colours(photo, ORDER)
        assert locked.painted, (path.name, scale, locked.confidence.describe())
