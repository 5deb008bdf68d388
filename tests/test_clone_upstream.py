"""Clone families held to their real upstream code (issue 15): the mismatches found by running each
adapter on upstream's own code, fixed and tested here against stand-ins that mirror that code.

The stand-ins live in test_adapters_glue.py; each one's ``.git/HEAD`` is the upstream commit it
mirrors, which must be the commit its family row names as ``checked_commit``.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import tokbench.families.upstream as upstream
from tokbench.doctor import Check, doctor
from tokbench.families.catalog import families
from tokbench.families.source import SourceTree
from tokbench.families.tensors import sign_bit_indices
from tokbench.families.upstream import clone_commit
from tokbench.registry import build_model, parse_model_spec
from tokbench.tokenizer import WeightsUnavailable

sys.path.insert(0, str(Path(__file__).parent))
from test_adapters_glue import (  # noqa: E402
    BSQ_VIT,
    COSMOS,
    GIGATOK,
    LLAMAGEN,
    MASKBIT,
    OPEN_MAGVIT2,
    TITOK,
    UNITOK,
    VAR,
    images,
    state_of,
    write_clone,
)

STAND_INS: dict[str, Mapping[str, str | bytes]] = {
    "gigatok": GIGATOK,
    "llamagen": LLAMAGEN,
    "var": VAR,
    "unitok": UNITOK,
    "titok": TITOK,
    "open-magvit2": OPEN_MAGVIT2,
    "ibq": OPEN_MAGVIT2,
    "bsq-vit": BSQ_VIT,
    "cosmos": COSMOS,
    "maskbit": MASKBIT,
}


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def reference_indices(quant: torch.Tensor) -> np.ndarray:
    """Sign bits -> index with numpy uint64 shifts (first channel = most significant bit)."""
    bits = (quant.float().numpy() > 0).astype(np.uint64)
    n = bits.shape[-1]
    shifts = np.arange(n - 1, -1, -1, dtype=np.uint64)
    return (bits << shifts).sum(-1, dtype=np.uint64)


# --------------------------------------------------------------------------------------------
# 1. BSQ-ViT: indices in int64 from the sign bits
# --------------------------------------------------------------------------------------------


def bsq_adapter(tmp_path: Path, bits: int) -> tuple[Any, SourceTree]:
    clone = write_clone(tmp_path / "bsq-vit", BSQ_VIT)
    tree = SourceTree.get(clone)
    params = {
        "vitconfig": {"image_size": 256, "patch_size": 8},
        "embed_dim": bits,
        "l2_norm": True,
        "post_q_l2_norm": True,
    }
    state = state_of(tree, "transcoder.models.bsqvit", "VITBSQModel", 11, **params)
    ckpt = tmp_path / f"b{bits}.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, ckpt)
    return build_model(parse_model_spec(f"bsq-vit:variant=b{bits},source={clone},ckpt={ckpt}")), tree


def test_sign_bit_indices_match_integer_arithmetic() -> None:
    z = torch.randn(5, 63, generator=torch.Generator().manual_seed(0))
    z[0] = 1.0  # every bit set: 2^63 - 1
    z[1] = 0.0  # zero is a minus sign (bit 0), as upstream's where(z > 0, 1, -1)
    got = sign_bit_indices(z).tolist()
    want = [sum(1 << (62 - i) for i in range(63) if float(row[i]) > 0) for row in z]
    assert got == want and got[0] == 2**63 - 1 and got[1] == 0
    assert sign_bit_indices(z.to(torch.bfloat16)).tolist() == want  # the dtype does not matter
    with pytest.raises(ValueError, match="64 sign bits"):
        sign_bit_indices(torch.ones(2, 64))


def test_bsq_vit_b36_codes_are_the_exact_sign_bits(tmp_path: Path) -> None:
    adapter, tree = bsq_adapter(tmp_path, 36)
    x = images(2)
    enc = adapter.encode(x)
    with tree.active(), torch.no_grad():
        quant, _, info = adapter._model.encode(x * 2 - 1)
    want = reference_indices(quant)
    assert enc.codes.dtype == torch.int64 and enc.codes.shape == (2, 32, 32)
    assert np.array_equal(enc.codes.reshape(2, -1).numpy().astype(np.uint64), want)
    assert int(enc.codes.max()) > 2**24  # high bits in use: where a float sum rounds
    # the stand-in computes indices as upstream does (float sum, then cast): they are wrong
    assert not np.array_equal(info["indices"].numpy().astype(np.uint64), want)
    assert enc.bits.tolist() == [1024 * 36] * 2
    # decoding the codes gives the image of the quantised latent (to the ulp by which upstream's
    # straight-through z + (sign - z) misses +-1); upstream's own indices give another image
    with tree.active(), torch.no_grad():
        model = adapter._model
        direct = (model.clamp(model.decode(quant)) + 1) / 2
        wrong = (model.clamp(model.decode(model.quantize.get_codebook_entry(info["indices"]))) + 1) / 2
    torch.testing.assert_close(adapter.decode(enc), direct.clamp(0, 1), atol=1e-6, rtol=0)
    assert float((wrong - direct).abs().max()) > 1e-3


def test_bsq_vit_bf16_codes_are_exact_and_decode_like_the_latent(tmp_path: Path) -> None:
    adapter, tree = bsq_adapter(tmp_path, 18)
    adapter.load(dtype="bf16")
    x = images(2)
    enc = adapter.encode(x)
    with tree.active(), torch.no_grad():
        quant, _, info = adapter._model.encode((x * 2 - 1).to(torch.bfloat16))
        direct = adapter._model.clamp(adapter._model.decode(quant)).float()
    assert quant.dtype == torch.bfloat16
    want = reference_indices(quant)
    assert np.array_equal(enc.codes.reshape(2, -1).numpy().astype(np.uint64), want)
    assert not np.array_equal(info["indices"].numpy().astype(np.uint64), want)  # upstream's bf16 sum rounds
    # same image up to bf16 rounding of the latent (the upstream indices moved it by up to 0.6)
    torch.testing.assert_close(adapter.decode(enc), ((direct + 1) / 2).clamp(0, 1), atol=2e-2, rtol=0)


# --------------------------------------------------------------------------------------------
# 2. UniTok: timm<=1.0.12 and the BPE vocabulary, checked by the build and by doctor
# --------------------------------------------------------------------------------------------


def unitok_clone(tmp_path: Path) -> tuple[Path, Path]:
    clone = write_clone(tmp_path / "UniTok", UNITOK)
    tree = SourceTree.get(clone)
    args = tree.import_module("utils.config").Args()
    ckpt = tmp_path / "unitok_tokenizer.pth"
    state = state_of(tree, "models.unitok", "UniTok", 5, args)
    torch.save({"args": {"vocab_size": 32768, "num_codebooks": 8}, "trainer": {"unitok": state}}, ckpt)
    return clone, ckpt


def test_unitok_timm_bound_is_checked_before_importing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clone, ckpt = unitok_clone(tmp_path)
    spec = f"unitok:source={clone},ckpt={ckpt}"
    monkeypatch.setattr(upstream, "installed_version", lambda dist: "1.0.15" if dist == "timm" else None)
    with pytest.raises(
        WeightsUnavailable, match=r"timm 1\.0\.15 is installed.*timm<=1\.0\.12.*pip install 'timm<=1\.0\.12'"
    ):
        build_model(parse_model_spec(spec)).load()
    checks = by_name(doctor(spec))
    check = checks["requirement timm<=1.0.12"]
    assert not check.ok and "1.0.15" in check.message and check.fix == "pip install 'timm<=1.0.12'"
    package = checks["package timm"]  # where timm is absent, its fix keeps the bound too
    assert package.ok or package.fix.startswith("pip install 'timm<=1.0.12'")
    monkeypatch.setattr(upstream, "installed_version", lambda dist: None)
    with pytest.raises(WeightsUnavailable, match="timm is not installed"):
        build_model(parse_model_spec(spec)).load()
    monkeypatch.setattr(upstream, "installed_version", lambda dist: "1.0.12")
    assert by_name(doctor(spec))["requirement timm<=1.0.12"].ok
    adapter = build_model(parse_model_spec(spec))
    assert adapter.encode(images(1)).codes.shape == (1, 8, 16, 16)


def test_unitok_missing_bpe_vocab_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upstream, "installed_version", lambda dist: "1.0.12")
    clone, ckpt = unitok_clone(tmp_path)
    vocab = clone / "open_clip" / "bpe_simple_vocab_16e6.txt.gz"
    vocab.unlink()
    spec = f"unitok:source={clone},ckpt={ckpt}"
    check = by_name(doctor(spec))["clone file open_clip/bpe_simple_vocab_16e6.txt.gz"]
    assert (
        not check.ok
        and str(vocab) in check.message
        and "git clone https://github.com/FoundationVision/UniTok" in check.fix
    )
    with pytest.raises(WeightsUnavailable, match="bpe_simple_vocab_16e6.txt.gz not found"):
        build_model(parse_model_spec(spec)).load()


# --------------------------------------------------------------------------------------------
# 3-4. Open-MAGVIT2 / IBQ (SEED-Voken): 128-L geometry, and the torch settings main.py changes
# --------------------------------------------------------------------------------------------


def magvit_ckpt(tmp_path: Path, clone: Path, ch_mult: list[int], use_ema: bool) -> Path:
    tree = SourceTree.get(clone)
    lfqgan = tree.import_module("src.Open_MAGVIT2.models.lfqgan")  # also runs the stand-in main.py
    with tree.active():
        torch.manual_seed(3)
        model = lfqgan.VQModel({"ch_mult": ch_mult}, {"target": "torch.nn.Identity"}, 64, 6, use_ema=use_ema)
    ckpt = tmp_path / f"om2_{len(ch_mult)}.ckpt"
    torch.save({"state_dict": model.state_dict()}, ckpt)
    return ckpt


def test_open_magvit2_128_L_downsamples_by_8_as_its_row_says(tmp_path: Path) -> None:
    row = families()["open-magvit2"].variants["128-L"]
    assert (row.downsample, row.size_multiple, row.tokens) == (8, 8, (1024,))
    clone = write_clone(tmp_path / "SEED-Voken", OPEN_MAGVIT2)
    ckpt = magvit_ckpt(tmp_path, clone, [1, 2, 2, 4], use_ema=False)
    adapter = build_model(parse_model_spec(f"open-magvit2:variant=128-L,source={clone},ckpt={ckpt}"))
    enc = adapter.encode(images(1))
    assert enc.codes[0].numel() == row.tokens[0]  # the model's own grid is what the row counts
    assert enc.bits.item() == 1024 * 18 and adapter.info.downsample == 8
    assert adapter.encode(images(1, 72)).codes.shape == (1, 9, 9)  # a multiple of 8 is accepted
    assert adapter.decode(enc).shape == (1, 3, 256, 256)


def test_seed_voken_import_side_effects_are_undone(tmp_path: Path) -> None:
    cudnn = torch.backends.cudnn
    before = (torch.get_float32_matmul_precision(), cudnn.deterministic, cudnn.benchmark)
    try:
        torch.set_float32_matmul_precision("highest")
        cudnn.deterministic, cudnn.benchmark = False, True
        # importing the stand-in without the adapter's guard changes them, as upstream's main.py does
        ckpt = magvit_ckpt(tmp_path, write_clone(tmp_path / "a", OPEN_MAGVIT2), [1, 1, 2, 2, 4], use_ema=True)
        assert (torch.get_float32_matmul_precision(), cudnn.deterministic, cudnn.benchmark) == ("high", True, False)
        torch.set_float32_matmul_precision("highest")
        cudnn.deterministic, cudnn.benchmark = False, True
        clone = write_clone(tmp_path / "b", OPEN_MAGVIT2)  # a fresh clone: its main.py runs in the build
        adapter = build_model(parse_model_spec(f"open-magvit2:source={clone},ckpt={ckpt}"))
        adapter.load()
        assert "main" in SourceTree.get(clone)._modules
        assert (torch.get_float32_matmul_precision(), cudnn.deterministic, cudnn.benchmark) == ("highest", False, True)
    finally:
        torch.set_float32_matmul_precision(before[0])
        cudnn.deterministic, cudnn.benchmark = before[1], before[2]


# --------------------------------------------------------------------------------------------
# 5-6. catalog rows: package lists and parameter counts
# --------------------------------------------------------------------------------------------


def test_catalog_packages_and_parameter_counts_follow_upstream() -> None:
    fams = families()
    assert "timm" in fams["bsq-vit"].packages  # transcoder/models/transformer.py imports timm
    assert "torchvision" in fams["maskbit"].packages  # modeling/modules imports torchvision at import
    params = {n: v.params for n, v in fams["ibq"].variants.items()}
    assert params == {"1024": "107.0M", "8192": "108.9M", "16384": "111.0M", "262144": "173.9M"}
    om2 = fams["open-magvit2"].variants
    assert om2["pretrain-16384"].params == om2["pretrain-262144"].params == "115.1M"
    assert fams["unitok"].variants["large"].params == "820M"
    cosmos = sorted(float(v.params.rstrip("M")) for v in fams["cosmos"].variants.values())
    assert (cosmos[0], cosmos[-1]) == (76.8, 83.7)
    titok = {n: float(v.params.rstrip("M")) for n, v in fams["titok"].variants.items()}
    assert min(titok.values()) == 83.7 and max(titok.values()) == 641.1 and titok["l32"] == 641.1


def test_open_magvit2_and_bsq_vit_parameter_counts_are_the_built_models() -> None:
    # counted on the models built from each upstream config (issue 15, part 2): 128-L has one level
    # fewer than 256-L (112,021,653 vs 115,127,829); BSQ-ViT b18 has 174,816,210
    fams = families()
    om2 = {n: v.params for n, v in fams["open-magvit2"].variants.items()}
    assert om2 == {"256-L": "115.1M", "128-L": "112.0M", "pretrain-16384": "115.1M", "pretrain-262144": "115.1M"}
    assert {n: v.params for n, v in fams["bsq-vit"].variants.items()} == {"b18": "174.8M", "b36": "174.8M"}


# --------------------------------------------------------------------------------------------
# 7. Cosmos: TorchScript files run in the dtype they were traced in, recorded
# --------------------------------------------------------------------------------------------


class _Enc(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gain = torch.nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled = torch.nn.functional.avg_pool2d(x * self.gain, 16)
        idx = ((pooled.mean(1) + 1) * 1000).long().clamp(0, 63999)
        return idx, pooled, pooled


class _Dec(torch.nn.Module):
    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        v = idx.float().unsqueeze(1) / 1000 - 1
        return torch.nn.functional.interpolate(v.repeat(1, 3, 1, 1), scale_factor=16.0)


def cosmos_files(d: Path, dtype: torch.dtype) -> Path:
    d.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(_Enc().to(dtype)), str(d / "encoder.jit"))
        torch.jit.save(torch.jit.script(_Dec()), str(d / "decoder.jit"))
    return d


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_cosmos_runs_in_its_traced_dtype_and_records_it(tmp_path: Path) -> None:
    clone = write_clone(tmp_path / "Cosmos-Tokenizer", COSMOS)
    bf16 = cosmos_files(tmp_path / "bf16", torch.bfloat16)
    fp32 = cosmos_files(tmp_path / "fp32", torch.float32)
    x = images(2, 64)
    for ckpt, extra, want in ((bf16, "", "bf16"), (fp32, "", "fp32"), (bf16, ",dtype=fp32", "fp32")):
        adapter = build_model(parse_model_spec(f"cosmos:variant=DI16x16,source={clone},ckpt={ckpt}{extra}"))
        adapter.load(dtype="fp32")  # the runner's precision does not apply
        assert adapter._model._enc_model.gain.dtype == getattr(torch, {"bf16": "bfloat16", "fp32": "float32"}[want])
        opts = adapter.info.options
        assert opts["dtype"] == want and opts["traced_dtype"] == ("bf16" if ckpt == bf16 else "fp32")
        enc = adapter.encode(x)
        assert enc.codes.dtype == torch.int64 and enc.bits.tolist() == [16 * math.log2(64000)] * 2
        assert adapter.decode(enc).shape == x.shape


# --------------------------------------------------------------------------------------------
# MaskBiT: the LFQ quantiser's codebook entries are fp32 whatever the model's dtype
# --------------------------------------------------------------------------------------------


def _fp32_and_bf16(spec: str) -> tuple[Any, Any]:
    """The adapter of ``spec`` loaded in fp32 (the reference) and in bf16."""
    ref, adapter = build_model(parse_model_spec(spec)), build_model(parse_model_spec(spec))
    ref.load(dtype="fp32")
    adapter.load(dtype="bf16")
    return ref, adapter


def _titok_dir(tmp_path: Path, vq_model: dict[str, Any]) -> str:
    """``source=...,ckpt=...`` of a stand-in TiTok saved as a from_pretrained directory."""
    import json

    clone = write_clone(tmp_path / "1d-tokenizer", TITOK)
    config = {"model": {"vq_model": vq_model}}
    d = tmp_path / "titok"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(config))
    torch.save(state_of(SourceTree.get(clone), "modeling.titok", "TiTok", 6, config), d / "pytorch_model.bin")
    return f"source={clone},ckpt={d}"


def test_maskbit_lfq_decodes_in_bf16(tmp_path: Path) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    clone = write_clone(tmp_path / "maskbit", MASKBIT)
    cfg = omegaconf.OmegaConf.create({"quantizer_type": "lookup-free", "codebook_size": 1024, "token_size": 10})
    ckpt = tmp_path / "maskbit_tokenizer_10bit.bin"
    torch.save(state_of(SourceTree.get(clone), "modeling.conv_vqgan", "ConvVQModel", 11, cfg), ckpt)
    spec = f"maskbit:variant=maskbit-10bit,source={clone},ckpt={ckpt}"
    ref, adapter = _fp32_and_bf16(spec)
    enc = ref.encode(images(1))
    out = adapter.decode(enc)  # upstream's decode_tokens fails here: fp32 bits into a bf16 decoder
    assert out.dtype == torch.float32 and out.shape == (1, 3, 256, 256)
    torch.testing.assert_close(out, ref.decode(enc), atol=0.05, rtol=0)
    assert adapter.encode(images(1)).codes.shape == (1, 16, 16)


def test_var_decodes_in_bf16(tmp_path: Path) -> None:
    clone = write_clone(tmp_path / "VAR", VAR)
    ckpt = tmp_path / "vae_ch160v4096z32.pth"
    torch.save(state_of(SourceTree.get(clone), "models.vqvae", "VQVAE", 4), ckpt)
    spec = f"var:source={clone},ckpt={ckpt}"
    ref, adapter = _fp32_and_bf16(spec)
    enc = ref.encode(images(1))
    out = adapter.decode(enc)  # upstream's idxBl_to_img fails here: an fp32 f_hat into a bf16 decoder
    assert out.dtype == torch.float32 and out.shape == (1, 3, 256, 256)
    torch.testing.assert_close(out, ref.decode(enc), atol=0.05, rtol=0)


def test_titok_vae_decodes_in_bf16(tmp_path: Path) -> None:
    spec = f"titok:variant=bl64_vae_c16,{_titok_dir(tmp_path, {'quantize_mode': 'vae'})}"
    ref, adapter = _fp32_and_bf16(spec)
    enc = ref.encode(images(1))  # upstream's posterior gives fp32 latents in any dtype
    out = adapter.decode(enc)  # upstream's decode_tokens fails here: an fp32 latent into a bf16 decoder
    assert out.dtype == torch.float32 and out.shape == (1, 3, 256, 256)
    torch.testing.assert_close(out, ref.decode(enc), atol=0.05, rtol=0)


def test_titok_vq_runs_in_bf16_with_its_quantiser_in_fp32(tmp_path: Path) -> None:
    spec = f"titok:variant=l32,{_titok_dir(tmp_path, {'codebook_size': 4096})}"
    ref, adapter = _fp32_and_bf16(spec)
    enc = ref.encode(images(1))
    # upstream's quantiser casts its input to fp32: with a bf16 codebook its einsum fails
    assert adapter.encode(images(1)).codes.shape == enc.codes.shape
    out = adapter.decode(enc)  # the fp32 codebook entries go to the bf16 decoder cast
    assert out.dtype == torch.float32 and out.shape == (1, 3, 256, 256)
    torch.testing.assert_close(out, ref.decode(enc), atol=0.05, rtol=0)


# --------------------------------------------------------------------------------------------
# commits: the stand-ins, the rows, a clone's HEAD and doctor
# --------------------------------------------------------------------------------------------


def test_every_stand_in_mirrors_the_commit_its_row_was_checked_against() -> None:
    fams = families()
    clone_families = {n for n, f in fams.items() if f.source == "clone" and n in STAND_INS}
    assert clone_families == set(STAND_INS)
    for name, files in STAND_INS.items():
        commit = str(files[".git/HEAD"]).strip()
        assert len(commit) == 40 and commit == fams[name].checked_commit, name


def test_clone_commit_is_read_from_git_files(tmp_path: Path) -> None:
    a, b = "a" * 40, "b" * 40
    assert clone_commit(tmp_path) is None  # not a git clone
    git = tmp_path / "c" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text(f"{a}\n")  # detached
    assert clone_commit(tmp_path / "c") == a
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text(f"# pack-refs with: peeled\n{b} refs/heads/other\n{a} refs/heads/main\n")
    assert clone_commit(tmp_path / "c") == a  # from packed-refs
    (git / "refs" / "heads" / "main").write_text(f"{b}\n")
    assert clone_commit(tmp_path / "c") == b  # a loose ref wins over packed-refs
    wt = tmp_path / "wt"
    (git / "worktrees" / "wt").mkdir(parents=True)
    (git / "worktrees" / "wt" / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "worktrees" / "wt" / "commondir").write_text("../..\n")
    wt.mkdir()
    (wt / ".git").write_text(f"gitdir: {git / 'worktrees' / 'wt'}\n")
    assert clone_commit(wt) == b  # a worktree's ref lives in the common dir
    (git / "HEAD").write_text("ref: refs/heads/gone\n")
    assert clone_commit(tmp_path / "c") is None


def test_doctor_and_results_name_the_clone_commit_beside_the_checked_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = write_clone(tmp_path / "LlamaGen", {**LLAMAGEN, ".git/HEAD": "c" * 40 + "\n"})
    checked = families()["llamagen"].checked_commit
    check = by_name(doctor(f"llamagen:source={clone}"))["clone"]
    assert check.ok and f"commit {'c' * 40}" in check.message and f"checked against {checked}" in check.message
    state = state_of(
        SourceTree.get(clone),
        "tokenizer.tokenizer_image.vq_model",
        "VQ_models",
        3,
        "VQ-16",
        codebook_size=16384,
        codebook_embed_dim=8,
    )
    ckpt = tmp_path / "vq_ds16_c2i.pt"
    torch.save({"model": state}, ckpt)
    adapter = build_model(parse_model_spec(f"llamagen:source={clone},ckpt={ckpt}"))
    adapter.load()
    assert adapter.info.options["clone_commit"] == "c" * 40 and adapter.info.options["checked_commit"] == checked
    (clone / ".git" / "HEAD").unlink()
    no_git = by_name(doctor(f"llamagen:source={clone}"))["clone"]
    assert "commit unknown (not a git clone)" in no_git.message
