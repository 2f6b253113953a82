"""The floor in place (scene.md): the ordered surface as a seamless texture at true scale, laid on the
ground of a scene (playground, gym, terrace) or into the customer's own photo."""

from plitka.scene.outputs import scene_outputs
from plitka.scene.request import SCENE_CHOICES, SceneRequest, build_scene_request
from plitka.scene.texture import Texture, texture_from_layout

__all__ = [
    "SCENE_CHOICES",
    "SceneRequest",
    "Texture",
    "build_scene_request",
    "scene_outputs",
    "texture_from_layout",
]
