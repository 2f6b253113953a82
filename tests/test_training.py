"""Training on tiny random-weight SDXL models on the CPU: through coglet's /trainings, the CLI and the
ModelManager; and the earlier product's TI file through the product's loader."""

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests

from plitka.analysis.evaluate import read_labels
from plitka.cog_client import ROOT, decode, running_server
from plitka.diffusion import loaders
from plitka.diffusion.prompt import TI_TOKENS, build_prompt
from plitka.diffusion.sources import parse_source
from plitka.request import build_request
from plitka.service import TileService
from plitka.training.bundle import read_manifest
from plitka.training.synthetic import write_synthetic_set

EARLIER_TI = ROOT.parent / "shared" / "weights" / "rubber-tile-lora-v4_sdxl_embeddings.safetensors"
# Small enough for a shared CPU (a step takes about a second), large enough for the loss to move.
TINY_TRAINING = {"steps": 20, "batch_size": 1, "resolution": 128, "unet_lr": 1e-3, "ti_lr": 1e-2, "seed": 3}


@pytest.fixture(scope="module")
def labelled_set(tmp_path_factory) -> Path:
    """4 reference photos (../shared/reference-tiles) where present, else 4 synthetic labelled tiles."""
    from plitka.analysis.evaluate import DEFAULT_REFERENCE

    folder = tmp_path_factory.mktemp("labelled")
    if not (DEFAULT_REFERENCE / "labels.csv").is_file():
        return write_synthetic_set(folder, count=4)
    rows = [row for row in read_labels(DEFAULT_REFERENCE) if ";" in row["proportions"]]  # mixes, not singles
    chosen = rows[:: max(1, len(rows) // 4)][:4]
    lines = ["file,family,label_in_name,proportions,trust"]
    for row in chosen:
        (folder / row["file"]).parent.mkdir(parents=True, exist_ok=True)
        (folder / row["file"]).write_bytes((DEFAULT_REFERENCE / row["file"]).read_bytes())
        lines.append(
            ",".join(row[key] for key in ("file", "family", "label_in_name", "proportions", "trust"))
        )
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def _zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _data_uri(archive: bytes) -> str:
    return "data:application/zip;base64," + base64.b64encode(archive).decode()


def _check_weights(tar_path: Path, tiny_weights) -> dict:
    """The tar holds a loadable LoRA and TI; training lowered the fixed batch's loss and moved only the
    new tokens' rows."""
    manifest = read_manifest(tar_path)
    fixed = manifest["loss"]["fixed_batch"]
    assert fixed["after"] < fixed["before"], fixed
    for key in ("clip_l", "clip_g"):
        rows = manifest["textual_inversion"]["rows"][key]
        assert rows["other_rows_max_change"] == 0.0, rows
        assert min(rows["new_rows_max_change"]) > 0, rows
    with tarfile.open(tar_path) as tar:
        names = set(tar.getnames())
    assert {"lora.safetensors", "ti.safetensors", "manifest.json"} <= names
    assert manifest["steps"] == TINY_TRAINING["steps"] and manifest["base_model"].startswith("local:")
    assert "labels.csv" in manifest["captions"]["source"]
    _check_lora_loads_whole(tar_path, tiny_weights)
    return manifest


def _check_lora_loads_whole(tar_path: Path, tiny_weights) -> None:
    """Every LoRA layer in the tar (attention and conv2) reaches the UNet through the product's loader."""
    import torch
    from diffusers import StableDiffusionXLImg2ImgPipeline

    source = parse_source("PLITKA_LORA_SOURCE", str(tar_path))
    state = loaders.load_tensors(source, "LoRA", tar_path.parent / "cache", loaders.LORA_FILE)
    pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(tiny_weights.sdxl)
    encoders = (pipe.text_encoder, pipe.text_encoder_2, pipe.tokenizer, pipe.tokenizer_2)
    loaders.apply_lora(pipe, loaders.SdxlBase(pipe.unet, *encoders, pipe.scheduler, "test"), state, source)
    loaded = {
        name.replace(f".{loaders.LORA_ADAPTER}", ""): parameter
        for name, parameter in pipe.unet.named_parameters()
        if "lora_" in name
    }
    stored = {name.removeprefix("unet."): tensor for name, tensor in state.items()}
    assert sorted(loaded) == sorted(stored)
    assert any(".conv2." in name for name in stored) and any(".to_q." in name for name in stored)
    for name, tensor in stored.items():
        torch.testing.assert_close(loaded[name], tensor)


@pytest.mark.server
def test_training_through_coglet_trainings_writes_weights_that_change_the_prediction(
    tiny_weights, labelled_set, tmp_path
):
    environment = {**tiny_weights.environment(), "PLITKA_LORA_SOURCE": "", "PLITKA_TI_SOURCE": ""}
    with running_server(tmp_path, train=True, **environment) as url:
        out_of_bounds = requests.post(f"{url}/trainings", json={"input": {"input_images": "x", "steps": 0}})
        assert out_of_bounds.status_code == 422 and "steps" in out_of_bounds.text
        escaping = io.BytesIO()
        with zipfile.ZipFile(escaping, "w") as bundle:
            bundle.writestr("../labels.csv", "file,proportions\n")
        refused = requests.post(
            f"{url}/trainings", json={"input": {"input_images": _data_uri(escaping.getvalue())}}
        )
        assert refused.json()["status"] == "failed" and "input_images:" in refused.json()["error"]
        data = _data_uri(_zipped(labelled_set))
        response = requests.post(
            f"{url}/trainings", json={"input": {"input_images": data, **TINY_TRAINING}}, timeout=1800
        )
    body = response.json()
    assert response.status_code == 200 and body["status"] == "succeeded", (
        body.get("error"),
        body.get("logs"),
    )
    assert "fixed-batch loss: before" in body["logs"] and "validation at step 20" in body["logs"]
    tar_path = tmp_path / "weights.tar"
    tar_path.write_bytes(decode(body["output"]["weights"]))
    _check_weights(tar_path, tiny_weights)

    # The same prediction without and with the trained tar.
    request = build_request(
        "60% red, 40% white", quality="preview", engine="sdxl", seed=5,
        params_json=json.dumps({"overrides": {"resolution": 512, "steps": 4}}),
    )  # fmt: skip
    finals = {}
    for name, changes in {
        "without": {},
        "with": {"lora_source": str(tar_path), "ti_source": str(tar_path)},
    }.items():
        settings = tiny_weights.settings(
            work_dir=tmp_path / name, **{"lora_source": "", "ti_source": "", **changes}
        )
        service = TileService(settings)
        try:
            generation = service.start(request)
            outputs = list(service.generate(generation, service.new_output_folder()))
        finally:
            service.teardown()
        finals[name] = outputs[1].path.read_bytes()
        report = generation.report["diffusion"]
    assert finals["with"] != finals["without"]
    assert report["lora"] == report["textual_inversion"] == f"local:{tar_path}"


def test_plitka_train_cli_writes_the_same_tar(tiny_weights, labelled_set, tmp_path):
    out = tmp_path / "OUT.tar"
    options = [
        f"--{name.replace('_', '-')}={value}" for name, value in TINY_TRAINING.items() if name != "steps"
    ]
    environment = {**os.environ, **tiny_weights.environment(), "PLITKA_WORK_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "plitka.cli", "train", str(labelled_set), "--steps", "20"]
    finished = subprocess.run(
        [*command, "--out", str(out), *options], env=environment, capture_output=True, text=True, timeout=1800
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "step 20/20 loss" in finished.stdout
    _check_weights(out, tiny_weights)


def test_plitka_train_refuses_a_bad_input_naming_it(tmp_path):
    command = [sys.executable, "-m", "plitka.cli", "train", str(tmp_path), "--steps", "0"]
    finished = subprocess.run(
        [*command, "--out", str(tmp_path / "o.tar")], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2 and "steps: must be from 1 to 20000" in finished.stderr


def test_the_trainer_shares_the_model_manager_and_leaves_nothing_loaded(tiny_weights, labelled_set, tmp_path):
    """An idle predictor model is unloaded before the trainer's models are built; the trainer's models
    are unloaded when it ends; the engine builds again afterwards."""
    from plitka.training import TrainingService, build_config

    settings = tiny_weights.settings(work_dir=tmp_path)
    service = TileService(settings)
    manager = service.diffusion.manager
    try:
        manager.preload(["vae"])
        assert manager.stats()["loaded"] == ["vae"]
        trainer = TrainingService(settings, manager=manager, gate=service.diffusion.guard.gate)
        config = build_config(**{**TINY_TRAINING, "steps": 2, "validation_every": 0})
        trainer.train(labelled_set, config, tmp_path / "w.tar", progress=lambda line: None)
        assert manager.events["evicted_training"] == 1
        assert manager.events["evicted_trained"] == 1
        assert manager.stats()["loaded"] == [] and manager.references_in_use() == 0
    finally:
        service.teardown()


@pytest.mark.skipif(not EARLIER_TI.is_file(), reason=f"the earlier product's TI file is absent: {EARLIER_TI}")
def test_the_earlier_ti_file_loads_into_encoders_of_sdxl_sizes_and_its_tokens_map_to_its_rows(tiny_weights):
    import torch
    from diffusers import StableDiffusionXLImg2ImgPipeline
    from safetensors.torch import load_file
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from plitka.diffusion.tiny import VOCAB_SIZE

    def config(width: int, heads: int) -> CLIPTextConfig:  # SDXL's widths, two layers instead of 12 / 32
        ids = {"bos_token_id": VOCAB_SIZE - 2, "eos_token_id": VOCAB_SIZE - 1, "pad_token_id": VOCAB_SIZE - 1}
        return CLIPTextConfig(
            hidden_size=width,
            num_attention_heads=heads,
            intermediate_size=64,
            num_hidden_layers=2,
            vocab_size=VOCAB_SIZE,
            projection_dim=width,
            **ids,
        )

    pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(tiny_weights.sdxl)
    pipe.text_encoder = CLIPTextModel(config(768, 12))
    pipe.text_encoder_2 = CLIPTextModelWithProjection(config(1280, 20))
    encoders = (pipe.text_encoder, pipe.text_encoder_2, pipe.tokenizer, pipe.tokenizer_2)
    base = loaders.SdxlBase(pipe.unet, *encoders, pipe.scheduler, source="test")
    source = parse_source("PLITKA_TI_SOURCE", str(EARLIER_TI))
    ti = loaders.load_textual_inversion(source, None, TI_TOKENS)
    loaders.apply_textual_inversion(pipe, base, ti, TI_TOKENS, source.setting)

    stored = load_file(EARLIER_TI)
    prompt = build_prompt(build_request("60% red, 40% white"))
    for tokenizer, encoder, key in ((pipe.tokenizer, pipe.text_encoder, "clip_l"),
                                    (pipe.tokenizer_2, pipe.text_encoder_2, "clip_g")):  # fmt: skip
        ids = tokenizer(prompt).input_ids
        token_ids = tokenizer.convert_tokens_to_ids(list(TI_TOKENS))
        start = ids.index(token_ids[0])
        assert ids[start : start + 2] == token_ids  # the prompt's <s0><s1> are exactly the two new tokens
        rows = encoder.get_input_embeddings().weight[token_ids]
        assert rows.shape == (2, 768 if key == "clip_l" else 1280)
        torch.testing.assert_close(rows, stored[key].float())
