"""The ordered surface laid on the ground of a scene, in perspective, at true scale.

A pinhole camera looks down at a ground plane; each pixel's ray meets the plane at a point in mm,
which picks the texture's pixel (repeated: the texture is periodic). Far away one pixel covers many
texture pixels, so the texture is read from a mip level whose pixel matches that footprint (two
levels blended), which keeps the distance free of moiré. The scenes are drawn here procedurally
(numpy and OpenCV): a playground, a gym, a terrace, each with its own light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from plitka.scene.texture import Texture

SCENE_SIZE = (1200, 800)  # width, height of a scene picture


@dataclass(frozen=True)
class Camera:
    height_mm: float  # above the ground
    pitch_deg: float  # downward tilt of the view
    fov_deg: float  # horizontal field of view


@dataclass(frozen=True)
class Ground:
    x_mm: np.ndarray  # (H, W) where each pixel's ray meets the ground; nan where it does not
    z_mm: np.ndarray  # distance along the view
    footprint_mm: np.ndarray  # ground size of a pixel there
    ray: np.ndarray  # (H, W, 3) unit ray directions (x right, y up, z forward)


def cast(camera: Camera, size: tuple[int, int] = SCENE_SIZE) -> Ground:
    width, height = size
    focal = width / 2 / np.tan(np.radians(camera.fov_deg) / 2)
    u, v = np.meshgrid(np.arange(width) + 0.5 - width / 2, np.arange(height) + 0.5 - height / 2)
    pitch = np.radians(camera.pitch_deg)
    forward = np.array([0.0, -np.sin(pitch), np.cos(pitch)])
    up = np.array([0.0, np.cos(pitch), np.sin(pitch)])
    ray = u[..., None] / focal * np.array([1.0, 0, 0]) - v[..., None] / focal * up + forward
    ray /= np.linalg.norm(ray, axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(ray[..., 1] < -1e-4, camera.height_mm / -ray[..., 1], np.nan)
    x, z = distance * ray[..., 0], distance * ray[..., 2]
    # A pixel's footprint: its angular size times the distance, stretched by the grazing angle.
    footprint = distance / focal / np.sqrt(np.maximum(-ray[..., 1], 1e-4))
    return Ground(x_mm=x, z_mm=z, footprint_mm=footprint, ray=ray)


def lay_texture(texture: Texture, ground: Ground) -> np.ndarray:
    """(H, W, 3) float32 texture colours where the ground is (0 elsewhere), mip-mapped."""
    return sample(texture, ground.x_mm, -ground.z_mm, ground.footprint_mm)


def sample(texture: Texture, x_mm: np.ndarray, y_mm: np.ndarray, footprint_mm: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 colours of the repeated texture at surface points (mm; nan: none, 0 there), each
    read from the mip level whose pixel is the size of its footprint (two levels blended)."""
    levels = _mip_levels(texture.pixels)
    wanted = np.log2(np.maximum(np.nan_to_num(footprint_mm, nan=1e9) / texture.mm_per_px, 1.0))
    wanted = np.minimum(wanted, len(levels) - 1)
    u = np.nan_to_num(x_mm / texture.mm_per_px)
    v = np.nan_to_num(y_mm / texture.mm_per_px)
    period = texture.pixels.shape[0]
    out = np.zeros((*u.shape, 3), np.float32)
    for index, level in enumerate(levels):
        weight = np.clip(1 - np.abs(wanted - index), 0, 1)
        if not weight.any():
            continue
        scale = period / level.shape[0]
        map_x = (np.mod(u, period) / scale - 0.5).astype(np.float32)
        map_y = (np.mod(v, period) / scale - 0.5).astype(np.float32)
        picked = cv2.remap(level, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        out += weight[..., None] * picked
    return np.where(np.isnan(x_mm)[..., None], 0, out)


def _mip_levels(pixels: np.ndarray) -> list[np.ndarray]:
    """Halvings of the periodic texture (its side a multiple of 64: every block lies within it)."""
    levels = [pixels.astype(np.float32)]
    while levels[-1].shape[0] % 2 == 0 and levels[-1].shape[0] > 4:
        side = levels[-1].shape[0] // 2
        levels.append(cv2.resize(levels[-1], (side, side), interpolation=cv2.INTER_AREA))
    # Past its period's size, a pixel covers the whole period: the mean colour.
    levels.append(np.broadcast_to(pixels.reshape(-1, 3).mean(0), (4, 4, 3)).astype(np.float32).copy())
    return levels


# --- the scenes -------------------------------------------------------------------------------------


def _vertical_gradient(height: int, width: int, top: tuple, bottom: tuple) -> np.ndarray:
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to((1 - t) * np.array(top) + t * np.array(bottom), (height, width, 3)).astype(
        np.float32
    )


def _smooth_noise(shape: tuple[int, int], sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return noise / (noise.std() + 1e-6)


def _wall_hit(ground: Ground, camera: Camera, distance_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each ray meets the vertical plane z = distance_mm: (height above ground, x), nan behind."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ground.ray[..., 2] > 1e-4, distance_mm / ground.ray[..., 2], np.nan)
    return camera.height_mm + t * ground.ray[..., 1], t * ground.ray[..., 0]


def _compose(floor: np.ndarray, light: np.ndarray, on_floor: np.ndarray, backdrop: np.ndarray) -> Image.Image:
    picture = np.where(on_floor[..., None], floor * light[..., None], backdrop)
    # A faint lens falloff and softness: the scene is a photo, not a diagram.
    height, width = on_floor.shape
    yy, xx = np.mgrid[0:height, 0:width]
    r = np.hypot((xx - width / 2) / width, (yy - height / 2) / height)
    picture = cv2.GaussianBlur(picture * (1 - 0.25 * r**2)[..., None], (0, 0), 0.6)
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))


def playground(texture: Texture, size: tuple[int, int] = SCENE_SIZE) -> Image.Image:
    """An outdoor play area: the surface to a fence 9 m away, trees and sky behind, afternoon sun with
    the fence's shadow and soft light."""
    camera = Camera(height_mm=1600, pitch_deg=11, fov_deg=62)
    ground = cast(camera, size)
    width, height = size
    fence_mm = 9000.0
    on_floor = np.nan_to_num(ground.z_mm, nan=np.inf) < fence_mm
    floor = lay_texture(texture, ground)
    sky = _vertical_gradient(height, width, (120, 165, 220), (215, 228, 240))
    wall_y, wall_x = _wall_hit(ground, camera, fence_mm)
    # trees: a ragged dark-green band above the fence
    tree_top = 2300 + 150 * _smooth_noise((1, width), 14, 5)[0] + 300 * _smooth_noise((1, width), 45, 4)[0]
    trees = (wall_y < tree_top[None, :]) & (wall_y > 0)
    leaf = 1 + 0.25 * _smooth_noise((height, width), 3, 6)[..., None]
    backdrop = np.where(trees[..., None], np.array([52, 88, 46], np.float32) * leaf, sky)
    # the fence: posts every 2.5 m, two rails, a green mesh
    posts = (np.abs(np.mod(wall_x, 2500) - 1250) > 1205) & (wall_y > 0) & (wall_y < 1300)
    rails = ((np.abs(wall_y - 1250) < 35) | (np.abs(wall_y - 150) < 30)) & (wall_y > 0)
    mesh = (
        (wall_y > 0)
        & (wall_y < 1250)
        & ((np.abs(np.mod(wall_x + wall_y, 60) - 30) < 3) | (np.abs(np.mod(wall_x - wall_y, 60) - 30) < 3))
    )
    backdrop = np.where(mesh[..., None], 0.55 * backdrop + 0.45 * np.array([40, 70, 50]), backdrop)
    backdrop = np.where((posts | rails)[..., None], np.array([35, 60, 45], np.float32), backdrop)
    # light: sun from the back left; the fence posts cast long shadows towards the camera
    x, z = np.nan_to_num(ground.x_mm), np.nan_to_num(ground.z_mm)
    shadow_x = x + (fence_mm - z) * 0.35  # where a point's shadow line meets the fence
    in_shadow = (np.abs(np.mod(shadow_x, 2500) - 1250) > 1190) & (z > fence_mm - 3800)
    light = 1.05 - 0.12 * np.clip(z / fence_mm, 0, 1) + 0.05 * _smooth_noise(on_floor.shape, 60, 7)
    light = np.where(in_shadow, light * 0.62, light)
    light = cv2.GaussianBlur(light.astype(np.float32), (0, 0), 2.5)
    return _compose(floor, light, on_floor, backdrop)


def gym(texture: Texture, size: tuple[int, int] = SCENE_SIZE) -> Image.Image:
    """A gym: the surface to a painted wall 7 m away with a skirting and wall bars, pools of light from
    ceiling lamps."""
    camera = Camera(height_mm=1500, pitch_deg=14, fov_deg=66)
    ground = cast(camera, size)
    wall_mm = 7000.0
    on_floor = np.nan_to_num(ground.z_mm, nan=np.inf) < wall_mm
    floor = lay_texture(texture, ground)
    wall_y, wall_x = _wall_hit(ground, camera, wall_mm)
    shade = 0.85 + 0.15 * np.clip(wall_y / 3000, 0, 1)
    wall = np.array([214, 210, 198], np.float32) * shade[..., None]
    wall = np.where((wall_y < 1200)[..., None], np.array([90, 120, 150], np.float32) * shade[..., None], wall)
    wall = np.where((np.abs(wall_y - 1200) < 25)[..., None], np.array([240, 240, 235], np.float32), wall)
    wall = np.where((wall_y < 120)[..., None], np.array([60, 60, 62], np.float32), wall)
    bars = (
        (np.abs(wall_x + 1500) < 1100)
        & (wall_y < 2700)
        & ((np.abs(np.mod(wall_x + 1500, 700) - 350) > 315) | (np.abs(np.mod(wall_y, 250) - 125) > 112))
    )
    wall = np.where(bars[..., None], np.array([150, 105, 60], np.float32) * shade[..., None], wall)
    x, z = np.nan_to_num(ground.x_mm), np.nan_to_num(ground.z_mm)
    light = 0.78 + sum(
        0.22 * np.exp(-((x - lx) ** 2 + (z - lz) ** 2) / (2 * 1800.0**2))
        for lx, lz in ((-2000, 3000), (2000, 3000), (0, 6200))
    )
    light = light * (1 - 0.18 * np.exp(-np.maximum(wall_mm - z, 0) / 300))  # dimmer where floor meets wall
    return _compose(floor, light.astype(np.float32), on_floor, wall)


def terrace(texture: Texture, size: tuple[int, int] = SCENE_SIZE) -> Image.Image:
    """A roof terrace: the surface to a glass railing 5 m away, a house wall on the left, a warm evening
    sky, the low sun through the railing."""
    camera = Camera(height_mm=1650, pitch_deg=13, fov_deg=60)
    ground = cast(camera, size)
    width, height = size
    edge_mm = 5000.0
    x, z = np.nan_to_num(ground.x_mm), np.nan_to_num(ground.z_mm, nan=np.inf)
    side_wall_mm = -2200.0
    on_floor = (z < edge_mm) & (x > side_wall_mm)
    floor = lay_texture(texture, ground)
    sky = _vertical_gradient(height, width, (110, 140, 190), (245, 200, 160))
    wall_y, wall_x = _wall_hit(ground, camera, edge_mm)
    hills = wall_y < camera.height_mm + 60 + 40 * _smooth_noise((1, width), 90, 9)[0][None, :]
    backdrop = np.where(hills[..., None], np.array([96, 104, 120], np.float32), sky)
    glass = (wall_y > 0) & (wall_y < 1100)
    backdrop = np.where(glass[..., None], 0.8 * backdrop + 0.2 * np.array([180, 210, 220]), backdrop)
    rail = (np.abs(wall_y - 1100) < 30) | ((np.abs(np.mod(wall_x, 1500) - 750) > 725) & glass)
    backdrop = np.where(rail[..., None], np.array([70, 70, 72], np.float32), backdrop)
    # the house wall on the left: the plane x = side_wall_mm
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ground.ray[..., 0] < -1e-4, side_wall_mm / ground.ray[..., 0], np.nan)
    side_y, side_z = camera.height_mm + t * ground.ray[..., 1], t * ground.ray[..., 2]
    on_side = (side_y > 0) & (side_z < edge_mm) & ~on_floor
    bricks = (np.abs(np.mod(side_y, 75) - 37.5) > 33) | (
        np.abs(np.mod(side_z + 125 * (np.mod(side_y // 75, 2)), 250) - 125) > 120
    )
    house = np.array([186, 150, 120], np.float32) * np.where(bricks, 0.8, 1.0)[..., None] * 0.75
    backdrop = np.where(on_side[..., None], house, backdrop)
    light = 1.08 - 0.1 * np.clip(z / edge_mm, 0, 1) + 0.25 * np.exp(-np.maximum(x - side_wall_mm, 0) / 400)
    light = light - 0.3 * np.exp(-np.maximum(x - side_wall_mm, 0) / 250)  # the corner's occlusion
    warm = np.array([1.03, 1.0, 0.95], np.float32)
    return _compose(floor * warm, np.nan_to_num(light).astype(np.float32), on_floor, backdrop)


SCENES: dict[str, Callable[[Texture, tuple[int, int]], Image.Image]] = {
    "playground": playground,
    "gym": gym,
    "terrace": terrace,
}
