"""diffusers video VAE glue on diffusers' real classes built from tiny random configs (each < 1 s on CPU)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")

from test_video import clip  # noqa: E402
from tokbench.adapters.video_vae import CATALOG, DiffusersVideoVAE  # noqa: E402

from tokbench.errors import ConfigError  # noqa: E402
from tokbench.reconstruct import CallStats  # noqa: E402
from tokbench.registry import parse_model_spec  # noqa: E402
from tokbench.tokenizer import WeightsUnavailable  # noqa: E402
from tokbench.video.contract import FrameRule, pad_frames  # noqa: E402
from tokbench.video.reconstruct import reconstruct_clip  # noqa: E402
from tokbench.video.registry import build_video_model  # noqa: E402

# the project note's tiny configs (diffusers' own test configs); name -> (kwargs, side, expected frame step)
TINY: dict[str, tuple[dict[str, Any], int, int]] = {
    "wan2.1": ({"base_dim": 3, "z_dim": 16, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1}, 16, 4),
    "hunyuanvideo": (
        {"latent_channels": 4, "block_out_channels": [8] * 4, "layers_per_block": 1, "norm_num_groups": 4},
        16,
        4,
    ),
    "cogvideox-2b": (  # 4x in time, but TokBench's reference pads to 8n+1
        {"block_out_channels": [8] * 4, "latent_channels": 4, "layers_per_block": 1, "norm_num_groups": 2},
        16,
        8,
    ),
    "ltx-video": (
        {
            "latent_channels": 8,
            "block_out_channels": [8] * 4,
            "decoder_block_out_channels": [8] * 4,
            "layers_per_block": [1] * 5,
            "decoder_layers_per_block": [1] * 5,
            "spatio_temporal_scaling": [True, True, False, False],
            "decoder_spatio_temporal_scaling": [True, True, False, False],
            "decoder_inject_noise": [False] * 5,
            "upsample_residual": [False] * 4,
            "upsample_factor": [1] * 4,
            "patch_size": 1,
            "patch_size_t": 1,
        },
        16,
        4,
    ),  # fmt: skip
    "mochi": (
        {
            "latent_channels": 4,
            "encoder_block_out_channels": [32] * 4,
            "decoder_block_out_channels": [32] * 4,
            "layers_per_block": [1] * 5,
        },
        16,
        6,
    ),  # fmt: skip
    "cosmos-cv8x8x8": (
        {
            "latent_channels": 4,
            "encoder_block_out_channels": [8] * 4,
            "decode_block_out_channels": [8] * 4,
            "attention_resolutions": [8],
            "resolution": 64,
            "num_layers": 2,
            "patch_size": 4,
            "spatial_compression_ratio": 4,
            "temporal_compression_ratio": 4,
        },
        32,
        4,
    ),  # fmt: skip
}


def tiny(name: str, **kw: Any) -> DiffusersVideoVAE:
    vae = DiffusersVideoVAE(vae=name, config=TINY[name][0], **kw)
    vae.load()
    return vae


def raw_frames(vae: DiffusersVideoVAE, frames: np.ndarray) -> np.ndarray:
    """The diffusers class itself on a clip (no tokbench glue): [-1,1] in, mode latent, frames out."""
    x = torch.from_numpy(frames).permute(3, 0, 1, 2).float().div(127.5).sub(1)[None]
    with torch.no_grad():
        y = vae._model.decode(vae._model.encode(x).latent_dist.mode()).sample
    return y[0].permute(1, 2, 3, 0).add(1).mul(127.5).clamp(0, 255).round().to(torch.uint8).numpy()


def test_every_listed_class_has_a_tiny_config() -> None:
    assert {CATALOG[n].arch for n in TINY} == {row.arch for row in CATALOG.values()}


@pytest.mark.parametrize("name", list(TINY))
def test_frame_rule_pads_round_trips_and_never_drops(name: str) -> None:
    vae = tiny(name)
    step, side = TINY[name][2], TINY[name][1]
    assert vae.info.frames == FrameRule(step, 1)
    accepted = 1 + step
    over = accepted + 1  # the class alone would drop (or pad) frames here
    frames = clip(over, side, side)
    assert raw_frames(vae, frames).shape[0] != over, "the class respects any count: the rule is not needed"
    assert raw_frames(vae, frames[:accepted]).shape[0] == accepted
    with pytest.raises(ConfigError, match=f"{over} frames given"):
        vae.encode(torch.from_numpy(frames).permute(0, 3, 1, 2).float()[None] / 255)
    entry = reconstruct_clip(vae, frames, "c", "cpu", "fp32", CallStats())
    padded = vae.info.frames.padded(over)
    assert entry.padded == [padded] and entry.canvas_recon.shape == frames.shape  # every frame, no more
    # the glue (layout, range, last-frame padding, trimming) against the class run by hand on the padded clip
    reference = raw_frames(vae, pad_frames(frames, padded))[:over]
    assert np.abs(entry.canvas_recon.astype(int) - reference.astype(int)).max() <= 1
    latent = vae.encode(torch.from_numpy(pad_frames(frames, padded)).permute(0, 3, 1, 2).float()[None] / 255)
    assert entry.bits == latent.latents[0].numel() * 16


def test_mode_is_deterministic_sample_is_seeded_and_both_recorded() -> None:
    x = torch.from_numpy(clip(5, 16, 16)).permute(0, 3, 1, 2).float()[None] / 255
    mode = tiny("hunyuanvideo")
    assert torch.equal(mode.encode(x).latents, mode.encode(x).latents)
    assert mode.info.options["latent"] == "mode" and "seed" not in mode.info.options
    a, b = tiny("hunyuanvideo", latent="sample", seed=3), tiny("hunyuanvideo", latent="sample", seed=3)
    assert torch.equal(a.encode(x).latents, b.encode(x).latents)
    assert not torch.equal(a.encode(x).latents, mode.encode(x).latents)
    assert a.info.options["seed"] == 3
    with pytest.raises(ConfigError, match="latent must be"):
        DiffusersVideoVAE(vae="mochi", latent="mean")


def test_registry_names_record_hub_id_window_and_tiling(tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY["hunyuanvideo"][0]))
    vae = build_video_model(parse_model_spec(f"hunyuanvideo:config={cfg},tiling=true"))
    assert vae.info.window == 241  # TokBench's hunyuan_rec.py chunks
    vae.load()
    o = vae.info.options
    assert (o["hub_id"], o["subfolder"], o["tiling"], o["temporal_tiling"]) == (
        "hunyuanvideo-community/HunyuanVideo", "vae", True, True,
    )  # fmt: skip
    assert vae._model.use_tiling and vae.info.weights_source == "random init from config"
    assert build_video_model(parse_model_spec("wan2.2:window=17")).info.window == 17
    assert CATALOG["wan2.2"].spatial == 16 and build_video_model(parse_model_spec("wan2.2")).info.size_multiple == 16
    with pytest.raises(ConfigError, match="unknown"):
        DiffusersVideoVAE(vae="wan3")
    with pytest.raises(ConfigError, match="window"):
        DiffusersVideoVAE(vae="mochi", window=0)


def test_offline_missing_weights_name_the_hub_folder_and_fetch_command(tmp_path: Path) -> None:
    vae = DiffusersVideoVAE(vae="wan2.1", offline=True)
    with pytest.raises(WeightsUnavailable) as e:
        vae.load()
    msg = str(e.value)
    assert "Wan-AI/Wan2.1-T2V-1.3B-Diffusers/vae" in msg and "download Wan-AI/Wan2.1-T2V-1.3B-Diffusers" in msg
    assert "'vae/*'" in msg
    with pytest.raises(WeightsUnavailable, match="config.json not found"):
        DiffusersVideoVAE(vae="mochi", path=str(tmp_path)).load()


def test_a_tiny_vae_runs_end_to_end_with_its_rule_recorded(tmp_path: Path) -> None:
    from test_video_run import go, text_folder

    ann, folder = text_folder(tmp_path)
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY["hunyuanvideo"][0]))
    res = go(tmp_path, f"hunyuanvideo:config={cfg}", "recon", "video-folder", folder, limit=1)["recon"]
    video = res["extra"]["video"]
    assert video["frame_rule"] == "1 + 4k" and video["per_clip"][0]["padded_to"] == [9]
    info = res["model"]["info"]
    assert info["options"]["latent"] == "mode" and info["weights_source"] == "random init from config"
    assert info["options"]["hub_id"] == "hunyuanvideo-community/HunyuanVideo" and info["temporal_compression"] == 4
    assert 5 < res["metrics"]["psnr_pooled"] < 60  # random weights: a real, lossy reconstruction
