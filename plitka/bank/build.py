"""Light a heap once with Mitsuba 3 (a physically based path tracer from PyPI; chosen for its wheels that
install in seconds and its AOV passes, which give crumb ids and depth aligned with the light) and keep
the buffers a request shades: crumb id, the light each pixel receives, its specular part, depth.

Light: a large soft area light a little off the camera plus a dim sky, as the reference photos' soft
frontal light; path depth 4, so crumbs shadow and light each other. Passes, all from the same
orthographic top view of the unit tile:
* ids and depth: Mitsuba's `aov` integrator (triangle index -> crumb id, one sample per pixel, box filter);
* diffuse light: every crumb a grey diffuse of albedo LIGHT_ALBEDO (bounces between crumbs then carry
  about a mean crumb's albedo); stored divided by that albedo: the light the pixel receives;
* specular: rubber's dull sheen alone (rough plastic with no diffuse part).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from plitka.bank.geometry import Heap

LIGHT_ALBEDO = 0.35  # a mean crumb's linear albedo, for the bounces
BINDER_ALBEDO = 0.03
SHEEN_ROUGHNESS = 0.35  # GGX alpha of rubber's dull sheen
SHEEN_IOR = 1.5
LAMP_RADIANCE = 2.2
LAMP_OFFSET = (0.35, 0.45)  # the lamp's centre off the tile's, in tile sides
LAMP_HEIGHT = 1.6
LAMP_SIDE = 1.6
SKY_RADIANCE = 0.35
MAX_DEPTH = 4
LLVM_LIBRARY = "/usr/lib/x86_64-linux-gnu/libLLVM-19.so"  # Debian's libllvm19 (docs/bank.md)


def mitsuba():
    """Mitsuba with its LLVM back-end where Debian's libLLVM-19 is present, else the scalar one."""
    if Path(LLVM_LIBRARY).exists():
        os.environ.setdefault("DRJIT_LIBLLVM_PATH", LLVM_LIBRARY)
    import mitsuba as mi

    try:
        mi.set_variant("llvm_ad_rgb")
    except (ImportError, AttributeError, RuntimeError):
        mi.set_variant("scalar_rgb")
    return mi


def render_heap(heap: Heap, size: int, spp: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Buffers of `heap` seen from above at size x size: crumb (int32, -1 binder), light, specular,
    depth (float32, depth in tile sides below the pressed surface)."""
    mi = mitsuba()
    with tempfile.TemporaryDirectory() as folder:
        mesh_file = Path(folder) / "heap.ply"
        _write_ply(heap, mesh_file)
        ids, depth = _id_pass(mi, heap, mesh_file, size, seed)
        diffuse = _light_pass(
            mi,
            heap,
            mesh_file,
            size,
            spp,
            seed,
            {"type": "diffuse", "reflectance": {"type": "rgb", "value": [LIGHT_ALBEDO] * 3}},
        )
        sheen = _light_pass(
            mi,
            heap,
            mesh_file,
            size,
            spp,
            seed + 1,
            {
                "type": "roughplastic",
                "distribution": "ggx",
                "alpha": SHEEN_ROUGHNESS,
                "int_ior": SHEEN_IOR,
                "diffuse_reflectance": {"type": "rgb", "value": [0.0] * 3},
            },
        )
    albedo = np.where(ids >= 0, LIGHT_ALBEDO, BINDER_ALBEDO)
    return {
        "crumb": ids,
        "light": (diffuse / albedo).astype(np.float32),
        "specular": sheen.astype(np.float32),
        "depth": depth.astype(np.float32),
    }


def _write_ply(heap: Heap, path: Path) -> None:
    import trimesh

    mesh = trimesh.Trimesh(heap.vertices, heap.faces, process=False)
    path.write_bytes(trimesh.exchange.ply.export_ply(mesh, encoding="binary", vertex_normal=False))


def _scene(
    mi,
    heap: Heap,
    mesh_file: Path,
    size: int,
    integrator: dict,
    crumb_bsdf: dict,
    rfilter: str,
    binder: bool = True,
):
    shapes = {
        "type": "scene",
        "integrator": integrator,
        "sensor": {
            "type": "orthographic",
            "to_world": mi.ScalarTransform4f().look_at(
                origin=[0.5, 0.5, 1.0], target=[0.5, 0.5, 0.0], up=[0, 1, 0]
            )
            @ mi.ScalarTransform4f().scale([0.5, 0.5, 1]),
            "film": {
                "type": "hdrfilm",
                "width": size,
                "height": size,
                "rfilter": {"type": rfilter},
                "pixel_format": "rgb",
            },
            "sampler": {"type": "independent"},
        },
        "crumbs": {"type": "ply", "filename": str(mesh_file), "face_normals": True, "bsdf": crumb_bsdf},
        "binder": {
            "type": "rectangle",
            "to_world": mi.ScalarTransform4f().translate([0.5, 0.5, heap.binder_z])
            @ mi.ScalarTransform4f().scale(1.5),
            "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": [BINDER_ALBEDO] * 3}},
        },
        "lamp": {
            "type": "rectangle",
            "to_world": mi.ScalarTransform4f().look_at(
                origin=[0.5 + LAMP_OFFSET[0], 0.5 + LAMP_OFFSET[1], LAMP_HEIGHT],
                target=[0.5, 0.5, 0],
                up=[0, 1, 0],
            )
            @ mi.ScalarTransform4f().scale(LAMP_SIDE / 2),
            "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [LAMP_RADIANCE] * 3}},
        },
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": [SKY_RADIANCE] * 3}},
    }
    if not binder:
        del shapes["binder"]
    return mi.load_dict(shapes)


def _id_pass(mi, heap: Heap, mesh_file: Path, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Crumb ids and depth; the binder is left out of this pass, so a ray that misses (depth 0) saw binder.
    (Mitsuba's shape_index counts shapes across scenes, so it cannot tell the binder apart.)"""
    integrator = {"type": "aov", "aovs": "pi:prim_index,dd:depth"}
    scene = _scene(mi, heap, mesh_file, size, integrator, {"type": "diffuse"}, "box", binder=False)
    image = np.array(mi.render(scene, spp=1, seed=seed))[::-1]  # image rows from the top
    prim, depth = image[..., -2], image[..., -1]
    on_crumb = depth > 0
    faces = np.clip(np.rint(prim).astype(np.int64), 0, len(heap.face_crumb) - 1)
    ids = np.where(on_crumb, heap.face_crumb[faces], -1).astype(np.int32)
    below_top = np.where(on_crumb, depth - 1.0, -heap.binder_z)  # the camera looks down from z = 1
    return np.ascontiguousarray(ids), np.ascontiguousarray(below_top)


def _light_pass(mi, heap: Heap, mesh_file: Path, size: int, spp: int, seed: int, bsdf: dict) -> np.ndarray:
    scene = _scene(mi, heap, mesh_file, size, {"type": "path", "max_depth": MAX_DEPTH}, bsdf, "gaussian")
    return np.array(mi.render(scene, spp=spp, seed=seed))[..., :3].mean(axis=2)[::-1].copy()
