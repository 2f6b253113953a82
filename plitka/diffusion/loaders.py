"""Builders of the diffusion models: each reads one configured source and returns torch modules.

torch, diffusers and transformers are imported here only, when a model is first built, so that the
service starts without them. Any failure becomes a WeightsError naming the setting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plitka.diffusion.sources import WeightsError, WeightSource, hub_cache, materialize

log = logging.getLogger("plitka.diffusion")

FP16_VARIANT = "fp16"
LORA_ADAPTER = "plitka"
# UNet config keys a ControlNet must share with its UNet (SD 1.5: 768 / none; SDXL: 2048 / text_time).
CONTROLNET_MATCH_KEYS = (
    "cross_attention_dim",
    "addition_embed_type",
    "addition_time_embed_dim",
    "projection_class_embeddings_input_dim",
    "block_out_channels",
)
ERROR_CHARS = 300  # a library's message is cut to this in our one-line errors
# Tiled VAE work in tiles of this many pixels a side. SDXL's VAE config says 1024 (its sample_size),
# which would tile nothing at the sizes we render; a 512 tile costs a quarter of a 1024 decode.
VAE_TILE_PIXELS = 512
# A trained weights tar (plitka.training) holds both adapters and a manifest; each setting takes the
# whole tar and reads its own member.
LORA_FILE = "lora.safetensors"
TI_FILE = "ti.safetensors"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Runtime:
    """Where the models live and how: fp16 on CUDA, fp32 on CPU; channels-last and torch.compile."""

    device: str
    dtype: Any
    channels_last: bool = False  # applied on CUDA only: it speeds up fp16 convolutions there
    compile: bool = False

    @property
    def variant(self) -> str | None:
        return FP16_VARIANT if self.device == "cuda" else None

    @property
    def uses_channels_last(self) -> bool:
        return self.channels_last and self.device == "cuda"

    def place(self, module: Any, compiled: bool = False) -> Any:
        """Move a model to the device in its memory format; `compiled`: also torch.compile it here.
        Module.compile() compiles in place, so the pipelines that share the module share the result."""
        import torch

        module.to(self.device)
        if self.uses_channels_last:
            module.to(memory_format=torch.channels_last)
        if compiled and self.compile:
            module.compile()
        return module


def pick_runtime(setting: str, channels_last: bool = True, compile: bool = False) -> Runtime:
    import torch

    quiet_libraries()
    if setting == "cuda" and not torch.cuda.is_available():
        raise WeightsError("PLITKA_DEVICE", "cuda was asked for but torch sees no CUDA device")
    device = "cuda" if setting == "cuda" or (setting == "auto" and torch.cuda.is_available()) else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    return Runtime(device, dtype, channels_last=channels_last, compile=compile)


def attention_backend(unet: Any) -> str:
    """The attention processor(s) the UNet runs, e.g. AttnProcessor2_0 (PyTorch SDPA)."""
    return ", ".join(sorted({type(processor).__name__ for processor in unet.attn_processors.values()}))


def quiet_libraries() -> None:
    """Progress bars and per-module warnings are noise in a server log."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


@dataclass
class SdxlBase:
    """SDXL's UNet, both text encoders with their tokenizers and the scheduler (the VAE is its own model)."""

    unet: Any
    text_encoder: Any
    text_encoder_2: Any
    tokenizer: Any
    tokenizer_2: Any
    scheduler: Any
    source: str
    applied: set[str] = field(default_factory=set)  # adapters already put into these modules


@dataclass(frozen=True)
class TextualInversion:
    clip_l: Any  # (tokens, 768) for text_encoder
    clip_g: Any  # (tokens, 1280) for text_encoder_2


@contextmanager
def load_errors(source: WeightSource, what: str) -> Iterator[None]:
    """Turn any library error while loading into one line naming the setting."""
    try:
        yield
    except WeightsError:
        raise
    except Exception as error:
        message = " ".join(str(error).split())[:ERROR_CHARS] or type(error).__name__
        raise source.fail(f"cannot load the {what}: {type(error).__name__}: {message}") from None


def _pretrained(
    cls: Any, location: str, source: WeightSource, runtime: Runtime, cache: Path | None, **kw: Any
) -> Any:
    """cls.from_pretrained in the runtime's dtype from safetensors only, the fp16 variant first on CUDA."""
    options = dict(
        revision=source.revision, cache_dir=cache, use_safetensors=True, torch_dtype=runtime.dtype, **kw
    )
    if runtime.variant:
        try:
            return cls.from_pretrained(location, variant=runtime.variant, **options)
        except (OSError, ValueError):
            log.info("%s: no %s variant, loading the full-precision files", source.setting, runtime.variant)
    return cls.from_pretrained(location, **options)


def load_base(source: WeightSource, runtime: Runtime, cache_dir: Path | None) -> SdxlBase:
    from diffusers import EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    cache = hub_cache(cache_dir)
    with load_errors(source, "SDXL base"):
        location = materialize(source, cache_dir)
        base = SdxlBase(
            unet=_pretrained(UNet2DConditionModel, location, source, runtime, cache, subfolder="unet"),
            text_encoder=_pretrained(
                CLIPTextModel, location, source, runtime, cache, subfolder="text_encoder"
            ),
            text_encoder_2=_pretrained(
                CLIPTextModelWithProjection,
                location,
                source,
                runtime,
                cache,
                subfolder="text_encoder_2",
            ),
            tokenizer=CLIPTokenizer.from_pretrained(
                location, subfolder="tokenizer", revision=source.revision, cache_dir=cache
            ),
            tokenizer_2=CLIPTokenizer.from_pretrained(
                location, subfolder="tokenizer_2", revision=source.revision, cache_dir=cache
            ),
            scheduler=EulerDiscreteScheduler.from_pretrained(
                location, subfolder="scheduler", revision=source.revision, cache_dir=cache
            ),
            source=source.describe(),
        )
        if base.unet.config.get("addition_embed_type") != "text_time":
            raise source.fail("this is not an SDXL model (its UNet has no text_time embedding)")
        runtime.place(base.unet, compiled=True)
        runtime.place(base.text_encoder)
        runtime.place(base.text_encoder_2)
    return base


def load_vae(source: WeightSource, runtime: Runtime, cache_dir: Path | None, subfolder: str | None) -> Any:
    from diffusers import AutoencoderKL

    with load_errors(source, "VAE"):
        location = materialize(source, cache_dir)
        vae = _pretrained(AutoencoderKL, location, source, runtime, hub_cache(cache_dir), subfolder=subfolder)
        return runtime.place(vae)


def load_controlnet(source: WeightSource, unet: Any, runtime: Runtime, cache_dir: Path | None) -> Any:
    """A ControlNet, refused before its weights load if it was made for another UNet than `unet`."""
    from diffusers import ControlNetModel

    cache = hub_cache(cache_dir)
    with load_errors(source, "ControlNet"):
        location = materialize(source, cache_dir)
        config = ControlNetModel.load_config(location, revision=source.revision, cache_dir=cache)
        check_controlnet_fits(source, config, dict(unet.config))
        controlnet = _pretrained(ControlNetModel, location, source, runtime, cache)
        return runtime.place(controlnet, compiled=True)


def check_controlnet_fits(source: WeightSource, controlnet: dict[str, Any], unet: dict[str, Any]) -> None:
    mismatches = [
        f"{key} {_plain(controlnet.get(key))} (the UNet has {_plain(unet.get(key))})"
        for key in CONTROLNET_MATCH_KEYS
        if _plain(controlnet.get(key)) != _plain(unet.get(key))
    ]
    if mismatches:
        raise source.fail(
            "this ControlNet was made for another UNet than the SDXL base it must drive: "
            + "; ".join(mismatches)
            + ". An SD 1.5 ControlNet cannot drive SDXL: configure an SDXL ControlNet"
        )


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def load_tensors(source: WeightSource, what: str, cache_dir: Path | None, member: str) -> dict[str, Any]:
    """The tensors of a single .safetensors file (a LoRA or a Textual Inversion): the file, `member` of
    a folder or a trained weights tar, or a folder's only .safetensors file."""
    from safetensors.torch import load_file

    with load_errors(source, what):
        path = Path(materialize(source, cache_dir))
        if path.is_dir() and (path / member).is_file():
            path = path / member
        elif path.is_dir():
            files = sorted(path.glob("*.safetensors"))
            if len(files) != 1:
                raise source.fail(
                    f"the folder must hold exactly one .safetensors file, it holds {len(files)}"
                )
            path = files[0]
        if path.suffix != ".safetensors":
            raise source.fail("only .safetensors files are loaded (pickled weights can run code)")
        return load_file(path)


def load_textual_inversion(
    source: WeightSource, cache_dir: Path | None, tokens: tuple[str, ...]
) -> TextualInversion:
    tensors = load_tensors(source, "Textual Inversion", cache_dir, TI_FILE)
    missing = [key for key in ("clip_l", "clip_g") if key not in tensors]
    if missing:
        raise source.fail(
            f"the file lacks {', '.join(missing)}; it has {', '.join(sorted(tensors)) or 'nothing'}"
        )
    for key in ("clip_l", "clip_g"):
        if tensors[key].ndim != 2 or tensors[key].shape[0] != len(tokens):
            raise source.fail(
                f"{key} must have one row per token {''.join(tokens)}: shape ({len(tokens)}, width), "
                f"got {tuple(tensors[key].shape)}"
            )
    return TextualInversion(clip_l=tensors["clip_l"], clip_g=tensors["clip_g"])


def apply_textual_inversion(
    pipe: Any, base: SdxlBase, ti: TextualInversion, tokens: tuple[str, ...], setting: str
) -> None:
    """Both tokens into both encoders (clip_l -> text_encoder, clip_g -> text_encoder_2), once per base."""
    if "ti" in base.applied:
        return
    pairs = (
        (ti.clip_l, pipe.text_encoder, pipe.tokenizer),
        (ti.clip_g, pipe.text_encoder_2, pipe.tokenizer_2),
    )
    for rows, encoder, tokenizer in pairs:
        width = encoder.get_input_embeddings().weight.shape[1]
        if rows.shape[1] != width:
            raise WeightsError(
                setting, f"embedding width {rows.shape[1]} does not fit the text encoder's {width}"
            )
        pipe.load_textual_inversion(
            list(rows.to(encoder.dtype)), token=list(tokens), text_encoder=encoder, tokenizer=tokenizer
        )
    base.applied.add("ti")


def apply_lora(pipe: Any, base: SdxlBase, state: dict[str, Any], source: WeightSource) -> None:
    """The product's LoRA into the shared UNet (and text encoders if it has them), once per base."""
    if "lora" in base.applied:
        return
    with load_errors(source, "LoRA"):
        pipe.load_lora_weights(dict(state), adapter_name=LORA_ADAPTER)
    base.applied.add("lora")


def img2img_pipeline(base: SdxlBase, vae: Any) -> Any:
    from diffusers import StableDiffusionXLImg2ImgPipeline

    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=vae,
        text_encoder=base.text_encoder,
        text_encoder_2=base.text_encoder_2,
        tokenizer=base.tokenizer,
        tokenizer_2=base.tokenizer_2,
        unet=base.unet,
        scheduler=base.scheduler,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def controlnet_pipeline(pipe: Any, controlnet: Any) -> Any:
    """A view over `pipe`: the very same UNet, VAE and text encoders, plus the ControlNet."""
    from diffusers import StableDiffusionXLControlNetImg2ImgPipeline

    # from_pipe casts every module to its dtype argument, fp32 when none is given: the shared fp16
    # models would all turn fp32 (twice the VRAM, half the speed; seen on an H200).
    view = StableDiffusionXLControlNetImg2ImgPipeline.from_pipe(pipe, controlnet=controlnet, dtype=pipe.dtype)
    view.set_progress_bar_config(disable=True)
    return view


@contextmanager
def degraded(pipe: Any, mode: str, device: str) -> Iterator[None]:
    """Run the block with less memory: 'tiled' decodes the VAE in tiles and slices, 'offload' also keeps
    each model on the CPU until it runs. The pipeline is put back as it was afterwards (its modules are
    shared with the other views)."""
    if mode == "normal":
        yield
        return
    vae = pipe.vae
    configured = vae.tile_sample_min_size, vae.tile_latent_min_size
    vae.enable_tiling()
    vae.enable_slicing()
    vae.tile_sample_min_size, vae.tile_latent_min_size = VAE_TILE_PIXELS, VAE_TILE_PIXELS // 8
    try:
        if mode == "offload":
            pipe.enable_model_cpu_offload(device=device)
        yield
    finally:
        if mode == "offload":
            pipe.remove_all_hooks()
            pipe.to(device)
        vae.disable_tiling()
        vae.disable_slicing()
        vae.tile_sample_min_size, vae.tile_latent_min_size = configured
