"""A complete tiny random-weight model set in diffusers layout, for tests, benchmarks and CPU demos.

SDXL architecture in miniature (UNet with text_time embedding, both CLIP text encoders and tokenizers,
an 8x VAE), an SDXL ControlNet, an SD 1.5-style ControlNet that must be refused, a UNet LoRA and a
Textual Inversion file with clip_l / clip_g rows for <s0><s1>. Written with the libraries' own save
functions, read back by the product's real loading code. Runs in well under a second per image on CPU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plitka.diffusion.prompt import TI_TOKENS
from plitka.settings import Settings

TEXT_WIDTH = 32  # hidden size of both tiny text encoders
VOCAB_SIZE = 514  # 256 byte symbols, the same with the word-end mark, start and end of text
SEED = 0


@dataclass(frozen=True)
class TinyWeights:
    folder: Path

    @property
    def sdxl(self) -> Path:
        return self.folder / "sdxl"

    @property
    def vae(self) -> Path:
        return self.folder / "vae"

    @property
    def controlnet(self) -> Path:
        return self.folder / "controlnet"

    @property
    def controlnet_sd15(self) -> Path:
        return self.folder / "controlnet-sd15"

    @property
    def lora(self) -> Path:
        return self.folder / "lora.safetensors"

    @property
    def ti(self) -> Path:
        return self.folder / "ti.safetensors"

    def environment(self) -> dict[str, str]:
        """PLITKA_* settings that point every model at this set."""
        return {
            "PLITKA_SDXL_SOURCE": str(self.sdxl),
            "PLITKA_VAE_SOURCE": str(self.vae),
            "PLITKA_CONTROLNET_CANNY_SOURCE": str(self.controlnet),
            "PLITKA_CONTROLNET_LINEART_SOURCE": str(self.controlnet),
            "PLITKA_CONTROLNET_SOFTEDGE_SOURCE": str(self.controlnet),
            "PLITKA_LORA_SOURCE": str(self.lora),
            "PLITKA_TI_SOURCE": str(self.ti),
            "PLITKA_DEVICE": "cpu",
        }

    def settings(self, **changes: Any) -> Settings:
        """Settings pointing every model at this set, with `changes` on top."""
        values = {name.removeprefix("PLITKA_").lower(): value for name, value in self.environment().items()}
        return Settings(**{**values, **changes})


def write_tiny_weights(folder: Path) -> TinyWeights:
    """Write the set into `folder` (created) and return where each part is. Deterministic."""
    import torch

    from plitka.diffusion.loaders import quiet_libraries

    quiet_libraries()
    weights = TinyWeights(Path(folder))
    weights.folder.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        _write_sdxl(weights)
        _write_controlnets(weights)
        _write_lora(weights)
        _write_ti(weights)
    return weights


def _unet():
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=64,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=80,  # 6 time ids x 8 + the pooled text width 32
        cross_attention_dim=64,  # both encoders' widths side by side
    )


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(16, 16, 32, 32),  # four levels: 8x down, as SDXL's
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=128,
    )


def _write_sdxl(weights: TinyWeights) -> None:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLImg2ImgPipeline
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    text = CLIPTextConfig(
        bos_token_id=VOCAB_SIZE - 2,
        eos_token_id=VOCAB_SIZE - 1,
        pad_token_id=VOCAB_SIZE - 1,
        hidden_size=TEXT_WIDTH,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=VOCAB_SIZE,
        projection_dim=TEXT_WIDTH,
    )
    tokenizer = _tokenizer(weights.folder / "tokenizer-files")
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=_vae(),
        text_encoder=CLIPTextModel(text),
        text_encoder_2=CLIPTextModelWithProjection(text),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=_unet(),
        scheduler=EulerDiscreteScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            steps_offset=1,
            timestep_spacing="leading",
        ),
    )
    pipe.save_pretrained(weights.sdxl, safe_serialization=True)
    _vae().save_pretrained(weights.vae, safe_serialization=True)  # a separate VAE, as the fp16-fix one


def _tokenizer(folder: Path):
    """A byte-level CLIP tokenizer with no merges: every character is a token. Written, not downloaded."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    vocab = {symbol: index for index, symbol in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def _byte_symbols() -> list[str]:
    """The printable stand-ins CLIP's byte-level BPE uses for the 256 byte values."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = iter(range(256, 512))
    return [chr(byte if byte in printable else next(extra)) for byte in range(256)]


def _write_controlnets(weights: TinyWeights) -> None:
    from diffusers import ControlNetModel

    unet = _unet()
    ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 8, 8, 8)).save_pretrained(
        weights.controlnet, safe_serialization=True
    )
    sd15 = ControlNetModel(  # no text_time embedding, 768-wide cross attention: an SD 1.5 ControlNet
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        attention_head_dim=(2, 4),
        cross_attention_dim=768,
        conditioning_embedding_out_channels=(8, 8, 8, 8),
    )
    sd15.save_pretrained(weights.controlnet_sd15, safe_serialization=True)


def _write_lora(weights: TinyWeights) -> None:
    import torch
    from diffusers import StableDiffusionXLImg2ImgPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = _unet()
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    with torch.no_grad():  # peft starts B at zero (no effect); random B makes the LoRA visible
        for name, parameter in unet.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.5)
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionXLImg2ImgPipeline.save_lora_weights(
        weights.folder, unet_lora_layers=layers, weight_name=weights.lora.name, safe_serialization=True
    )


def _write_ti(weights: TinyWeights) -> None:
    import torch
    from safetensors.torch import save_file

    rows = len(TI_TOKENS)
    save_file(
        {"clip_l": torch.randn(rows, TEXT_WIDTH), "clip_g": torch.randn(rows, TEXT_WIDTH)}, str(weights.ti)
    )
