"""Adapters over PyPI packages (diffusers autoencoders, transformers' Janus VQ), built from small
configs with random weights: shapes, ranges, mode vs sample, size multiples, bits, save/load."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from tokbench.registry import build_model, parse_model_spec
from tokbench.tokenizer import WeightsUnavailable

diffusers = pytest.importorskip("diffusers")

from tokbench.adapters.diffusers_vae import DiffusersVAE  # noqa: E402

KL = {
    "block_out_channels": [8, 16],
    "down_block_types": ["DownEncoderBlock2D"] * 2,
    "up_block_types": ["UpDecoderBlock2D"] * 2,
    "latent_channels": 4,
    "norm_num_groups": 8,
    "layers_per_block": 1,
    "sample_size": 32,
}
KL16 = {
    **KL,
    "block_out_channels": [8, 8, 16],
    "down_block_types": ["DownEncoderBlock2D"] * 3,
    "up_block_types": ["UpDecoderBlock2D"] * 3,
    "latent_channels": 16,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
TINY = {
    "encoder_block_out_channels": [8, 8],
    "decoder_block_out_channels": [8, 8],
    "num_encoder_blocks": [1, 1],
    "num_decoder_blocks": [1, 1],
    "latent_channels": 4,
}
DC = {
    "latent_channels": 8,
    "encoder_block_types": ["ResBlock", "EfficientViTBlock"],
    "decoder_block_types": ["ResBlock", "EfficientViTBlock"],
    "encoder_block_out_channels": [8, 16],
    "decoder_block_out_channels": [8, 16],
    "encoder_layers_per_block": [1, 1],
    "decoder_layers_per_block": [1, 1],
    "encoder_qkv_multiscales": [[], [5]],
    "decoder_qkv_multiscales": [[], [5]],
    "attention_head_dim": 8,
}


def images(n: int = 2, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(size + n))


def vae(family: str = "sd-vae", config: dict[str, Any] | None = None, **options: Any) -> DiffusersVAE:
    adapter = DiffusersVAE(family_name=family, config=config or KL, **options)
    adapter.load()
    return adapter


@pytest.mark.parametrize(
    "family,config,channels,factor",
    [("sd-vae", KL, 4, 2), ("flux-vae", KL16, 16, 4), ("taesd", TINY, 4, 2), ("dc-ae", DC, 8, 2)],
)
def test_shapes_and_determinism(family: str, config: dict[str, Any], channels: int, factor: int) -> None:
    adapter = vae(family, config)
    assert adapter.info.kind == "continuous" and adapter.info.size_multiple == factor
    x = images()
    enc = adapter.encode(x)
    assert enc.latents.shape == (2, channels, 32 // factor, 32 // factor)
    out = adapter.decode(enc)
    assert out.shape == x.shape and out.dtype == torch.float32
    torch.testing.assert_close(adapter.decode(adapter.encode(x)), out)  # mode: deterministic
    assert adapter.info.params == sum(p.numel() for p in adapter._model.parameters())


def test_standard_range_is_minus_one_to_one_and_paper_range_is_zero_to_one() -> None:
    seen: dict[str, tuple[float, float]] = {}
    for mode in ("standard", "paper"):
        adapter = vae(input_range=mode)
        encode = adapter._model.encode

        def spy(x: torch.Tensor, _mode: str = mode, _encode: Any = encode, **kw: Any) -> Any:
            seen[_mode] = (float(x.min()), float(x.max()))
            return _encode(x, **kw)

        adapter._model.encode = spy
        enc = adapter.encode(torch.linspace(0, 1, 2 * 3 * 32 * 32).reshape(2, 3, 32, 32))
        # the decoder's output is read in the same range: a zero output is mid-grey or black
        adapter._model.decode = lambda z, **kw: type("Out", (), {"sample": torch.zeros(2, 3, 32, 32)})()
        grey = float(adapter.decode(enc).mean())
        assert grey == (0.5 if mode == "standard" else 0.0)
    assert seen["standard"] == (-1.0, 1.0) and seen["paper"] == (0.0, 1.0)


def test_mode_vs_sample_and_seed() -> None:
    x = images()
    mode = vae().encode(x).latents
    s1 = vae(latent="sample", seed=1).encode(x).latents
    assert not torch.allclose(s1, mode)
    torch.testing.assert_close(vae(latent="sample", seed=1).encode(x).latents, s1)  # seeded: repeatable
    assert not torch.allclose(vae(latent="sample", seed=2).encode(x).latents, s1)
    paper = vae(input_range="paper")
    assert paper.info.options["latent"] == "sample" and paper.info.options["model_range"] == "[0,1]"
    assert vae(input_range="paper", latent="mode").info.options["latent"] == "mode"
    with pytest.raises(ValueError, match="deterministic"):
        DiffusersVAE(family_name="taesd", config=TINY, latent="sample")
    with pytest.raises(ValueError, match="latent must be"):
        DiffusersVAE(config=KL, latent="mean")
    with pytest.raises(ValueError, match="input_range"):
        DiffusersVAE(config=KL, input_range="0-1")


def test_size_multiple_is_enforced_and_declared() -> None:
    adapter = vae("flux-vae", KL16)
    assert adapter.info.canvas_size(30) == 32 and adapter.info.native_size is None
    with pytest.raises(ValueError, match="multiples of 4"):
        adapter.encode(images(1, 30))
    assert adapter.decode(adapter.encode(images(1, 36))).shape == (1, 3, 36, 36)  # non-square-power sizes


def test_bits_count_latent_values_times_latent_bits() -> None:
    x = images()
    assert vae().encode(x).bits.tolist() == [4 * 16 * 16 * 16.0] * 2
    assert vae(latent_bits=32).encode(x).bits.tolist() == [4 * 16 * 16 * 32.0] * 2
    assert vae(latent_bits=0).encode(x).bits is None


def test_save_pretrained_round_trip_through_path(tmp_path: Path) -> None:
    adapter = vae()
    folder = tmp_path / "repo" / "vae"  # a pipeline-style layout: path= finds the vae/ subfolder
    adapter._model.save_pretrained(folder)
    loaded = build_model(parse_model_spec(f"sd-vae:path={tmp_path / 'repo'}"))
    loaded.load()
    x = images()
    torch.testing.assert_close(loaded.decode(loaded.encode(x)), adapter.decode(adapter.encode(x)))
    weights = folder / "diffusion_pytorch_model.safetensors"
    assert loaded.info.weights_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert loaded.info.weights_source == str(tmp_path / "repo")


def test_config_json_through_the_registry(tmp_path: Path) -> None:
    cfg = tmp_path / "kl.json"
    cfg.write_text(json.dumps(KL))
    adapter = build_model(parse_model_spec(f"sdxl-vae:config={cfg},latent=sample,seed=4"))
    enc = adapter.encode(images(1))
    assert enc.latents.shape == (1, 4, 16, 16)
    assert adapter.info.weights_source == "random init from config" and adapter.info.options["seed"] == 4


def test_missing_weights_fail_fast_with_the_fetch_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    t = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as info:
        build_model(parse_model_spec("flux-vae:variant=schnell,offline=true")).load()
    assert time.perf_counter() - t < 10
    message = str(info.value)
    assert "black-forest-labs/FLUX.1-schnell" in message and "download black-forest-labs/FLUX.1-schnell" in message
    assert "--include 'vae/*'" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no diffusers traceback
    with pytest.raises(WeightsUnavailable, match="accept the licence"):
        build_model(parse_model_spec("sd3.5-vae")).load()  # gated repo: HF_HUB_OFFLINE=1 from conftest
    with pytest.raises(WeightsUnavailable, match="config.json not found"):
        build_model(parse_model_spec(f"taesd:path={tmp_path}")).load()
    with pytest.raises(ValueError, match="unknown option"):
        build_model(parse_model_spec("taesd:qualty=3"))


def test_janus_vq_from_config() -> None:
    pytest.importorskip("transformers")
    from tokbench.adapters.transformers_vq import JanusVQ

    cfg = {
        "embed_dim": 4,
        "num_embeddings": 64,
        "latent_channels": 32,
        "base_channels": 32,
        "channel_multiplier": [1, 1],
        "num_res_blocks": 1,
        "num_patches": 8,
        "projection_dim": 8,
        "image_token_embed_dim": 8,
    }
    adapter = JanusVQ(config=cfg)
    adapter.load()
    assert adapter.info.native_size == 16 and adapter.info.codebook_sizes == (64,)
    enc = adapter.encode(images(2, 16))
    assert enc.codes.shape == (2, 8, 8) and enc.codes.dtype == torch.int64
    assert enc.bits.tolist() == [64 * 6.0] * 2
    out = adapter.decode(enc)
    assert out.shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="takes 16x16"):
        adapter.encode(images(1, 32))
