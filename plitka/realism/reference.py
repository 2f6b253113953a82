"""Photos against renders of the same mixes: the pictures, matched in scale and JPEG, and the report.

* Photos: every labelled picture of the reference folder (labels.csv), its tile area only.
* Renders: each labelled mix at angle 0 with RENDER_SEEDS seeds, the tile area only, resized so that
  the colour field's correlation length (about a crumb's size) matches the photos' median, then
  saved as JPEG with the photos' own quantisation tables and chroma subsampling.
* Both sides, photos too, are then resized by WORKING_SCALE and saved through the photos' JPEG
  settings, so that the last resample and compression a picture went through is the same on both
  sides. Without it the test tells the photos from themselves: cropped and re-saved, 0.77; resized
  up to a render's size and back, 0.93 (docs/realism.md).
* Patches: PATCH_PX squares at random spots inside the tile, as many from the renders of a mix as
  from its photo. Each mix is one group: folds never share it.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, JpegImagePlugin

from plitka.analysis.evaluate import parse_proportions, read_labels
from plitka.colour.spaces import as_rgb_array, lab_image, palette_lab
from plitka.colour.tile import tile_mask
from plitka.layout import build_layout
from plitka.palette import PALETTE
from plitka.realism import features as feats
from plitka.realism import twosample
from plitka.render import render_tile

PATCH_PX = 64
PHOTO_PATCHES = 24  # per photo; each of its renders gives PHOTO_PATCHES / RENDER_SEEDS
RENDER_SEEDS = (1, 2)
RENDER_SIZE = 1024
SCALE_SIDE_PX = 384  # central square of a tile over which the correlation length is measured
GREY_CHROMA = 12.0  # Lab chroma below which a pixel's colour cannot be told (gaps, shadows)
WORKING_SCALE = 0.8  # of the photos' scale: every picture is resized to it, renders and photos alike

Renderer = Callable[[dict[str, float], int], Image.Image]


@dataclass(frozen=True)
class Picture:
    """One tile picture (tile area only, RGB) with its mix group and kind (0 photo, 1 render)."""

    name: str
    group: str
    kind: int
    rgb: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class RealismReport:
    test: twosample.TwoSampleResult
    control: twosample.TwoSampleResult
    groups: dict[str, float]
    top: list[dict]
    auc_range: tuple[float, float]
    scale: float
    patches: dict[str, int] = field(default_factory=dict)
    granule_size: float = 1.0  # renders' crumb size over the photos', each relative to its tile

    def to_dict(self) -> dict:
        return {
            "accuracy": self.test.to_dict(),
            "control": self.control.to_dict(),
            "group_accuracy": {name: round(value, 3) for name, value in self.groups.items()},
            "top_features": self.top,
            "feature_auc_range": [round(value, 3) for value in self.auc_range],
            "render_scale": round(self.scale, 3),
            "working_scale": WORKING_SCALE,
            "granule_size": round(self.granule_size, 3),
            "patches": self.patches,
        }

    def format_table(self) -> str:
        test, control = self.test, self.control
        lines = [
            f"patches: {self.patches}; renders resized by {self.scale:.3f} to the photos' granule scale,"
            f" then photos and renders alike by {WORKING_SCALE} and saved as JPEG",
            f"granule size on the tile, render / photo: {self.granule_size:.3f}",
            f"photo vs render: accuracy {test.accuracy:.3f} ± {test.accuracy_spread:.3f}, AUC {test.auc:.3f}"
            f" ({test.folds} folds, no mix in two folds)",
            f"control (render vs render, labels shuffled): accuracy {control.accuracy:.3f}"
            f" ± {control.accuracy_spread:.3f}",
            f"single-feature AUC range: {self.auc_range[0]:.3f} .. {self.auc_range[1]:.3f}",
            "",
            f"{'feature group':16} {'accuracy':>8}",
            *(f"{name:16} {value:8.3f}" for name, value in self.groups.items()),
            "",
            f"{'feature':24} {'AUC':>6} {'photo':>10} {'render':>10}",
            *(_top_line(row) for row in self.top),
        ]
        return "\n".join(lines)


def _top_line(row: dict) -> str:
    return f"{row['feature']:24} {row['auc']:6.3f} {row['photo_median']:10.4g} {row['render_median']:10.4g}"


def evaluate_realism(
    root: Path, renderer: Renderer | None = None, seed: int = 0, working_scale: float | None = WORKING_SCALE
) -> RealismReport:
    """The two-sample test of `renderer` (default: the procedural engine at angle 0) against the
    labelled photos under root. working_scale None leaves the photos as they are (the test before
    2026-12-01, kept to measure what that did: tools/realism_calibration.py)."""
    matched = matched_pictures(root, renderer, working_scale)
    report = compare(matched.photos, matched.renders, seed=seed, scale=matched.scale)
    return dataclasses.replace(report, granule_size=matched.granule_size)


@dataclass(frozen=True)
class Matched:
    """Photos and renders as the test compares them: matched in scale, ended by the same resize and JPEG."""

    photos: list[Picture]
    renders: list[Picture]
    scale: float  # the renders' resize to the photos' granule scale, before the last resize
    granule_size: float


def matched_pictures(
    root: Path, renderer: Renderer | None = None, working_scale: float | None = WORKING_SCALE
) -> Matched:
    """The labelled photos and `renderer`'s pictures of their mixes (RENDER_SEEDS each), tile areas only,
    renders at the photos' granule scale, then all of them resized by working_scale and saved through
    the photos' JPEG settings (working_scale None: the photos as they are, renders only JPEG'd)."""
    renderer = renderer or default_renderer
    renders = [
        _render_picture(row, renderer(parse_proportions(row["proportions"]), render_seed), render_seed)
        for row in read_labels(Path(root))
        for render_seed in RENDER_SEEDS
    ]
    return matched_to_photos(root, renders, working_scale)


def matched_to_photos(
    root: Path,
    renders: list[Picture],
    working_scale: float | None = WORKING_SCALE,
    scale: float | None = None,
) -> Matched:
    """The labelled photos under root and `renders` (any finished pictures of kind 1, such as the earlier
    product's outputs), matched as matched_pictures says; `scale` None: estimated from the pictures."""
    rows = read_labels(Path(root))
    photos = [_photo(Path(root), row) for row in rows]
    fitted, size = _granule_fit(photos, renders)
    scale = fitted if scale is None else scale
    jpeg = jpeg_settings(Path(root) / rows[0]["file"])
    last_resize = 1.0 if working_scale is None else working_scale
    if working_scale is not None:
        photos = [_as_photographed(picture, last_resize, *jpeg) for picture in photos]
    renders = [_as_photographed(picture, scale * last_resize, *jpeg) for picture in renders]
    return Matched(photos, renders, scale, size)


def photo_renderer(root: Path, upsample_to: int | None = None) -> Renderer:
    """The labelled photos themselves as a renderer (seed 2 mirrored), resized up to upsample_to px
    if given: what the test reads for pictures that are photos, its floor."""
    files = {
        frozenset(parse_proportions(row["proportions"]).items()): Path(root) / row["file"]
        for row in read_labels(Path(root))
    }

    def the_photo(mix: dict[str, float], seed: int) -> Image.Image:
        with Image.open(files[frozenset(mix.items())]) as photo:
            rgb = as_rgb_array(photo)
        if upsample_to:
            rgb = cv2.resize(rgb, (upsample_to, upsample_to), interpolation=cv2.INTER_CUBIC)
        return Image.fromarray(np.ascontiguousarray(rgb if seed == RENDER_SEEDS[0] else rgb[:, ::-1]))

    return the_photo


def compare(
    photos: list[Picture],
    renders: list[Picture],
    seed: int = 0,
    scale: float = 1.0,
    render_patches: int | None = None,
) -> RealismReport:
    """The report for pictures already matched in scale and compression; `render_patches` per render
    (default: as many from a mix's renders as from its photo)."""
    rng = np.random.default_rng(seed)
    per_render = render_patches or max(1, PHOTO_PATCHES // max(1, len(RENDER_SEEDS)))
    samples = [(p, PHOTO_PATCHES) for p in photos] + [(r, per_render) for r in renders]
    features, labels, groups, images = [], [], [], []
    for picture, count in samples:
        for patch in sample_patches(picture, count, rng):
            features.append(feats.patch_features(patch))
            labels.append(picture.kind)
            groups.append(picture.group)
            images.append(picture.name)
    features_array, labels_array = np.array(features), np.array(labels)
    groups_array, images_array = np.array(groups), np.array(images)
    aucs = twosample.feature_aucs(features_array, labels_array)
    rendered = labels_array == 1
    return RealismReport(
        test=twosample.classifier_test(features_array, labels_array, groups_array, seed),
        control=twosample.shuffled_control(
            features_array[rendered], images_array[rendered], groups_array[rendered], seed
        ),
        groups=twosample.group_accuracies(features_array, labels_array, groups_array),
        top=twosample.top_features(features_array, labels_array),
        auc_range=(float(aucs.min()), float(aucs.max())),
        scale=scale,
        patches={"photo": int((~rendered).sum()), "render": int(rendered.sum())},
    )


def default_renderer(mix: dict[str, float], seed: int) -> Image.Image:
    return render_tile(build_layout(mix, size=RENDER_SIZE, seed=seed), angle=0)


def sample_patches(picture: Picture, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`count` random PATCH_PX squares lying wholly on the tile."""
    kernel = np.ones((PATCH_PX, PATCH_PX), np.uint8)
    corners = cv2.erode(picture.mask.view(np.uint8), kernel, anchor=(0, 0), borderValue=0)
    ys, xs = np.nonzero(corners)
    if len(ys) == 0:
        return []
    chosen = rng.choice(len(ys), size=count, replace=len(ys) < count)
    return [
        picture.rgb[y : y + PATCH_PX, x : x + PATCH_PX] for y, x in zip(ys[chosen], xs[chosen], strict=True)
    ]


def granule_scale(photos: list[Picture], renders: list[Picture]) -> float:
    """Resize factor for renders: the photos' median correlation length of the colour field over the
    renders'. Only mixes of two or more colours count: a single colour has no colour field."""
    return _granule_fit(photos, renders)[0]


def granule_size(photos: list[Picture], renders: list[Picture]) -> float:
    """The renders' crumb size on the tile over the photos': the same correlation length, each divided
    by its tile's side (the square root of the tile's area). 1.0: crumbs as large on the tile."""
    return _granule_fit(photos, renders)[1]


def _granule_fit(photos: list[Picture], renders: list[Picture]) -> tuple[float, float]:
    """(granule_scale, granule_size), each picture's correlation length computed once."""
    mixed = [picture for picture in photos + renders if _chromatic_mix(picture.group)]
    lengths = {kind: np.array([_correlation_length(p) for p in mixed if p.kind == kind]) for kind in (0, 1)}
    if not len(lengths[0]) or not len(lengths[1]):
        return 1.0, 1.0
    sides = {kind: np.array([np.sqrt(p.mask.sum()) for p in mixed if p.kind == kind]) for kind in (0, 1)}
    scale = np.median(lengths[0]) / np.median(lengths[1])
    size = np.median(lengths[1] / sides[1]) / np.median(lengths[0] / sides[0])
    return float(scale), float(size)


def jpeg_settings(photo: Path) -> tuple[list, int]:
    """Quantisation tables and chroma subsampling of a reference photo."""
    with Image.open(photo) as image:
        return list(image.quantization.values()), JpegImagePlugin.get_sampling(image)


def tile_area(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tile's bounding box and its mask within it."""
    mask = tile_mask(rgb)
    ys, xs = np.nonzero(mask)
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return np.ascontiguousarray(rgb[box]), np.ascontiguousarray(mask[box])


def _photo(root: Path, row: dict[str, str]) -> Picture:
    with Image.open(root / row["file"]) as image:
        rgb, mask = tile_area(as_rgb_array(image))
    return Picture(row["file"], row["proportions"], 0, rgb, mask)


def _render_picture(row: dict[str, str], image: Image.Image, seed: int) -> Picture:
    rgb, mask = tile_area(as_rgb_array(image))
    return Picture(f"render {row['proportions']} seed {seed}", row["proportions"], 1, rgb, mask)


def _as_photographed(picture: Picture, scale: float, qtables: list, subsampling: int) -> Picture:
    """The picture resized by `scale`, through the photos' JPEG settings."""
    rgb = cv2.resize(picture.rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(picture.mask.view(np.uint8), rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", qtables=qtables, subsampling=subsampling)
    rgb = np.asarray(Image.open(buffer).convert("RGB"))
    return Picture(picture.name, picture.group, picture.kind, rgb, mask)


def _chromatic_mix(group: str) -> bool:
    """Two or more colours, at most one of them grey: a colour field chroma can see."""
    codes = list(parse_proportions(group))
    greys = sum(np.ptp(PALETTE[code].rgb) < GREY_CHROMA for code in codes)
    return len(codes) >= 2 and len(codes) - greys >= 2


def _correlation_length(picture: Picture) -> float:
    """Correlation length of the colour field: each pixel one-hot as the mix colour nearest to it in
    chroma (a, b), pixels too grey to tell (gaps, shadows) neutral, so shading barely matters."""
    height, width = picture.rgb.shape[:2]
    side = min(SCALE_SIDE_PX, height, width)
    top, left = (height - side) // 2, (width - side) // 2
    centre = picture.rgb[top : top + side, left : left + side]
    chroma = lab_image(centre)[..., 1:]
    codes = list(parse_proportions(picture.group))
    reference_chroma = palette_lab(codes)[:, 1:]
    nearest = np.linalg.norm(chroma[:, :, None, :] - reference_chroma, axis=3).argmin(axis=2)
    field = (nearest[..., None] == np.arange(max(3, len(codes)))).astype(np.float32)[..., :3]
    greyish = np.linalg.norm(chroma, axis=2) < GREY_CHROMA
    field[greyish] = field[~greyish].mean(axis=0)
    return feats.correlation_length(field)
