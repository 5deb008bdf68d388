"""``list_models`` and ``doctor``: every kind of missing piece is named with its fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from tokbench.doctor import Check, doctor, list_models, render
from tokbench.families.catalog import families
from tokbench.families.source import SourceTree

sys.path.insert(0, str(Path(__file__).parent))
from test_adapters_glue import GIGATOK, state_of, write_clone  # noqa: E402


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_list_models_covers_every_family_and_variant_without_importing_models() -> None:
    rows = list_models()
    assert {r["model"] for r in rows} == set(families())
    assert len(rows) == sum(len(f.variants) for f in families().values())
    gt = next(r for r in rows if r["spec"] == "gigatok:variant=XLXXL")
    assert gt["native_size"] == 256 and gt["tokens"] == 256 and gt["codebook_sizes"] == [16384]
    assert gt["bpp"] == pytest.approx(256 * 14 / 256**2) and gt["license"] == "MIT" and gt["layout"] == "1d"
    var = next(r for r in rows if r["spec"] == "var:variant=256")
    assert var["tokens"] == 680 and var["bits_per_image"] == pytest.approx(680 * 12)
    unitok = next(r for r in rows if r["model"] == "unitok")
    assert unitok["bits_per_image"] == pytest.approx(8 * 256 * 12)
    flux = next(r for r in rows if r["spec"] == "flux-vae:variant=dev")
    assert flux["kind"] == "continuous" and flux["bpp"] is None and flux["noncommercial"]
    assert not next(r for r in rows if r["spec"] == "flux-vae:variant=schnell")["noncommercial"]
    cosmos_ci = next(r for r in rows if r["spec"] == "cosmos:variant=CI8x8")
    assert cosmos_ci["kind"] == "continuous" and cosmos_ci["latent_channels"] == 16
    assert all(r["has_clone"] is None for r in rows if r["source"] != "clone")
    routes = {r["model"]: r["route"] for r in rows}
    assert (routes["sd-vae"], routes["janus-vq"], routes["gigatok"]) == ("diffusers hub", "transformers hub", "clone")


def test_listing_imports_neither_torch_nor_model_code() -> None:
    import subprocess

    # the adapter files are read (their catalog rows), so they must import nothing heavy at module level
    heavy = ("torch", "diffusers", "transformers", "safetensors")
    code = (
        "import sys; from tokbench.doctor import list_models; from tokbench.registry import MODELS; "
        "list_models(); MODELS.names(); "
        f"print([m for m in {heavy!r} if m in sys.modules], 'tokbench.adapters.gigatok' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] True"


def test_list_models_sees_clone_and_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKBENCH_SRC_GIGATOK", str(tmp_path))
    monkeypatch.setenv("TOKBENCH_WEIGHTS", str(tmp_path / "w"))
    (tmp_path / "w" / "gigatok").mkdir(parents=True)
    (tmp_path / "w" / "gigatok" / "VQ_SB256_e200.pt").write_bytes(b"x")
    rows = {r["spec"]: r for r in list_models()}
    assert rows["gigatok:variant=SB"]["has_clone"] and rows["gigatok:variant=SB"]["has_weights"]
    assert not rows["gigatok:variant=SS"]["has_weights"]
    monkeypatch.delenv("TOKBENCH_SRC_GIGATOK")
    assert not {r["spec"]: r for r in list_models()}["gigatok:variant=SB"]["has_clone"]


def test_doctor_unknown_model_and_variant() -> None:
    checks = doctor("gigatk")
    assert not checks[-1].ok and "Did you mean 'gigatok'" in checks[-1].message
    assert "tokbench models" in checks[-1].fix
    bad = by_name(doctor("var:variant=1024"))["variant"]
    assert not bad.ok and "256, 512" in bad.fix


def test_doctor_missing_clone_names_git_clone_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKBENCH_SRC_LLAMAGEN", raising=False)
    checks = by_name(doctor("llamagen:variant=VQ-8"))
    assert not checks["clone"].ok
    assert "git clone https://github.com/FoundationVision/LlamaGen" in checks["clone"].fix
    assert "TOKBENCH_SRC_LLAMAGEN" in checks["clone"].fix
    assert (
        not checks["weights"].ok
        and "download FoundationVision/LlamaGen --include 'vq_ds8_c2i.pt'" in checks["weights"].fix
    )
    assert checks["build"].message.startswith("skipped")


def test_doctor_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    fam = families()["var"]
    monkeypatch.setitem(families(), "var", type(fam)(**{**fam.__dict__, "packages": ("no_such_pkg_xyz",)}))
    check = by_name(doctor("var"))["package no_such_pkg_xyz"]
    assert not check.ok and check.fix.startswith("pip install no-such-pkg-xyz")


def test_doctor_missing_drive_only_weights_and_bad_ckpt(tmp_path: Path) -> None:
    checks = by_name(doctor(f"gigatok:variant=BL-dino,source={tmp_path}"))
    assert checks["clone"].ok
    assert not checks["config"].ok and "configs/vq/VQ_BL256_dino_disc.yaml" in checks["config"].message
    w = checks["weights"]
    assert not w.ok and "VQ_BL256_dino_disc.pt" in w.message and "Google Drive" in w.message
    assert "ckpt=PATH" in w.fix
    missing = by_name(doctor(f"gigatok:source={tmp_path},ckpt={tmp_path / 'nope.pt'}"))["weights"]
    assert not missing.ok and "does not exist" in missing.message


def test_doctor_missing_hub_weights_offline() -> None:
    pytest.importorskip("diffusers")
    w = by_name(doctor("taesdxl"))["weights"]
    assert not w.ok and "madebyollin/taesdxl" in w.message and "download madebyollin/taesdxl" in w.fix


def test_doctor_passes_end_to_end_on_a_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clone = write_clone(tmp_path / "GigaTok", GIGATOK)
    ckpt = tmp_path / "VQ_BL256_e200.pt"
    torch.save(
        {
            "model": state_of(
                SourceTree.get(clone),
                "tokenizer.tokenizer_image.vq.vq_vit_model",
                "VQVitModelPlus",
                0,
                16384,
                8,
            )
        },
        ckpt,
    )
    fam = families()["gigatok"]  # the stand-in needs none of the real clone's packages
    monkeypatch.setitem(families(), "gigatok", type(fam)(**{**fam.__dict__, "packages": ("yaml",)}))
    checks = doctor(f"gigatok:source={clone},ckpt={ckpt}")
    assert all(c.ok for c in checks), render(checks)
    run = by_name(checks)["encode/decode"]
    assert "256x256 -> (1, 256)" in run.message and "3584 bits" in run.message


def test_doctor_random_config_and_a_broken_adapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("diffusers")
    cfg = tmp_path / "kl.json"
    cfg.write_text(
        json.dumps(
            {
                "block_out_channels": [8, 16],
                "down_block_types": ["DownEncoderBlock2D"] * 2,
                "up_block_types": ["UpDecoderBlock2D"] * 2,
                "norm_num_groups": 8,
                "layers_per_block": 1,
            }
        )
    )
    checks = doctor(f"sd-vae:config={cfg}", echo=True)
    assert all(c.ok for c in checks), render(checks)
    assert "[ok] encode/decode: 64x64 -> (1, 4, 32, 32)" in capsys.readouterr().out
    from tokbench.adapters.diffusers_vae import DiffusersVAE

    monkeypatch.setattr(DiffusersVAE, "decode", lambda self, enc: torch.full((1, 3, 64, 64), 2.0))
    run = by_name(doctor(f"sd-vae:config={cfg}"))["encode/decode"]
    assert not run.ok and "not [0,1]" in run.message
