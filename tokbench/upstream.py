"""Glue for adapters whose model code lives outside tokbench (a PyPI package or a local clone).

What is here: the family/variant tables (where code and weights come from, token layouts,
licences), finding a clone and importing from it without leaking its top-level module names,
resolving weights (``ckpt=`` path, ``$TOKBENCH_WEIGHTS/<family>/<file>``, Hugging Face cache or
hub), loading checkpoints and picking the state-dict key, and a cached sha256 of weight files.

Nothing here imports torch or model code at import time: ``tokbench list`` reads the tables.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import pickle
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokbench import hashing
from tokbench.adapter import WeightsUnavailable

# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    """Where one variant's weights come from.

    ``repo`` + ``filename`` is a file on the Hugging Face hub; ``repo`` alone a whole hub
    repository loaded with ``from_pretrained`` (``subfolder`` inside it). ``manual`` says how to
    obtain files that are not on the hub (Google Drive, Box): the user passes ``ckpt=PATH``.
    """

    repo: str | None = None
    filename: str | None = None
    subfolder: str | None = None
    manual: str | None = None
    gated: bool = False
    include: tuple[str, ...] = ()  # the files of a whole-repo download that are needed

    def describe(self) -> str:
        if self.repo:
            inner = "/".join(p for p in (self.subfolder, self.filename) if p)
            return f"{self.repo}:{inner}" if inner else self.repo
        return self.filename or "?"


@dataclass(frozen=True)
class Variant:
    """One released model of a family: its weights, config and code geometry."""

    name: str
    weights: Weights
    native_size: int | None = 256  # None: any size that is a multiple of size_multiple
    size_multiple: int = 16
    downsample: int | None = 16
    codebook_sizes: tuple[int, ...] = ()
    tokens: tuple[int, ...] = ()  # tokens per level at the reference size (native, else 256)
    latent_channels: int | None = None  # continuous models
    config: str | None = None  # upstream config file, relative to the clone
    license: str | None = None  # overrides the family's
    params: str = "?"  # as published, e.g. "622M"
    extra: dict[str, Any] = field(default_factory=dict)

    def bits_per_image(self) -> float | None:
        if not self.codebook_sizes:
            return None
        return float(sum(n * math.log2(k) for k, n in zip(self.codebook_sizes, self.tokens, strict=True)))

    def bpp(self) -> float | None:
        bits = self.bits_per_image()
        return None if bits is None else bits / float((self.native_size or 256) ** 2)


@dataclass(frozen=True)
class Family:
    """A tokenizer family: how its code is obtained and which variants exist."""

    name: str
    target: str  # "tokbench.adapters.<module>:<Class>"
    summary: str
    source: str  # "pypi:<package>" or "clone"
    kind: str  # "discrete" | "continuous"
    layout: str
    input_range: str
    license: str
    variants: dict[str, Variant]
    default: str
    repo: str | None = None  # GitHub owner/name of the upstream code
    packages: tuple[str, ...] = ()  # importable modules the code needs
    noncommercial: bool = False

    @property
    def env(self) -> str:
        return "TOKBENCH_SRC_" + self.name.upper().replace("-", "_").replace(".", "_")

    def variant(self, name: str | None) -> Variant:
        key = self.default if name in (None, "") else str(name)
        if key not in self.variants:
            raise ValueError(f"{self.name}: unknown variant {key!r}; choose from {', '.join(self.variants)}")
        return self.variants[key]

    def license_of(self, variant: Variant) -> str:
        return variant.license or self.license

    def kind_of(self, variant: Variant) -> str:
        """Discrete when the variant has a codebook (Cosmos CI and TiTok VAE variants do not)."""
        return "discrete" if variant.codebook_sizes else "continuous"

    def layout_of(self, variant: Variant) -> str:
        return self.layout if variant.codebook_sizes else "latent"


def _grid(ds: int, size: int = 256) -> int:
    return (size // ds) ** 2


def _vae(repo: str, channels: int, ds: int = 8, subfolder: str | None = None, **kw: Any) -> Variant:
    return Variant(repo.split("/")[-1], Weights(repo=repo, subfolder=subfolder, gated=kw.pop("gated", False)),
                   native_size=None, size_multiple=ds, downsample=ds, latent_channels=channels, **kw)


_NC = "non-commercial"
FAMILIES: dict[str, Family] = {}


def _add(family: Family) -> None:
    # a variant is named by its key in the family's table
    object.__setattr__(family, "variants", {k: _renamed(v, k) for k, v in family.variants.items()})
    FAMILIES[family.name] = family


def _renamed(variant: Variant, name: str) -> Variant:
    from dataclasses import replace

    return variant if variant.name == name else replace(variant, name=name)


_D = "tokbench.adapters."
_add(Family("sd-vae", _D + "diffusers_vae:DiffusersVAE", "Stable Diffusion 1.x VAE (AutoencoderKL f8c4)",
            "pypi:diffusers", "continuous", "latent", "[-1,1]", "MIT",
            {"mse": _vae("stabilityai/sd-vae-ft-mse", 4, params="84M"),
             "ema": _vae("stabilityai/sd-vae-ft-ema", 4, params="84M")}, "mse",
            repo="huggingface/diffusers", packages=("diffusers",)))
_add(Family("sdxl-vae", _D + "diffusers_vae:DiffusersVAE", "SDXL VAE (AutoencoderKL f8c4)",
            "pypi:diffusers", "continuous", "latent", "[-1,1]", "MIT",
            {"base": _vae("stabilityai/sdxl-vae", 4, params="84M"),
             "fp16-fix": _vae("madebyollin/sdxl-vae-fp16-fix", 4, params="84M")}, "base",
            repo="huggingface/diffusers", packages=("diffusers",)))
_add(Family("sd3.5-vae", _D + "diffusers_vae:DiffusersVAE", "SD3 / SD3.5 VAE (AutoencoderKL f8c16)",
            "pypi:diffusers", "continuous", "latent", "[-1,1]", "Stability AI Community License",
            {"large": _vae("stabilityai/stable-diffusion-3.5-large", 16, subfolder="vae", gated=True,
                           params="84M"),
             "medium": _vae("stabilityai/stable-diffusion-3.5-medium", 16, subfolder="vae", gated=True,
                            params="84M"),
             "sd3-medium": _vae("stabilityai/stable-diffusion-3-medium-diffusers", 16, subfolder="vae",
                                gated=True, params="84M")}, "large",
            repo="huggingface/diffusers", packages=("diffusers",), noncommercial=True))
_add(Family("flux-vae", _D + "diffusers_vae:DiffusersVAE", "FLUX.1 VAE (AutoencoderKL f8c16)",
            "pypi:diffusers", "continuous", "latent", "[-1,1]", "Apache-2.0",
            {"dev": _vae("black-forest-labs/FLUX.1-dev", 16, subfolder="vae", gated=True,
                         license="FLUX.1 [dev] Non-Commercial License", params="84M"),
             "schnell": _vae("black-forest-labs/FLUX.1-schnell", 16, subfolder="vae", params="84M")}, "dev",
            repo="huggingface/diffusers", packages=("diffusers",)))
_add(Family("taesd", _D + "diffusers_vae:DiffusersVAE", "Tiny AutoEncoder for SD (AutoencoderTiny)",
            "pypi:diffusers", "continuous", "latent", "[-1,1]", "MIT",
            {"sd": _vae("madebyollin/taesd", 4, params="2.4M"),
             "sd3": _vae("madebyollin/taesd3", 16, params="2.4M"),
             "flux": _vae("madebyollin/taef1", 16, params="2.4M")}, "sd",
            repo="madebyollin/taesd", packages=("diffusers",)))
_add(Family("taesdxl", _D + "diffusers_vae:DiffusersVAE", "Tiny AutoEncoder for SDXL (AutoencoderTiny)",
            "pypi:diffusers", "continuous", "latent", "[-1,1]", "MIT",
            {"sdxl": _vae("madebyollin/taesdxl", 4, params="2.4M")}, "sdxl",
            repo="madebyollin/taesd", packages=("diffusers",)))
_DC = {f"f{f}c{c}-{d}-1.0": _vae(f"mit-han-lab/dc-ae-f{f}c{c}-{d}-1.0-diffusers", c, ds=f)
       for d in ("in", "mix") for f, c in ((32, 32), (64, 128), (128, 512))}
_DC["f32c32-sana-1.0"] = _vae("mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers", 32, ds=32)
_add(Family("dc-ae", _D + "diffusers_vae:DiffusersVAE", "Deep Compression AutoEncoder (AutoencoderDC)",
            "pypi:diffusers", "continuous", "latent", "[-1,1]", "Apache-2.0", _DC, "f32c32-sana-1.0",
            repo="mit-han-lab/efficientvit", packages=("diffusers",)))

_add(Family("janus-vq", _D + "transformers_vq:JanusVQ",
            "Janus / Janus-Pro image-generation VQ (transformers)",
            "pypi:transformers", "discrete", "2d", "[-1,1]", "DeepSeek Model License (code MIT)",
            {v: Variant(v, Weights(repo=f"deepseek-community/Janus-Pro-{v.upper()}"), native_size=384,
                        codebook_sizes=(16384,), tokens=(576,), params="~70M")
             for v in ("1b", "7b")}, "1b",
            repo="deepseek-ai/Janus", packages=("transformers", "safetensors")))

_GT = "Google Drive only: download from the links in the README of SilentView/GigaTok"
_add(Family("gigatok", _D + "gigatok:GigaTok", "GigaTok 1-D ViT VQ tokenizers (256 ordered tokens, 14 bits)",
            "clone", "discrete", "1d", "[-1,1]", "MIT",
            {name: Variant(name, Weights(filename=file, manual=_GT), codebook_sizes=(16384,), tokens=(256,),
                           downsample=None, config=f"configs/vq/{cfg}.yaml", params=params)
             for name, file, cfg, params in (
                 ("SS", "VQ_SS256_e100.pt", "VQ_SS256", "136M"),
                 ("SB", "VQ_SB256_e200.pt", "VQ_SB256", "232M"),
                 ("BL", "VQ_BL256_e200.pt", "VQ_BL256", "622M"),
                 ("BL-dino", "VQ_BL256_dino_disc.pt", "VQ_BL256_dino_disc", "622M"),
                 ("XLXXL", "VQ_XLXXL256_e300.pt", "VQ_XLXXL256", "2.9B"))}, "BL",
            repo="SilentView/GigaTok", packages=("einops", "yaml", "timm", "torchvision")))
def _lg(arch: str, repo: str, file: str, ds: int, params: str) -> Variant:
    # fully convolutional: any multiple of ds; tokens counted at 256x256
    return Variant(arch, Weights(repo, file), native_size=None, size_multiple=ds, downsample=ds,
                   codebook_sizes=(16384,), tokens=(_grid(ds),), params=params, extra={"model": arch})


_add(Family("llamagen", _D + "llamagen:LlamaGen", "LlamaGen VQGAN (conv, 16384 codes)",
            "clone", "discrete", "2d", "[-1,1]", "MIT",
            {"VQ-16": _lg("VQ-16", "FoundationVision/LlamaGen", "vq_ds16_c2i.pt", 16, "72M"),
             "VQ-16-t2i": _lg("VQ-16", "peizesun/llamagen_t2i", "vq_ds16_t2i.pt", 16, "72M"),
             "VQ-8": _lg("VQ-8", "FoundationVision/LlamaGen", "vq_ds8_c2i.pt", 8, "70M")},
            "VQ-16", repo="FoundationVision/LlamaGen", packages=()))
_TT = {f"{n}": (f"yucornetto/tokenizer_titok_{n}_imagenet", k, t, "vq") for n, k, t in (
    ("l32", 4096, 32), ("b64", 4096, 64), ("s128", 4096, 128),
    ("bl64_vq8k", 8192, 64), ("bl128_vq8k", 8192, 128), ("sl256_vq8k", 8192, 256))}
_TT.update({f"{n}_vae_c16": (f"yucornetto/tokenizer_titok_{n}_vae_c16_imagenet", 0, t, "vae")
            for n, t in (("ll32", 32), ("bl64", 64), ("bl128", 128))})
_add(Family("titok", _D + "titok:TiTok", "TiTok 1-D tokenizers (32-256 tokens; VQ and VAE variants)",
            "clone", "discrete", "1d", "[0,1]", "Apache-2.0",
            {n: Variant(n, Weights(repo=r), codebook_sizes=(k,) if k else (), tokens=(t,) if k else (),
                        latent_channels=None if k else 16, downsample=None, params="?",
                        config=f"configs/infer/TiTok/titok_{n}.yaml", extra={"mode": m})
             for n, (r, k, t, m) in _TT.items()}, "l32",
            repo="bytedance/1d-tokenizer",
            packages=("einops", "omegaconf", "huggingface_hub", "accelerate", "torchvision", "requests")))
_VAR_SCALES = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16)
_add(Family("var", _D + "var:VAR", "VAR multi-scale residual VQVAE (10 scales, 680 tokens)",
            "clone", "discrete", "multi_scale", "[-1,1]", "MIT",
            {"256": Variant("256", Weights("FoundationVision/var", "vae_ch160v4096z32.pth"),
                            codebook_sizes=(4096,) * 10, tokens=tuple(p * p for p in _VAR_SCALES),
                            params="109M", extra={"patch_nums": _VAR_SCALES}),
             "512": Variant("512", Weights("FoundationVision/var", "vae_ch160v4096z32.pth"), native_size=512,
                            codebook_sizes=(4096,) * 10,
                            tokens=tuple(p * p for p in (1, 2, 3, 4, 6, 9, 13, 18, 24, 32)), params="109M",
                            extra={"patch_nums": (1, 2, 3, 4, 6, 9, 13, 18, 24, 32)})}, "256",
            repo="FoundationVision/VAR", packages=("huggingface_hub",)))
_OM = "configs/Open-MAGVIT2/gpu/"


def _om2(name: str, repo: str, file: str, config: str, k: int, params: str) -> Variant:
    return Variant(name, Weights(f"TencentARC/Open-MAGVIT2-Tokenizer-{repo}", file), native_size=None,
                   codebook_sizes=(k,), tokens=(256,), config=_OM + config, params=params)


_add(Family("open-magvit2", _D + "open_magvit2:OpenMAGVIT2", "Open-MAGVIT2 LFQ tokenizers (2^18 codes)",
            "clone", "discrete", "2d", "[-1,1]", "Apache-2.0",
            {"256-L": _om2("256-L", "256-resolution", "imagenet_256_L.ckpt", "imagenet_lfqgan_256_L.yaml",
                           262144, "116M"),
             "128-L": _om2("128-L", "128-resolution", "imagenet_128_L.ckpt", "imagenet_lfqgan_128_L.yaml",
                           262144, "116M"),
             "pretrain-16384": _om2("pretrain-16384", "16384-Pretrain", "pretrain256_16384.ckpt",
                                    "pretrain_lfqgan_256_16384.yaml", 16384, "100M"),
             "pretrain-262144": _om2("pretrain-262144", "262144-Pretrain", "pretrain256_262144.ckpt",
                                     "pretrain_lfqgan_256_262144.yaml", 262144, "100M")},
            "256-L", repo="TencentARC/SEED-Voken", packages=("lightning", "einops")))
_add(Family("ibq", _D + "open_magvit2:IBQ", "IBQ index-backpropagation VQ tokenizers (SEED-Voken)",
            "clone", "discrete", "2d", "[-1,1]", "Apache-2.0",
            {str(k): Variant(str(k), Weights(f"TencentARC/IBQ-Tokenizer-{k}", f"imagenet256_{k}.ckpt"),
                             native_size=None, codebook_sizes=(k,), tokens=(256,),
                             config=f"configs/IBQ/gpu/imagenet_ibqgan_{k}.yaml", params="?")
             for k in (1024, 8192, 16384, 262144)}, "16384",
            repo="TencentARC/SEED-Voken", packages=("lightning", "pytorch_lightning", "einops")))
_add(Family("unitok", _D + "unitok:UniTok", "UniTok multi-codebook tokenizer (8 x 4096 per position)",
            "clone", "discrete", "multi_codebook", "[-1,1]", "MIT",
            {"large": Variant("large", Weights("FoundationVision/unitok_tokenizer", "unitok_tokenizer.pth"),
                              codebook_sizes=(4096,) * 8, tokens=(256,) * 8, params="?")}, "large",
            repo="FoundationVision/UniTok",
            packages=("timm", "tap", "pytz", "ftfy", "regex")))
_MB = {f"maskbit-{b}bit": (f"markweber/maskbit_tokenizer_{b}bit", f"maskbit_tokenizer_{b}bit.bin",
                           f"configs/tokenizer/maskbit_tokenizer_{b}bit.yaml", b)
       for b in (10, 12, 14, 16, 18)}
_MB.update({f"vqgan-plus-{b}bit": (f"markweber/vqgan_plus_{n}", f"vqgan_plus_{n}.bin",
                                   f"configs/tokenizer/vqgan_plus_{b}bit.yaml", b)
            for b, n in ((10, "paper"), (12, "12bit"))})
_add(Family("maskbit", _D + "maskbit:MaskBiT", "MaskBiT / VQGAN+ conv tokenizers (LFQ bit tokens or VQ)",
            "clone", "discrete", "2d", "[0,1]", "Apache-2.0",
            {n: Variant(n, Weights(r, f), codebook_sizes=(2 ** b,), tokens=(256,), config=c, params="~55M")
             for n, (r, f, c, b) in _MB.items()}, "maskbit-14bit",
            repo="markweberdev/maskbit", packages=("omegaconf", "einops")))
_add(Family("cosmos", _D + "cosmos:Cosmos", "NVIDIA Cosmos image tokenizers (CI continuous, DI FSQ 64000)",
            "clone", "discrete", "2d", "[-1,1]", "NVIDIA Open Model License (code Apache-2.0)",
            {f"{k}{f}x{f}": Variant(f"{k}{f}x{f}", Weights(f"nvidia/Cosmos-0.1-Tokenizer-{k}{f}x{f}",
                                                           include=("encoder.jit", "decoder.jit")),
                                    native_size=None, downsample=f,
                                    codebook_sizes=(64000,) if k == "DI" else (),
                                    tokens=(_grid(f),) if k == "DI" else (),
                                    latent_channels=None if k == "DI" else 16, params="?")
             for k in ("CI", "DI") for f in (8, 16)}, "DI16x16",
            repo="NVIDIA/Cosmos-Tokenizer", packages=("loguru", "einops", "mediapy", "numpy")))
_BSQ = "Box links in the README of zhaoyue-zephyrus/bsq-vit; a mirror is huaweilin/bsqvit_256x256"
_add(Family("bsq-vit", _D + "bsq_vit:BSQViT", "BSQ-ViT binary spherical quantisation (32x32 x 18 bits)",
            "clone", "discrete", "2d", "[-1,1]", "MIT",
            {"b18": Variant("b18", Weights("huaweilin/bsqvit_256x256", "checkpoint.pt", manual=_BSQ),
                            downsample=8, codebook_sizes=(2 ** 18,), tokens=(1024,), params="~174M",
                            config="configs/tokenizer/imagenet_256x256_bsqvit_b18g18_stylegan_f8_fp16.yaml",
                            extra={"hub_config": "config.yaml"}),
             "b36": Variant("b36", Weights(filename="checkpoint.pt", manual=_BSQ), downsample=8,
                            codebook_sizes=(2 ** 36,), tokens=(1024,), params="~174M",
                            config="configs/tokenizer/imagenet_256x256_bsqvit_b36g36_stylegan_f8_fp16.yaml")},
            "b18", repo="zhaoyue-zephyrus/bsq-vit", packages=("einops", "yaml")))


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown tokenizer family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


# --------------------------------------------------------------------------------------------
# Options, offline mode, licences
# --------------------------------------------------------------------------------------------


def is_offline(option: Any = None) -> bool:
    """``offline=`` option, else ``HF_HUB_OFFLINE`` / ``TOKBENCH_OFFLINE`` (the runner's --offline)."""
    if option is not None:
        return bool(option)
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TOKBENCH_OFFLINE"))


def reject_unknown(adapter: str, unknown: dict[str, Any], accepted: list[str]) -> None:
    if unknown:
        raise ValueError(f"{adapter}: unknown option(s) {', '.join(sorted(unknown))}; "
                         f"accepted: {', '.join(accepted)}")


_warned: set[str] = set()


def warn_license_once(name: str, license: str, noncommercial: bool) -> None:
    """Warn once per process when weights come under a non-commercial or restricted licence."""
    words = ("non-commercial", "research", "community")
    restricted = noncommercial or any(w in license.lower() for w in words)
    if restricted and name not in _warned:
        _warned.add(name)
        warnings.warn(f"{name}: weights are under '{license}' - check it allows your use", stacklevel=3)


def hub_cli() -> str:
    """The Hugging Face CLI name of the installed huggingface_hub (``hf`` since 0.34)."""
    try:
        from importlib.metadata import version

        major, minor = (int(p) for p in version("huggingface_hub").split(".")[:2])
        return "hf" if (major, minor) >= (0, 34) else "huggingface-cli"
    except Exception:  # not installed or odd version string
        return "huggingface-cli"


def fetch_command(weights: Weights, revision: str | None = None) -> str:
    """The shell command that downloads ``weights`` into the Hugging Face cache."""
    if not weights.repo:
        return f"obtain {weights.filename} ({weights.manual}) and pass ckpt=PATH"
    rev = f" --revision {revision}" if revision else ""
    if weights.filename:
        inner = "/".join(p for p in (weights.subfolder, weights.filename) if p)
        cmd = f"{hub_cli()} download {weights.repo} --include '{inner}'{rev}"
    elif weights.include:
        files = " ".join(repr(i) for i in weights.include)
        cmd = f"{hub_cli()} download {weights.repo} --include {files}{rev}"
    elif weights.subfolder:
        cmd = f"{hub_cli()} download {weights.repo} --include '{weights.subfolder}/*'{rev}"
    else:
        cmd = f"{hub_cli()} download {weights.repo}{rev}"
    if weights.gated:
        cmd = (f"accept the licence at https://huggingface.co/{weights.repo}, run `{hub_cli()} auth login`, "
               f"then: {cmd}")
    return cmd


# --------------------------------------------------------------------------------------------
# Clones: finding them and importing from them
# --------------------------------------------------------------------------------------------


def resolve_source(fam: Family, source: str | os.PathLike[str] | None) -> Path:
    """The clone for ``fam``: ``source=`` option, else ``$TOKBENCH_SRC_<FAMILY>``."""
    given = source or os.environ.get(fam.env)
    clone = f"git clone https://github.com/{fam.repo}"
    if not given:
        raise WeightsUnavailable(
            f"{fam.name}: needs a local clone of {fam.repo} (its model code is not on PyPI). "
            f"Fix: `{clone}` and pass source=PATH (e.g. --model {fam.name}:source=PATH) "
            f"or set {fam.env}=PATH")
    path = Path(given).expanduser()
    if not path.is_dir():
        raise WeightsUnavailable(f"{fam.name}: source {str(path)!r} is not a directory. "
                                 f"Fix: `{clone} {path}` or point source=/{fam.env} at an existing clone")
    return path.resolve()


def _top_level_names(root: Path) -> set[str]:
    """Importable top-level names a clone defines (packages and modules at its root)."""
    names: set[str] = set()
    for entry in root.iterdir():
        if entry.suffix == ".py" and entry.stem.isidentifier():
            names.add(entry.stem)
        elif entry.is_dir() and entry.name.isidentifier() and (
                (entry / "__init__.py").exists() or any(entry.glob("*.py")) or any(entry.glob("*/*.py"))):
            names.add(entry.name)
    return names


def _module_root(module: Any) -> str | None:
    path = getattr(module, "__file__", None)
    if path:
        return os.path.realpath(path)
    search = getattr(module, "__path__", None)
    if search:
        for entry in list(search):
            return os.path.realpath(entry)
    return None


class SourceTree:
    """A clone imported in isolation.

    Upstream repos use generic top-level names (``models``, ``utils``, ``tokenizer``,
    ``modeling``) that collide between families. Inside :meth:`active` the clone is first on
    ``sys.path`` and ``sys.modules`` holds only its own modules under those names; on exit the
    previous modules come back and the clone's are kept aside for the next entry. Re-entering is
    cheap and nested entries of the same tree are no-ops.
    """

    _registry: dict[Path, SourceTree] = {}

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.names = _top_level_names(self.root)
        self._modules: dict[str, Any] = {}
        self._depth = 0

    @classmethod
    def get(cls, root: Path) -> SourceTree:
        root = root.resolve()
        if root not in cls._registry:
            cls._registry[root] = cls(root)
        return cls._registry[root]

    def _ours(self, name: str) -> bool:
        return name.split(".", 1)[0] in self.names

    def _inside(self, module: Any) -> bool:
        where = _module_root(module)
        return bool(where) and (where + os.sep).startswith(str(self.root) + os.sep)

    @contextlib.contextmanager
    def active(self) -> Iterator[SourceTree]:
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        saved = {n: m for n, m in sys.modules.items() if self._ours(n) and not self._inside(m)}
        for n in saved:
            del sys.modules[n]
        sys.modules.update(self._modules)
        root = str(self.root)
        inserted = root not in sys.path
        if inserted:
            sys.path.insert(0, root)
        self._depth = 1
        try:
            yield self
        finally:
            self._depth = 0
            self._modules = {n: m for n, m in sys.modules.items() if self._ours(n)}
            for n in self._modules:
                del sys.modules[n]
            sys.modules.update(saved)
            if inserted and root in sys.path:
                sys.path.remove(root)

    def import_module(self, name: str) -> Any:
        """Import ``name`` from the clone, with a fix-it message when its dependencies are missing."""
        import importlib

        with self.active():
            try:
                return importlib.import_module(name)
            except ModuleNotFoundError as e:
                missing = e.name or str(e)
                if missing.split(".", 1)[0] in self.names or name.startswith(missing):
                    raise WeightsUnavailable(
                        f"{self.root} has no module {missing!r}: is it a clone of the right repository "
                        f"(and of a recent revision)?") from None
                raise WeightsUnavailable(
                    f"importing {name} from {self.root} needs the package {missing!r}. "
                    f"Fix: pip install {pip_name(missing)} (or the clone's requirements.txt)") from None


_PIP_NAMES = {"yaml": "pyyaml", "tap": "typed-argument-parser", "cv2": "opencv-python",
              "pytorch_lightning": "pytorch-lightning", "lightning": "lightning", "PIL": "pillow",
              "sklearn": "scikit-learn"}


def pip_name(module: str) -> str:
    top = module.split(".", 1)[0]
    return _PIP_NAMES.get(top, top.replace("_", "-"))


# --------------------------------------------------------------------------------------------
# Weights: resolving, loading, hashing
# --------------------------------------------------------------------------------------------


def resolve_weights(name: str, weights: Weights, ckpt: str | os.PathLike[str] | None = None,
                    revision: str | None = None, offline: bool = False,
                    family_dir: str | None = None) -> Path:
    """A local weights file: ``ckpt=``, else ``$TOKBENCH_WEIGHTS/<family>/<file>``, else the hub.

    Hub downloads honour ``offline`` (cache only). Failures raise :class:`WeightsUnavailable`
    naming the file and the command that fetches it, never a hub traceback.
    """
    if ckpt:
        path = Path(ckpt).expanduser()
        if not path.exists():
            raise WeightsUnavailable(f"{name}: ckpt {str(path)!r} does not exist. "
                                     f"Fix: {fetch_command(weights, revision)}")
        return path.resolve()
    if weights.filename and family_dir:
        from tokbench.paths import weights_dir

        local = weights_dir() / family_dir / weights.filename
        if local.exists():
            return local
    if weights.repo and weights.filename:
        return hub_file(name, weights, revision=revision, offline=offline)
    where = weights.manual or "see docs/models.md"
    raise WeightsUnavailable(f"{name}: needs the checkpoint {weights.filename or weights.describe()} "
                             f"({where}). "
                             f"Fix: download it and pass ckpt=PATH, or put it at "
                             f"$TOKBENCH_WEIGHTS/{family_dir or name}/{weights.filename}")


def hub_file(name: str, weights: Weights, filename: str | None = None, revision: str | None = None,
             offline: bool = False) -> Path:
    """One file of a hub repository: from the local cache, else downloaded (unless offline)."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise WeightsUnavailable(f"{name}: needs huggingface_hub to fetch {weights.describe()}. "
                                 f"Fix: pip install huggingface_hub") from None
    fname = filename or weights.filename
    assert weights.repo and fname
    where = f"{weights.repo}/{'/'.join(p for p in (weights.subfolder, fname) if p)}"
    fix = (f"Fix: {fetch_command(replace_weights(weights, fname), revision)} "
           f"(or pass ckpt=PATH to a local copy)")
    cached = hub_cached(weights, fname, revision)
    if cached is not None:
        return cached
    if offline:
        raise WeightsUnavailable(f"{name}: {where} is not in the local Hugging Face cache (offline). {fix}")
    require_hub(name, where, fix)
    try:
        return Path(hf_hub_download(weights.repo, fname, subfolder=weights.subfolder, revision=revision))
    except Exception as e:  # hub errors are many (gated, 404, network); all mean "not here"
        raise WeightsUnavailable(f"{name}: {where} could not be downloaded ({short_error(e)}). "
                                 f"{fix}") from None


def replace_weights(weights: Weights, filename: str | None) -> Weights:
    from dataclasses import replace

    return replace(weights, filename=filename)


_reachable: dict[str, bool] = {}


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub endpoint accepts a TCP connection (cached; avoids minutes of retries offline)."""
    import socket
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    except Exception:
        endpoint = "https://huggingface.co"
    url = urlparse(endpoint)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    key = f"{host}:{port}"
    if key not in _reachable:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                _reachable[key] = True
        except OSError:
            _reachable[key] = False
    return _reachable[key]


def require_hub(name: str, what: str, fix: str) -> None:
    """Fail at once, with the fix, when the hub cannot be reached (instead of retrying for minutes)."""
    if not hub_reachable():
        raise WeightsUnavailable(f"{name}: {what} is not cached locally and the Hugging Face hub cannot be "
                                 f"reached (no network?). {fix}")


def hub_cached(weights: Weights, filename: str, revision: str | None = None) -> Path | None:
    """The cached path of a hub file, or None; never touches the network."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    inner = "/".join(p for p in (weights.subfolder, filename) if p)
    try:
        found = try_to_load_from_cache(weights.repo, inner, revision=revision)
    except Exception:
        return None
    return Path(found) if isinstance(found, str) else None


def short_error(e: BaseException, limit: int = 160) -> str:
    text = f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_checkpoint(path: str | os.PathLike[str], trust_pickle: bool = False) -> Any:
    """Load a checkpoint file onto the CPU (``.safetensors``, else ``torch.load``).

    ``torch.load`` runs with ``weights_only=True``, which reads tensors and plain containers only.
    A checkpoint that pickles Python objects (Lightning hyper-parameters, argparse namespaces) is
    refused with a message, unless ``trust_pickle`` is set: full unpickling runs code from the
    file, so it is never a silent fallback.
    """
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e) and "zip" not in str(e).lower():
                raise
            return torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) files: no mmap
    except pickle.UnpicklingError as e:
        if not trust_pickle:
            raise WeightsUnavailable(
                f"{path} pickles Python objects besides its weights{_pickled_global(e)}; loading it runs code from "
                "the file. If you trust the file, pass trust_pickle=true in the model options "
                "(e.g. --model NAME:trust_pickle=true,...)") from None
        return torch.load(path, map_location="cpu", weights_only=False)


def _pickled_global(e: BaseException) -> str:
    """`` (argparse.Namespace)`` from torch's refusal message, when it names the global."""
    import re

    found = re.search(r"GLOBAL ([\w.]+)", str(e))
    return f" ({found.group(1)})" if found else ""


DEFAULT_KEYS = ("ema", "model", "state_dict")


def select_state_dict(checkpoint: Any, keys: tuple[str, ...] = DEFAULT_KEYS, key: str | None = None,
                      strip: tuple[str, ...] = ()) -> tuple[dict[str, Any], str | None]:
    """Pick the weights out of a checkpoint: ``key`` if given, else the first of ``keys`` present.

    Nested keys use dots (``trainer.unitok``). A checkpoint that is already a flat state dict
    is returned as is (key None). Prefixes in ``strip`` (e.g. ``module.``) are removed.
    """
    if not isinstance(checkpoint, dict):
        raise ValueError(f"checkpoint is a {type(checkpoint).__name__}, not a dict of weights")
    top = ", ".join(map(str, checkpoint))
    chosen: str | None = None
    if key:
        sd, chosen = _nested(checkpoint, key), key
        if not isinstance(sd, dict):
            raise ValueError(f"checkpoint has no weights under key {key!r}; top-level keys: {top}")
    else:
        sd = checkpoint
        for k in keys:
            node = _nested(checkpoint, k)
            if isinstance(node, dict) and node:
                sd, chosen = node, k
                break
        else:
            if not _looks_like_state_dict(checkpoint):
                raise ValueError(f"no weights under {', '.join(keys)}; top-level keys: {top} (pass key=NAME)")
    for prefix in strip:
        # as upstream loaders do: when most keys carry the wrapper prefix, keep only those, stripped
        with_prefix = [k for k in sd if str(k).startswith(prefix)]
        if with_prefix and len(with_prefix) * 2 >= len(sd):
            sd = {k[len(prefix):]: sd[k] for k in with_prefix}
    return dict(sd), chosen


def _nested(d: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _looks_like_state_dict(d: dict[str, Any]) -> bool:
    return bool(d) and all(hasattr(v, "shape") for v in d.values())


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, cached by (path, inode, size, mtime, ctime) in memory and under the cache dir.

    ctime is in the key because a same-size edit can keep its mtime (``touch -r``, ``cp -p``, a
    restored backup) but always moves ctime, which no user call can set back."""
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"
    if key in _sha_memory:
        return _sha_memory[key]
    store = _sha_store()
    table = _read_json(store)
    if key not in table:
        table[key] = hashing.sha256_file(p)
        _write_json(store, table)
    _sha_memory[key] = table[key]
    return table[key]


def sha256_files(paths: list[Path]) -> str | None:
    """One hash for a set of weight files (the file's own hash when there is one)."""
    paths = sorted(p for p in paths if p.is_file())
    if not paths:
        return None
    if len(paths) == 1:
        return sha256_file(paths[0])
    lines = "".join(f"{p.name}:{sha256_file(p)}\n" for p in paths)
    return hashlib.sha256(lines.encode()).hexdigest()


_sha_memory: dict[str, str] = {}


def _sha_store() -> Path:
    from tokbench.paths import cache_dir

    return cache_dir() / "weights-sha256.json"


def _read_json(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, table: dict[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, indent=0, sort_keys=True))
        os.replace(tmp, path)
    except OSError:  # a read-only cache only costs a re-hash next time
        pass


# --------------------------------------------------------------------------------------------
# Small tensor helpers shared by adapters
# --------------------------------------------------------------------------------------------

DTYPES = {"fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
          "bf16": "bfloat16", "bfloat16": "bfloat16"}


def torch_dtype(name: str) -> Any:
    import torch

    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use fp32, bf16 or fp16")
    return getattr(torch, DTYPES[name])


@contextlib.contextmanager
def seeded(seed: int, device: Any = "cpu") -> Iterator[None]:
    """Run a block with the global RNG seeded, restoring the caller's RNG state afterwards."""
    import torch

    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


LATENT_MODES = ("mode", "sample")


def check_latent(name: str, latent: str) -> str:
    if latent not in LATENT_MODES:
        raise ValueError(f"{name}: latent must be 'mode' or 'sample', got {latent!r}")
    return latent


def count_params(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def reshape_codes(flat: Any, batch: int, layout: tuple[int, ...]) -> Any:
    """Flat indices (``[B*N]`` or ``[B,N]``) -> ``[B, *layout]`` int64."""
    import torch

    n = math.prod(layout)
    if flat.numel() != batch * n:
        raise ValueError(f"expected {batch}x{n} indices for layout {layout}, got {tuple(flat.shape)}")
    return flat.reshape(batch, *layout).to(torch.long)


def bits_tensor(bits_per_image: float | None, batch: int) -> Any:
    import torch

    if bits_per_image is None:
        return None
    return torch.full((batch,), float(bits_per_image), dtype=torch.float64)
