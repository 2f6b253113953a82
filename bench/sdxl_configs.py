"""Configs of the published full-size SDXL models, for building the architecture with random weights (bench
--gpu mode and memory calibration).

Written out by hand from the published ``config.json`` files. The private bookkeeping keys (``_class_name``,
``_diffusers_version``, ``_name_or_path``) and the text encoders' ``torch_dtype``/``transformers_version`` are
left out: they name where a file came from, not the architecture. Each function returns a fresh copy.

    UNet2DConditionModel.from_config(sdxl_unet_config())
    AutoencoderKL.from_config(sdxl_vae_config())
    ControlNetModel.from_config(controlnet_canny_sdxl_config())
    CLIPTextModel(CLIPTextConfig(**sdxl_text_encoder_config()))
    CLIPTextModelWithProjection(CLIPTextConfig(**sdxl_text_encoder_2_config()))

`python bench/sdxl_configs.py` prints each model's parameter count (built on the meta device: no
memory, no weights); plitka/diffusion/footprint.py's FULL_SIZE_PARAMETERS are these numbers.
"""

from __future__ import annotations

import copy
from typing import Any

# stabilityai/stable-diffusion-xl-base-1.0 unet/config.json (_diffusers_version 0.19.0.dev0)
_SDXL_UNET: dict[str, Any] = {
    "act_fn": "silu",
    "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256,
    "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280],
    "center_input_sample": False,
    "class_embed_type": None,
    "class_embeddings_concat": False,
    "conv_in_kernel": 3,
    "conv_out_kernel": 3,
    "cross_attention_dim": 2048,
    "cross_attention_norm": None,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "downsample_padding": 1,
    "dual_cross_attention": False,
    "encoder_hid_dim": None,
    "encoder_hid_dim_type": None,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_only_cross_attention": None,
    "mid_block_scale_factor": 1,
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "num_attention_heads": None,
    "num_class_embeds": None,
    "only_cross_attention": False,
    "out_channels": 4,
    "projection_class_embeddings_input_dim": 2816,
    "resnet_out_scale_factor": 1.0,
    "resnet_skip_time_act": False,
    "resnet_time_scale_shift": "default",
    "sample_size": 128,
    "time_cond_proj_dim": None,
    "time_embedding_act_fn": None,
    "time_embedding_dim": None,
    "time_embedding_type": "positional",
    "timestep_post_act": None,
    "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "upcast_attention": None,
    "use_linear_projection": True,
}

# stabilityai/stable-diffusion-xl-base-1.0 vae/config.json (_diffusers_version 0.20.0.dev0)
_SDXL_VAE: dict[str, Any] = {
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "force_upcast": True,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 1024,
    "scaling_factor": 0.13025,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}

# stabilityai/stable-diffusion-xl-base-1.0 text_encoder/config.json (CLIP ViT-L/14 text tower)
_SDXL_TEXT_ENCODER: dict[str, Any] = {
    "architectures": ["CLIPTextModel"],
    "attention_dropout": 0.0,
    "bos_token_id": 0,
    "dropout": 0.0,
    "eos_token_id": 2,
    "hidden_act": "quick_gelu",
    "hidden_size": 768,
    "initializer_factor": 1.0,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 77,
    "model_type": "clip_text_model",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 1,
    "projection_dim": 768,
    "vocab_size": 49408,
}

# stabilityai/stable-diffusion-xl-base-1.0 text_encoder_2/config.json (OpenCLIP ViT-bigG/14 text tower)
_SDXL_TEXT_ENCODER_2: dict[str, Any] = {
    "architectures": ["CLIPTextModelWithProjection"],
    "attention_dropout": 0.0,
    "bos_token_id": 0,
    "dropout": 0.0,
    "eos_token_id": 2,
    "hidden_act": "gelu",
    "hidden_size": 1280,
    "initializer_factor": 1.0,
    "initializer_range": 0.02,
    "intermediate_size": 5120,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 77,
    "model_type": "clip_text_model",
    "num_attention_heads": 20,
    "num_hidden_layers": 32,
    "pad_token_id": 1,
    "projection_dim": 1280,
    "vocab_size": 49408,
}

# diffusers/controlnet-canny-sdxl-1.0 config.json (checked: builds 1,251,014,160 params = 2,502,028,320
# fp16 bytes, its 2,502,139,136-byte diffusion_pytorch_model.fp16.safetensors less a ~110 KB header)
_CONTROLNET_CANNY_SDXL: dict[str, Any] = {
    "act_fn": "silu",
    "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256,
    "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280],
    "class_embed_type": None,
    "conditioning_channels": 3,
    "conditioning_embedding_out_channels": [16, 32, 96, 256],
    "controlnet_conditioning_channel_order": "rgb",
    "cross_attention_dim": 2048,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "downsample_padding": 1,
    "encoder_hid_dim": None,
    "encoder_hid_dim_type": None,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "global_pool_conditions": False,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "num_attention_heads": None,
    "num_class_embeds": None,
    "only_cross_attention": False,
    "projection_class_embeddings_input_dim": 2816,
    "resnet_time_scale_shift": "default",
    "transformer_layers_per_block": [1, 2, 10],
    "upcast_attention": None,
    "use_linear_projection": True,
}


def sdxl_unet_config() -> dict[str, Any]:
    return copy.deepcopy(_SDXL_UNET)


def sdxl_vae_config() -> dict[str, Any]:
    return copy.deepcopy(_SDXL_VAE)


def sdxl_text_encoder_config() -> dict[str, Any]:
    return copy.deepcopy(_SDXL_TEXT_ENCODER)


def sdxl_text_encoder_2_config() -> dict[str, Any]:
    return copy.deepcopy(_SDXL_TEXT_ENCODER_2)


def controlnet_canny_sdxl_config() -> dict[str, Any]:
    return copy.deepcopy(_CONTROLNET_CANNY_SDXL)


def parameter_counts() -> dict[str, int]:
    """Parameters of each full-size model, counted on the meta device."""
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    with torch.device("meta"):
        models = {
            "unet": UNet2DConditionModel.from_config(sdxl_unet_config()),
            "text_encoder": CLIPTextModel(CLIPTextConfig(**sdxl_text_encoder_config())),
            "text_encoder_2": CLIPTextModelWithProjection(CLIPTextConfig(**sdxl_text_encoder_2_config())),
            "vae": AutoencoderKL.from_config(sdxl_vae_config()),
            "controlnet": ControlNetModel.from_config(controlnet_canny_sdxl_config()),
        }
    return {name: sum(p.numel() for p in model.parameters()) for name, model in models.items()}


if __name__ == "__main__":
    for name, count in parameter_counts().items():
        print(f"{name:15s} {count:>13,}")
