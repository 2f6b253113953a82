"""Deliberate breakages of the code, each of which the tests named beside it must catch.

    .venv/bin/python tools/mutations.py              # every mutation, two at a time (--jobs)
    .venv/bin/python tools/mutations.py gate-queue   # some, by name
    .venv/bin/python tools/mutations.py --list
    .venv/bin/python tools/mutations.py --passed-in .ci-pytest.xml   # CI: after pytest --junitxml

A test's name is a promise: break what it guards and it must fail. Each mutation below replaces one
exact piece of the source with a broken one, in a copy of the working tree (the tree itself is never
written, so an interrupted run leaves nothing behind), and runs only its named tests there; every one
of them must fail. The named tests run once unmutated first and must pass; those that passed in the
junit report given with --passed-in (CI's own pytest run of this very tree) need not run again. A
mutation whose text is no
longer in the source (after a refactor) is an error: edit the list, do not let it rot. Exit status 0
when every mutation was caught.

Hand-kept rather than mutmut: a short list of breakages a reader recognises as real bugs runs in
minutes and names the test that must catch each, where a generated mutant set would take hours here.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # seconds per pytest run


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # relative to the repository root
    original: str  # must occur exactly once in the file
    broken: str
    tests: tuple[str, ...]  # pytest node ids; each must fail under the mutation
    what: str


MUTATIONS = (
    Mutation(
        "controlnet-view-fp32",
        "plitka/diffusion/loaders.py",
        "from_pipe(pipe, controlnet=controlnet, dtype=pipe.dtype)",
        "from_pipe(pipe, controlnet=controlnet)",
        ("tests/test_diffusion.py::test_the_controlnet_view_keeps_the_shared_models_in_half_precision",),
        "building the ControlNet view casts the shared fp16 models to fp32 (diffusers' default)",
    ),
    Mutation(
        "gate-queue",
        "plitka/governor/gate.py",
        "if self.in_flight >= self.slots or self.waiting:",
        "if self.in_flight >= self.slots:",
        ("tests/test_gate.py::test_try_enter_never_jumps_the_queue",),
        "try_enter takes a free slot although a request waits for it",
    ),
    Mutation(
        "configured-checksum",
        "plitka/diffusion/sources.py",
        "if source.sha256 and recorded != source.sha256:",
        "if False:",
        (
            "tests/test_sources.py::test_a_cached_file_is_downloaded_again_when_the_configured_checksum_changes",
        ),
        "the recorded checksum of a cached download is not compared with the configured one",
    ),
    Mutation(
        "cache-unverified",
        "plitka/diffusion/sources.py",
        "problem = _cache_problem(source, target)",
        "problem = None",
        ("tests/test_sources.py::test_url_without_checksum_records_one_and_detects_a_changed_cache",),
        "a cached download is used without checking it against its record",
    ),
    Mutation(
        "cache-no-rehash",
        "plitka/diffusion/sources.py",
        "if digest != recorded:",
        "if False:",
        ("tests/test_sources.py::test_a_same_size_change_with_its_mtime_put_back_is_caught_by_the_rehash",),
        "the first use in a process does not re-hash the cached file",
    ),
    Mutation(
        "offload-noop",
        "plitka/diffusion/loaders.py",
        "pipe.enable_model_cpu_offload(device=device)",
        "pass",
        ("tests/test_governed_generation.py::test_the_offload_mode_really_offloads_and_is_undone_after",),
        "the offload mode does not offload anything",
    ),
    Mutation(
        "cache-kept-after-generation",
        "plitka/governor/guard.py",
        'self.empty_cache("after generation")',
        "pass",
        ("tests/test_governed_generation.py::test_the_cache_is_emptied_after_every_generation",),
        "the allocator's cache is not emptied after a generation",
    ),
    Mutation(
        "auto-ignores-the-gpu",
        "plitka/governor/guard.py",
        'kind = "cuda" if devices.detect_gpu_without_torch() else "cpu"',
        'kind = "cpu"',
        ("tests/test_guard.py::test_auto_watches_the_gpu_where_nvml_sees_one",),
        "PLITKA_DEVICE=auto watches host memory even where NVML sees a GPU",
    ),
    Mutation(
        "family-mae-is-overall",
        "plitka/analysis/evaluate.py",
        "[r for r in self.files if r.family == name]",
        "list(self.files)",
        ("tests/test_analysis.py::test_evaluate_reference_set_report",),
        "each family's MAE is computed over every photo",
    ),
    Mutation(
        "shadow-of-another-colour",
        "plitka/colour/rays.py",
        "return np.where(is_shadow, nearest_shadow, labels)",
        "return labels",
        ("tests/test_analysis.py::test_deep_shadows_of_a_colour_are_not_read_as_black",),
        "a deep shadow of red is counted as a BLACK crumb",
    ),
    Mutation(
        "cheapest-takes-the-last-tie",
        "plitka/colour/rays.py",
        "better = cost[:, column] < best",
        "better = cost[:, column] <= best",
        ("tests/test_analysis.py::test_cheapest_colour_per_pixel_is_numpys_argmin_first_on_ties",),
        "a pixel equally near two colours goes to the later one, not the first as before",
    ),
    Mutation(
        "grey-gaps-counted",
        "plitka/analysis/measure.py",
        "return off_ray < np.hypot(pixels[:, 1], pixels[:, 2])",
        "return np.ones(len(pixels), dtype=bool)",
        ("tests/test_analysis.py::test_shaded_facets_of_a_hued_mix_count_and_grey_gaps_do_not",),
        "in a hued mix a grey gap as dark as a shaded facet is counted as colour",
    ),
    Mutation(
        "lock-counts-lit-only",
        "plitka/lock/lock.py",
        "    floor = shadow_floor(centres)\n",
        "    floor = SHADOW_SHADE\n",
        ("tests/test_lock.py::test_the_lock_counts_shaded_facets_of_a_hued_mix_as_the_measurement_does",),
        "the lock counts a hued mix's shaded facets as shadow while the measurement counts them as colour",
    ),
    Mutation(
        "border-blends-by-nearest-ray",
        "plitka/analysis/measure.py",
        "        label_map = _border_blends_by_share(label_map, rgb, centres)\n",
        "        pass\n",
        (
            "tests/test_analysis.py::"
            "test_border_blends_of_a_photo_like_render_go_to_the_colour_with_the_larger_part",
        ),
        "a blend of RED and BLUE along a border goes to BLUE, whose ray lies nearer, whatever its parts",
    ),
    Mutation(
        "dark-crumbs-keep-their-sheen",
        "plitka/lock/lock.py",
        "            _flatten_ranks(rank, labels, showing[index], "
        "(lit[index, 0] + 16) / (lit[:, 0].max() + 16))",
        "            pass",
        ("tests/test_lock.py::test_black_turned_white_measures_the_ordered_shares",),
        "a BLACK crumb painted WHITE keeps its sheen's full rank spread: mottled, with dark specks",
    ),
    Mutation(
        "repaint-keeps-old-shading",
        "plitka/lock/lock.py",
        "    lab_in = looks.painted(lab, regions.labels, looked, tile, colour)",
        "    lab_in = lab",
        ("tests/test_lock_look.py::test_red_crumbs_painted_white_are_as_light_as_the_pictures_own_whites",),
        "a repainted crumb keeps its old colour's shading: a red crumb painted WHITE reads grey",
    ),
    Mutation(
        "absent-colour-painted-flat",
        "plitka/lock/lock.py",
        "sources[index] if index in shown else _modelled(code, centres[index], factor)",
        "sources[index] if index in shown else flat_look(float(centres[index, 0]))",
        ("tests/test_lock_look.py::test_a_colour_the_picture_does_not_show_takes_the_palette_models_look",),
        "a colour the picture does not show is painted at one lightness, not by the palette's shading model",
    ),
    Mutation(
        "quota-moves-in-a-row",
        "plitka/lock/quota.py",
        "group[scattered_order(centroid[group], occupied)]",
        'group[np.argsort(centroid[group][:, 1], kind="stable")]',
        ("tests/test_lock_look.py::test_the_crumbs_that_change_are_spread_over_the_picture",),
        "the crumbs that change colour are taken left to right: the new colour comes in bands",
    ),
    Mutation(
        "insides-not-copied",
        "plitka/lock/lock.py",
        "moved = looked[tile] & np.isin(colour, shown)",
        "moved = looked[tile] & False",
        ("tests/test_lock_look.py::test_new_crumbs_take_the_inside_of_their_colours_own_crumbs",),
        "repainted crumbs keep the old crumb's pattern mapped by look: a white crumb turned red is flat",
    ),
    Mutation(
        "kept-crumb-lent-everywhere",
        "plitka/lock/texture.py",
        "pool = pool[lent[pool] < MAX_LENT]",
        "pool = pool[lent[pool] >= 0]",
        ("tests/test_lock_look.py::test_a_kept_crumb_lends_its_inside_to_at_most_two_new_crumbs",),
        "one kept crumb's inside is copied into every new crumb of its size: one crumb seen over and over",
    ),
    Mutation(
        "donor-pixels-of-another-colour-copied",
        "plitka/lock/texture.py",
        "(insides(labels, ids, interior) & ~stray)",
        "insides(labels, ids, interior)",
        ("tests/test_lock.py::test_black_turned_white_measures_the_ordered_shares",),
        "a white donor's deep shade, which reads BLACK, is copied into new whites: BLACK over the order",
    ),
    Mutation(
        "grey-strays-ignored",
        "plitka/lock/lock.py",
        "    strays = np.bincount(stray[stray >= 0], minlength=len(codes)).astype(np.float64)",
        "    strays = np.zeros(len(codes))",
        ("tests/test_lock.py::test_black_turned_white_measures_the_ordered_shares",),
        "the deep shade of kept white crumbs, which reads BLACK, is left out of the shares: BLACK reads high",
    ),
    Mutation(
        "pockets-counted",
        "plitka/analysis/measure.py",
        "bodiless[ids[depth > radius]] = False",
        "bodiless[:] = False",
        ("tests/test_analysis.py::test_dark_pockets_among_white_crumbs_are_not_black_crumbs",),
        "the dark pockets of the crevices among white crumbs are counted as BLACK crumbs",
    ),
    Mutation(
        "pair-hue-ignored",
        "plitka/analysis/measure.py",
        "return _decided_by_hue(label_map, shade_space, palette_centres, centres, pairs, floor)",
        "return label_map",
        ("tests/test_analysis.py::test_shaded_crumbs_of_a_pair_that_differs_in_hue_are_told_apart_by_hue",),
        "a lightness pair that differs in hue too (DKGREEN/LTGREEN) is decided by lightness per region only",
    ),
    Mutation(
        "enlarge-by-interpolation",
        "plitka/analysis/measure.py",
        "interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST",
        "interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR",
        ("tests/test_lock.py::test_a_small_locked_tile_measures_the_order_within_half_a_point[1]",),
        "a small tile is enlarged by interpolation, inventing blends along every border",
    ),
    Mutation(
        "host-heap-kept",
        "plitka/governor/devices.py",
        "            self._malloc_trim(0)",
        "            pass",
        ("tests/test_guard.py::test_the_host_device_gives_freed_heap_back_between_generations",),
        "on cpu the freed C heap is never given back between generations",
    ),
    Mutation(
        "crumbs-smaller-than-photos",
        "plitka/layout.py",
        "CRUMB_SPACING = 0.020",
        "CRUMB_SPACING = 0.016",
        ("tests/test_realism.py::test_our_crumbs_are_as_large_on_the_tile_as_in_the_photos",),
        "the layout's crumbs are 0.8x the photos' size on the tile, as before issue 13",
    ),
    Mutation(
        "renders-without-camera-softness",
        "plitka/render/procedural.py",
        "CAMERA_SOFTNESS = 1.0",
        "CAMERA_SOFTNESS = 0.0",
        ("tests/test_realism.py::test_our_renders_are_as_soft_as_the_photos_at_the_pixel_scale",),
        "the finished shades keep their pixel-sharp grain, as before the camera softness",
    ),
    Mutation(
        "renders-at-the-old-exposure",
        "plitka/render/procedural.py",
        "EXPOSURE = 0.35",
        "EXPOSURE = 0.25",
        ("tests/test_realism.py::test_our_renders_are_as_light_as_the_photos",),
        "the shading's overall lift as before the tone was matched: renders 3 L* darker than the photos",
    ),
    Mutation(
        "camera-softness-mixes-gaps-into-colours",
        "plitka/render/procedural.py",
        "    groups[levels < GAP_LEVEL] = 0\n",
        "",
        ("tests/test_render.py::test_gaps_between_crumbs_are_dark_not_grey",),
        "the softness averages gap shades with a colour's own shades: grey pixels between the two",
    ),
    Mutation(
        "photos-skip-the-renders-path",
        "plitka/realism/reference.py",
        "seed: int = 0, working_scale: float | None = WORKING_SCALE",
        "seed: int = 0, working_scale: float | None = None",
        ("tests/test_realism.py::test_a_photo_is_not_told_from_itself_through_the_renders_path",),
        "eval-realism leaves the photos as they are: the renders' last resize and JPEG alone give them away",
    ),
    Mutation(
        "new-borders-hard",
        "plitka/lock/repaint.py",
        "return _softened_borders(out, labels, changed, BORDER_SIGMA_PX * scale)",
        "return out",
        ("tests/test_lock.py::test_new_borders_are_soft_without_dark_seams",),
        "the lock leaves the borders between repainted neighbours as hard one-pixel steps",
    ),
    Mutation(
        "ragged-edge-frame-misses-a-side",
        "plitka/render/procedural.py",
        "return granules[:width], granules[-width:], middle[:, :width], middle[:, -width:]",
        "return granules[:width], granules[-width:], middle[:, :width]",
        (
            "tests/test_render.py::test_crumbs_reaching_inside_the_edge_band_are_found_from_the_band_alone[1]",
            "tests/test_render.py::test_crumbs_reaching_inside_the_edge_band_are_found_from_the_band_alone[2]",
        ),
        "the ragged edge counts three sides of the edge band: crumbs along the fourth seem to reach in",
    ),
    Mutation(
        "form-error-says-requesterror",
        "predict.py",
        "raise for_the_form(error) from None",
        "raise",
        ("tests/test_server.py::test_a_bad_input_reads_as_the_products_own_line",),
        "a bad input reaches the form as 'RequestError: colors: ...', coglet's rendering of the type",
    ),
    Mutation(
        "form-without-an-example-mix",
        "predict.py",
        "default=EXAMPLE_MIX,",
        "default=None,",
        (
            "tests/test_server.py::test_an_untouched_form_makes_the_example_tile",
            "tests/test_cog_schema.py::test_schema_carries_the_form_constraints",
        ),
        "colors has no default: Run on the untouched form fails",
    ),
    Mutation(
        "example-mix-contradicts-params-json",
        "plitka/request.py",
        "colors != EXAMPLE_MIX and ",
        "",
        (
            "tests/test_request.py::test_params_json_colours_replace_the_forms_example_mix",
            "tests/test_server.py::test_legacy_params_json",
        ),
        "colors left at the form's example mix is an error beside params_json's own colours",
    ),
    Mutation(
        "studio-misses-the-field-after-coglets-words",
        "plitka/studio/errors.py",
        "(?:error|failed|RequestError): ",
        "RequestError: ",
        ("tests/test_studio.py::test_prediction_error_names_its_field[after-coglets-words]",),
        "the studio shows an error without its field when no exception name precedes the product's line",
    ),
    Mutation(
        "measurement-imports-the-lock",
        "plitka/analysis/measure.py",
        "from plitka.colour.regions import REFERENCE_SIDE, crevices, segment_granules",
        "from plitka.colour.regions import REFERENCE_SIDE, crevices\n"
        "from plitka.lock.lock import segment_granules",
        ("tests/test_layers.py::test_measuring_and_recolouring_never_import_each_other[analysis-lock]",),
        "the measurement takes the granule regions from the lock again (works, through its re-export)",
    ),
    Mutation(
        "lock-imports-the-measurement",
        "plitka/lock/quality.py",
        "from plitka.colour.spaces import as_rgb_array, lab_image",
        "from plitka.analysis.measure import as_rgb_array, lab_image",
        ("tests/test_layers.py::test_measuring_and_recolouring_never_import_each_other[lock-analysis]",),
        "the lock's detail measure takes its pixel spaces from the measurement (works, through its imports)",
    ),
    Mutation(
        "colour-model-imports-the-measurement",
        "plitka/colour/tile.py",
        "from plitka.colour.spaces import as_rgb_array",
        "from plitka.analysis.measure import as_rgb_array",
        ("tests/test_layers.py::test_the_colour_model_imports_only_itself_and_the_palette",),
        "the tile mask, below both uses, imports one of them",
    ),
    Mutation(
        "confidence-without-shading",
        "plitka/lock/confidence.py",
        '        "shading": _score(shading_between_edges(lightness, on_tile), SHADING),\n',
        "",
        (
            "tests/test_lock_confidence.py::test_every_picture_that_is_not_crumb_is_declined_and_left_as_it_was[mosaic-1024]",
            "tests/test_lock_confidence.py::test_every_picture_that_is_not_crumb_is_declined_and_left_as_it_was[lattice-640]",
        ),
        "the confidence no longer asks whether the surfaces between edges are shaded: flat art is painted",
    ),
    Mutation(
        "confidence-without-coherence",
        "plitka/lock/confidence.py",
        '        "coherence": _score(detail_coherence(lightness, on_tile), COHERENCE),\n',
        "",
        (
            "tests/test_lock_confidence.py::test_every_picture_that_is_not_crumb_is_declined_and_left_as_it_was[noise-1024]",
        ),
        "the lock's confidence no longer asks whether the detail is made of shapes: pixel noise is painted",
    ),
    Mutation(
        "patchiness-counts-gaps",
        "plitka/evaluation/look.py",
        "    counted = flat != NOT_COUNTED\n",
        "    counted = flat == flat\n",
        ("tests/test_evaluation_look.py::test_patchiness_leaves_uncounted_pixels_out",),
        "the patchiness figure takes gaps and shadows as part of each block's area",
    ),
    Mutation(
        "lightness-match-against-every-pixel",
        "plitka/evaluation/look.py",
        "        kept = lightness[~repainted & (colour_map == index)]\n",
        "        kept = lightness[colour_map == index]\n",
        (
            "tests/test_evaluation_look.py::test_lightness_match_compares_repainted_pixels_with_the_colours_kept_pixels",
        ),
        "the lightness match compares repainted pixels with all of the colour's pixels, themselves included",
    ),
    Mutation(
        "order-wastage-ignored",
        "plitka/order/quantities.py",
        "rubber = laid * (1 + assumptions.wastage)",
        "rubber = laid",
        (
            "tests/test_order.py::test_order_of_120_m2_at_15_mm_in_60_40_red_white",
            "tests/test_order.py::test_order_of_four_colours_in_20_kg_bags",
        ),
        "the quantities leave out the wastage allowance",
    ),
    Mutation(
        "order-bags-without-the-float-guard",
        "plitka/order/quantities.py",
        "return math.ceil(round(kg / bag_kg, 6))",
        "return math.ceil(kg / bag_kg)",
        ("tests/test_order.py::test_a_whole_number_of_bags_is_not_rounded_up_to_one_more",),
        "350.00000000000006 kg is ordered as 15 bags of 25 kg instead of 14",
    ),
    Mutation(
        "order-bags-rounded-to-nearest",
        "plitka/order/quantities.py",
        "return math.ceil(round(kg / bag_kg, 6))",
        "return round(kg / bag_kg)",
        (
            "tests/test_order.py::test_order_of_four_colours_in_20_kg_bags",
            "tests/test_order.py::test_every_colour_of_a_tiny_order_gets_a_whole_bag",
        ),
        "bags are rounded to the nearest, not up: the order falls short",
    ),
    Mutation(
        "order-square-feet-not-converted",
        "plitka/order/quantities.py",
        'area_m2 = area / SQUARE_FEET_PER_M2 if unit == "ft2" else float(area)',
        "area_m2 = float(area)",
        (
            "tests/test_order.py::test_order_in_square_feet_with_parts_and_other_assumptions",
            "tests/test_server_order.py::test_square_feet_parts_and_set_assumptions",
        ),
        "an area in ft² is taken as m²",
    ),
    Mutation(
        "order-binder-share-ignored",
        "plitka/order/quantities.py",
        "laid, rubber, colours, rubber * assumptions.binder_share",
        "laid, rubber, colours, rubber * 0.2",
        ("tests/test_order.py::test_order_in_square_feet_with_parts_and_other_assumptions",),
        "the binder share set by the caller is ignored (always 20%)",
    ),
    Mutation(
        "parts-taken-as-percent",
        "plitka/request.py",
        "return [100 * value / total for value in values]",
        "return values",
        (
            "tests/test_request.py::test_parts_and_ratios_give_percent_of_their_total"
            "[2 parts red, 1 part white-expected0]",
            "tests/test_request.py::test_parts_and_ratios_give_percent_of_their_total"
            "[2:1 red/white-expected1]",
        ),
        "counts of parts are sent on as percent (2 parts red, 1 part white: refused as 3%)",
    ),
    Mutation(
        "ratio-not-recognised",
        "plitka/request.py",
        'if any(gap != ":" for gap in gaps):',
        "if True:",
        (
            "tests/test_request.py::test_parts_and_ratios_give_percent_of_their_total"
            "[2:1 red/white-expected1]",
        ),
        "'2:1 red/white' is not read as a ratio",
    ),
    Mutation(
        "parts-mixed-with-percent",
        "plitka/request.py",
        "if any(counted) and not all(counted):",
        "if False:",
        (
            "tests/test_request.py::test_bad_parts_are_refused_naming_colors"
            "[red 2 parts, white 1-every share in parts]",
        ),
        "'red 2 parts, white 1' is accepted as 2 parts and 1 part",
    ),
    Mutation(
        "share-code-check-ignored",
        "plitka/order/share.py",
        "if check != _check(body):",
        "if False:",
        (
            "tests/test_order.py::test_a_mistyped_character_is_caught_by_the_check",
            "tests/test_order.py::test_garbage_share_codes_are_refused_naming_the_code[RED60-WHITE40-A0-S7-QS-00]",
        ),
        "a share code with a mistyped character opens another tile",
    ),
    Mutation(
        "sheet-without-assumptions",
        "plitka/order/sheet.py",
        "return _lines(canvas, order.assumptions.describe(), y - 16)",
        "return y - 16",
        (
            "tests/test_order.py::test_sheet_command_writes_a_pdf_whose_text_holds_codes_shares_kg_bags_and_assumptions",
        ),
        "the spec sheet prints the quantities without the assumptions they rest on",
    ),
    Mutation(
        "api-order-dropped",
        "predict.py",
        "generation.order = order",
        "generation.order = None",
        ("tests/test_server_order.py::test_area_and_depth_put_the_order_in_the_report",),
        "the API takes area and depth but report.json has no order",
    ),
    Mutation(
        "studio-link-without-the-seed-used",
        "plitka/studio/static/order.js",
        "seed: String(report.seed)",
        "seed: String(input.seed)",
        ("tests/test_studio_order.py::test_a_studio_link_and_its_code_reopen_the_same_tile",),
        "a link made after a random seed (-1) carries -1, so it opens another tile",
    ),
    Mutation(
        "studio-parts-mode-sends-percent",
        "plitka/studio/static/order.js",
        "    if (!this.parts) return null;\n",
        "    return null;\n",
        ("tests/test_studio_order.py::test_parts_mode_steps_parts_and_snaps_to_halves_thirds_quarters",),
        "parts mode shows 2:1 but sends the sliders' rounded 66.5 / 33.5",
    ),
    Mutation(
        "api-sheet-not-returned",
        "predict.py",
        'if inputs.get("sheet"):',
        "if False:",
        ("tests/test_server_order.py::test_sheet_input_adds_the_pdf_as_a_fifth_output",),
        "the API takes sheet=true but returns only the four usual outputs",
    ),
    Mutation(
        "scene-texture-not-wrapped",
        "plitka/scene/texture.py",
        "out_pixels[:, :band][laid] = pixels[:, period : period + band][laid]",
        "pass",
        ("tests/test_scene.py::test_texture_repeats_without_a_seam",),
        "the scene texture is a plain crop: the crumbs crossing the period boundary are not laid in",
    ),
    Mutation(
        "room-shading-dropped",
        "plitka/scene/photo.py",
        "surface = sample(texture, x_mm, y_mm, footprint) * _shading(pixels, inside, corners)[..., None]",
        "surface = sample(texture, x_mm, y_mm, footprint)",
        ("tests/test_server_scene.py::test_scene_and_room_photo_come_after_the_four_outputs",),
        "the surface laid into the room photo ignores the photo's light and shadows",
    ),
    Mutation(
        "room-corners-convexity-unchecked",
        "plitka/scene/request.py",
        "if not ((turns > 0).all() or (turns < 0).all()):",
        "if not ((turns > 0).any() or (turns < 0).any()):",
        (
            "tests/test_scene.py::test_corners_must_make_a_fair_quadrilateral[corners0-convex]",
            "tests/test_scene.py::test_corners_must_make_a_fair_quadrilateral[corners1-convex]",
        ),
        "crossed or folded room corners are accepted",
    ),
    Mutation(
        "match-look-averaged-in-srgb",
        "plitka/match/match.py",
        "linear = _to_linear(np.array([palette[code].rgb for code in codes], np.float64) / 255)",
        "linear = np.array([palette[code].rgb for code in codes], np.float64) / 255",
        ("tests/test_match.py::test_the_look_of_a_mix_is_found_again",),
        "reverse match averages a mix's colours in sRGB, not in linear light",
    ),
    Mutation(
        "ciede2000-without-rotation",
        "plitka/match/match.py",
        "+ r_t * (dc / s_c) * (dhh / s_h)",
        "+ 0 * r_t * (dc / s_c) * (dhh / s_h)",
        ("tests/test_match.py::test_ciede2000_matches_the_published_pairs_and_scikit_image",),
        "CIEDE2000 without its blue-region rotation term",
    ),
    Mutation(
        "studio-room-corners-swapped",
        "plitka/studio/static/scene.js",
        "`${Math.round(x * width)},${Math.round(y * height)}`",
        "`${Math.round(y * height)},${Math.round(x * width)}`",
        ("tests/test_studio_scene_browser.py::test_scene_and_own_photo_with_dragged_corners",),
        "the studio sends the room corners as y,x instead of x,y",
    ),
    Mutation(
        "scene-ignores-the-final",
        "plitka/scene/outputs.py",
        "source = final if angle == 0 and final is not None and final.width == layout.size else None",
        "source = None",
        ("tests/test_server_scene.py::test_an_sdxl_scene_is_cut_from_the_diffused_final",),
        "the scene shows a fresh procedural render instead of the prediction's (diffused) final picture",
    ),
    Mutation(
        "bank-checksum-not-compared",
        "plitka/bank/store.py",
        'if not path.exists() or file_digest(path) != entry["sha256"]:',
        "if not path.exists():",
        ("tests/test_bank.py::test_a_corrupted_bank_is_refused",),
        "a bank heap whose file no longer matches its manifest's checksum is loaded anyway",
    ),
    Mutation(
        "bank-colours-not-balanced",
        "plitka/bank/shade.py",
        "colors = _balance_colors(areas, colors, fractions, rng).astype(np.int8)",
        "colors = colors.astype(np.int8)",
        (
            "tests/test_bank.py::test_bank_renders_hit_the_shares[mix0-0-1]",
            "tests/test_bank.py::test_bank_renders_hit_the_shares[mix3-90-4]",
        ),
        "a bank request colours its crumbs by a random draw alone: the shares are only roughly the requested",
    ),
    Mutation(
        "bank-lens-blur-back",
        "plitka/bank/shade.py",
        "rgb = _to_srgb(linear)  # no lens blur",
        "rgb = cv2.GaussianBlur(_to_srgb(linear), (0, 0), 0.5 * size / 1024)  # no lens blur",
        (
            "tests/test_bank.py::test_bank_renders_add_no_lens_blur[mix0-2]",
            "tests/test_bank.py::test_bank_renders_add_no_lens_blur[mix1-3]",
            "tests/test_bank.py::test_bank_renders_read_black_and_white_within_half_a_point[1]",
        ),
        "the bank softens its pictures as a lens would (0.5 px), which the photos do not show",
    ),
    Mutation(
        "bank-colour-light-about-one",
        "tools/bank_colour_light.py",
        "np.log(np.maximum(heap.light * exposure, 1e-6))) / exposure",
        "np.log(np.maximum(heap.light, 1e-6)))",
        ("tests/test_bank.py::test_the_colour_light_trial_powers_only_its_colours_light_about_an_open_top",),
        "the fifth pass's trial takes a colour's light to its power about light 1, not an open crumb top's",
    ),
    Mutation(
        "camera-edge-measured-along",
        "plitka/realism/camera.py",
        "across = np.stack([gy[ys, xs], gx[ys, xs]], axis=1)",
        "across = np.stack([gx[ys, xs], gy[ys, xs]], axis=1)",
        ("tests/test_camera_chain.py::test_a_blurred_edge_measures_wider_than_a_sharp_one",),
        "the camera chain's edge width steps along the edges instead of across them",
    ),
)


def copy_tree(target: Path) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored), without .venv and caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def failed_tests(tree: Path, tests: tuple[str, ...]) -> tuple[set[str], set[str], str]:
    """Run `tests` in `tree`; (failed node ids, passed node ids, the output's tail)."""
    report = tree / ".mutation-report.xml"
    report.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the copy's plitka, also in server subprocesses
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *tests,
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    failed, passed = set(), set()
    if report.is_file():
        for case in ElementTree.parse(report).iter("testcase"):
            name = case.get("name") or ""
            if case.find("failure") is not None:  # a setup error (an import, a fixture) proves nothing
                failed.add(name)
            elif case.find("skipped") is None and case.find("error") is None:
                passed.add(name)
    return failed, passed, (run.stdout + run.stderr)[-2000:]


def test_name(node: str) -> str:
    return node.split("::")[-1]


def passed_in(report: Path) -> set[str]:
    """The node ids (path::name) that passed in a junit report of a pytest run of this tree."""
    passed = set()
    for case in ElementTree.parse(report).iter("testcase"):
        if any(case.find(kind) is not None for kind in ("failure", "error", "skipped")):
            continue
        module = (case.get("classname") or "").split(".")
        # classname is the module's dotted path (plus a class, if any): tests.test_x -> tests/test_x.py
        path = "/".join(module[:2] if module[0] == "tests" else module[:1]) + ".py"
        passed.add(f"{path}::{case.get('name')}")
    return passed


def make_copy(folder: Path) -> Path:
    """A copy of the working tree in `folder` whose tests import the copy's plitka."""
    tree = folder / ROOT.name
    copy_tree(tree)
    shared = ROOT.parent / "shared"
    if shared.is_dir():  # the copy finds ../shared (the reference photos) as the tree does
        (folder / "shared").symlink_to(shared)
    probe = subprocess.run(
        [sys.executable, "-c", "import plitka; print(plitka.__file__)"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(probe).is_relative_to(tree), f"the copy's tests would import {probe}"
    return tree


def check(
    mutations: list[Mutation], passed_before: set[str] | frozenset[str] = frozenset(), jobs: int = 1
) -> bool:
    """Each mutation in a copy of the tree of its own worker; `jobs` workers, each with one copy."""
    with tempfile.TemporaryDirectory(prefix="plitka-mutations-") as folder:
        trees = []
        for number in range(max(1, min(jobs, len(mutations)))):
            (Path(folder) / str(number)).mkdir()
            trees.append(make_copy(Path(folder) / str(number)))
        copies: queue.Queue[Path] = queue.Queue()
        for tree in trees:
            copies.put(tree)
        named = tuple(dict.fromkeys(node for mutation in mutations for node in mutation.tests))
        tests = tuple(node for node in named if node not in passed_before)
        if len(tests) < len(named):
            print(f"unmutated: {len(named) - len(tests)} tests passed in the given report of this tree")
        if tests:
            start = time.monotonic()
            _, passed, tail = failed_tests(trees[0], tests)
            missing = {test_name(node) for node in tests} - passed
            if missing:
                print(f"unmutated: {', '.join(sorted(missing))} did not pass\n{tail}")
                return False
            print(f"unmutated: {len(tests)} tests pass ({time.monotonic() - start:.0f} s)", flush=True)

        def in_a_copy(mutation: Mutation) -> bool:
            tree = copies.get()
            try:
                return check_one(tree, mutation)
            finally:
                copies.put(tree)

        with ThreadPoolExecutor(max_workers=len(trees)) as pool:
            return all(list(pool.map(in_a_copy, mutations)))


def check_one(tree: Path, mutation: Mutation) -> bool:
    path = tree / mutation.path
    text = path.read_text()
    count = text.count(mutation.original)
    if count != 1:
        print(f"{mutation.name}: ERROR {mutation.original!r} occurs {count} times in {mutation.path}")
        return False
    start = time.monotonic()
    try:
        path.write_text(text.replace(mutation.original, mutation.broken))
        failed, _, tail = failed_tests(tree, mutation.tests)
    finally:
        path.write_text(text)
    survived = [node for node in mutation.tests if test_name(node) not in failed]
    seconds = time.monotonic() - start
    if survived:
        print(f"{mutation.name}: SURVIVED ({mutation.what}); still passing: {', '.join(survived)}\n{tail}")
        return False
    print(f"{mutation.name}: caught by {', '.join(mutation.tests)} ({seconds:.0f} s)", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and their tests")
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="mutations checked at once, each in its own copy of the tree (default 2: CI's two cores)",
    )
    parser.add_argument(
        "--passed-in",
        type=Path,
        metavar="JUNIT_XML",
        help="a junit report of a pytest run of this unchanged tree: its passed tests need no unmutated run",
    )
    args = parser.parse_args(argv)
    known = {mutation.name: mutation for mutation in MUTATIONS}
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown mutation(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[name] for name in args.names] or list(MUTATIONS)
    if args.list:
        for mutation in chosen:
            print(f"{mutation.name}: {mutation.what}\n  {mutation.path}\n  " + "\n  ".join(mutation.tests))
        return 0
    passed_before = passed_in(args.passed_in) if args.passed_in else frozenset()
    return 0 if check(chosen, passed_before, args.jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
