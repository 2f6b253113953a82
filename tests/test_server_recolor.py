"""The Cog input `image` (re-colour a photo) through the real Cog HTTP server (coglet): a good
picture gives the four outputs; every kind of bad picture fails with one clear message naming
`image`, and the server keeps serving."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from noncrumb import lattice
from PIL import Image

from plitka.cog_client import decode, predict
from plitka.layout import build_layout
from plitka.render import render_tile

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(procedural_server):
    return procedural_server


@pytest.fixture(scope="module")
def crumb() -> Image.Image:
    """A 512 px close-up of crumb: the middle of a procedural render of 80% red, 20% white."""
    return render_tile(build_layout({"RED": 80, "WHITE": 20}, size=768, seed=4)).crop((128, 128, 640, 640))


def data_uri(picture: Image.Image | bytes, fmt: str = "PNG", **save: object) -> str:
    if isinstance(picture, bytes):
        payload, mime = picture, "application/octet-stream"
    else:
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **save)
        payload, mime = buffer.getvalue(), f"image/{fmt.lower()}"
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


def recolour(server: str, image: str) -> dict:
    return predict(server, colors="50% red, 50% white", image=image)


def test_a_photo_is_recoloured_into_the_mix(server, crumb):
    result = recolour(server, data_uri(crumb))
    assert result["status"] == "succeeded", result.get("error")
    preview, final, colormap, report = result["output"]
    assert Image.open(io.BytesIO(decode(preview))).size == (512, 512)
    assert Image.open(io.BytesIO(decode(final))).size == crumb.size
    assert Image.open(io.BytesIO(decode(colormap))).height == crumb.height
    report = json.loads(decode(report))
    assert report["engine"] == "recolor"
    assert report["measured_before_lock"]["RED"] > 70
    for code in ("RED", "WHITE"):
        assert report["measured"][code] == pytest.approx(50, abs=1.0)
    assert report["lock"]["painted"] and report["lock"]["repainted_percent"] > 10
    assert report["lock"]["confidence"]["value"] >= 0.5


def _cmyk(crumb: Image.Image) -> str:
    return data_uri(crumb.convert("CMYK"), "JPEG", quality=95)


def _sixteen_bit(crumb: Image.Image) -> str:
    grey = (np.asarray(crumb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    return data_uri(Image.fromarray(grey))  # a uint16 array is a 16-bit greyscale ("I;16") picture


def _opaque_alpha(crumb: Image.Image) -> str:
    return data_uri(crumb.convert("RGBA"))


@pytest.mark.parametrize("make", [_cmyk, _sixteen_bit, _opaque_alpha])
def test_cmyk_sixteen_bit_and_opaque_alpha_pictures_are_converted(server, crumb, make):
    result = recolour(server, make(crumb))
    assert result["status"] == "succeeded", result.get("error")


def _not_an_image(crumb: Image.Image) -> str:
    return data_uri(b"these are not the pixels you are looking for" * 20)


def _bomb(crumb: Image.Image) -> str:
    """36 megapixels of one bit: a few kilobytes of PNG that would decode to 100 MB of RGB."""
    return data_uri(Image.new("1", (6000, 6000)), optimize=True)


def _tiny(crumb: Image.Image) -> str:
    return data_uri(crumb.resize((200, 200)))


def _animated(crumb: Image.Image) -> str:
    buffer = io.BytesIO()
    crumb.save(buffer, "GIF", save_all=True, append_images=[crumb.rotate(90)], duration=100)
    return data_uri(buffer.getvalue())


def _transparent(crumb: Image.Image) -> str:
    rgba = crumb.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(crumb.size))
    return data_uri(rgba)


def _truncated(crumb: Image.Image) -> str:
    buffer = io.BytesIO()
    crumb.save(buffer, "JPEG", quality=90)
    return data_uri(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def _flat_graphic(crumb: Image.Image) -> str:
    picture = Image.new("RGB", (512, 512), (240, 240, 240))
    picture.paste((200, 60, 50), (0, 0, 512, 256))
    return data_uri(picture)


def _lattice(crumb: Image.Image) -> str:
    """A red lattice with white piping: edges everywhere, but flat between them."""
    return data_uri(Image.fromarray(lattice(640, np.random.default_rng(0))))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_not_an_image, "image: not an image"),
        (_bomb, "image: 6000x6000 is too large; at most 25 megapixels"),
        (_tiny, "image: 200x200 is too small; at least 256 px"),
        (_animated, "image: an animation"),
        (_transparent, "image: has transparent pixels"),
        (_truncated, "image: cannot be decoded"),
        (_flat_graphic, "image: does not look like a crumb surface"),
        (_lattice, "image: does not look like a crumb surface"),
    ],
)
def test_a_bad_image_fails_with_one_clear_message_and_the_server_keeps_serving(server, crumb, make, message):
    result = recolour(server, make(crumb))
    assert result["status"] == "failed"
    assert message in result["error"]
    assert "Traceback" not in result["error"]
    assert predict(server, colors="100% red", quality="preview")["status"] == "succeeded"
