"""Diffusion autoencoders through diffusers: AutoencoderKL (SD, SDXL, SD3.5, FLUX), AutoencoderTiny
(TAESD, TAESDXL) and AutoencoderDC (DC-AE).

Ranges. By default (``input_range=standard``) images go in as [-1,1], the range every one of
these models was trained on, and the output is read back from [-1,1]; latents are the
posterior mode (``latent=mode``). ``latent=sample`` draws from the posterior with ``seed=``
(the same noise for the same batch), recorded in the result file.

``input_range=paper`` reproduces the TokBench paper's ``sdxl_vae_rec.py``: it feeds [0,1]
tensors, reads the output as [0,1] (clamped) and samples the posterior (unless ``latent=`` is
given). That departs from the range the VAEs expect, so its numbers are slightly pessimistic;
use it only to compare with the published rows.

Loading. ``from_pretrained(hub_id, subfolder=..., revision=...)``, from the local cache only
when offline (``offline=true``, ``HF_HUB_OFFLINE=1`` or the runner's ``--offline``); ``path=DIR``
loads a local ``save_pretrained`` directory; ``config=`` (a dict or a JSON file) builds the
architecture with random weights, seeded by ``seed`` (used by the tests). Missing weights raise
:class:`WeightsUnavailable` with the command that fetches them.

Bits. Latents are continuous; ``Encoded.bits`` counts latent values x ``latent_bits``
(default 16, i.e. stored as fp16/bf16; ``latent_bits=0`` reports no bits).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from tokbench.errors import ConfigError
from tokbench.families.base import Built, FamilyTokenizer
from tokbench.families.catalog import Family, Variant, Weights
from tokbench.families.hub import fetch_command, hub_cached, require_hub, short_error
from tokbench.families.tensors import check_latent, seeded
from tokbench.tokenizer import Encoded, WeightsUnavailable


def _vae(
    repo: str,
    channels: int,
    ds: int = 8,
    subfolder: str | None = None,
    gated: bool = False,
    arch: str = "AutoencoderKL",
    **kw: Any,
) -> Variant:
    """A hub autoencoder: any size that is a multiple of ``ds``; ``arch`` is its diffusers class."""
    return Variant(
        repo.split("/")[-1],
        Weights(repo=repo, subfolder=subfolder, gated=gated),
        native_size=None,
        size_multiple=ds,
        downsample=ds,
        latent_channels=channels,
        extra={"arch": arch},
        **kw,
    )


def _family(
    name: str,
    summary: str,
    license: str,
    variants: dict[str, Variant],
    default: str,
    repo: str = "huggingface/diffusers",
    noncommercial: bool = False,
) -> Family:
    return Family(
        name,
        f"{__name__}:DiffusersVAE",
        summary,
        "pypi:diffusers",
        "continuous",
        "latent",
        "[-1,1]",
        license,
        variants,
        default,
        repo=repo,
        packages=("diffusers",),
        noncommercial=noncommercial,
    )


_SD3 = "Stability AI Community License"
_TINY = "AutoencoderTiny"
_DC = {
    f"f{f}c{c}-{d}-1.0": _vae(f"mit-han-lab/dc-ae-f{f}c{c}-{d}-1.0-diffusers", c, ds=f, arch="AutoencoderDC")
    for d in ("in", "mix")
    for f, c in ((32, 32), (64, 128), (128, 512))
}
_DC["f32c32-sana-1.0"] = _vae("mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers", 32, ds=32, arch="AutoencoderDC")
# one adapter class, one row per family
FAMILIES = (
    _family(
        "sd-vae",
        "Stable Diffusion 1.x VAE (AutoencoderKL f8c4)",
        "MIT",
        {
            "mse": _vae("stabilityai/sd-vae-ft-mse", 4, params="84M"),
            "ema": _vae("stabilityai/sd-vae-ft-ema", 4, params="84M"),
        },
        "mse",
    ),
    _family(
        "sdxl-vae",
        "SDXL VAE (AutoencoderKL f8c4)",
        "MIT",
        {
            "base": _vae("stabilityai/sdxl-vae", 4, params="84M"),
            "fp16-fix": _vae("madebyollin/sdxl-vae-fp16-fix", 4, params="84M"),
        },
        "base",
    ),
    _family(
        "sd3.5-vae",
        "SD3 / SD3.5 VAE (AutoencoderKL f8c16)",
        _SD3,
        {
            "large": _vae("stabilityai/stable-diffusion-3.5-large", 16, subfolder="vae", gated=True, params="84M"),
            "medium": _vae("stabilityai/stable-diffusion-3.5-medium", 16, subfolder="vae", gated=True, params="84M"),
            "sd3-medium": _vae(
                "stabilityai/stable-diffusion-3-medium-diffusers", 16, subfolder="vae", gated=True, params="84M"
            ),
        },
        "large",
        noncommercial=True,
    ),
    _family(
        "flux-vae",
        "FLUX.1 VAE (AutoencoderKL f8c16)",
        "Apache-2.0",
        {
            "dev": _vae(
                "black-forest-labs/FLUX.1-dev",
                16,
                subfolder="vae",
                gated=True,
                license="FLUX.1 [dev] Non-Commercial License",
                params="84M",
            ),
            "schnell": _vae("black-forest-labs/FLUX.1-schnell", 16, subfolder="vae", params="84M"),
        },
        "dev",
    ),
    _family(
        "taesd",
        "Tiny AutoEncoder for SD via diffusers AutoencoderTiny (hub route; upstream .pth route: tae)",
        "MIT",
        {
            "sd": _vae("madebyollin/taesd", 4, arch=_TINY, params="2.4M"),
            "sd3": _vae("madebyollin/taesd3", 16, arch=_TINY, params="2.4M"),
            "flux": _vae("madebyollin/taef1", 16, arch=_TINY, params="2.4M"),
        },
        "sd",
        repo="madebyollin/taesd",
    ),
    _family(
        "taesdxl",
        "Tiny AutoEncoder for SDXL via diffusers AutoencoderTiny (hub route; upstream .pth route: tae)",
        "MIT",
        {"sdxl": _vae("madebyollin/taesdxl", 4, arch=_TINY, params="2.4M")},
        "sdxl",
        repo="madebyollin/taesd",
    ),
    _family(
        "dc-ae",
        "Deep Compression AutoEncoder (AutoencoderDC)",
        "Apache-2.0",
        _DC,
        "f32c32-sana-1.0",
        repo="mit-han-lab/efficientvit",
    ),
)
WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


class DiffusersVAE(FamilyTokenizer):
    """One adapter for every diffusers autoencoder family of :data:`FAMILIES`."""

    family_name = "sd-vae"
    options = (
        "variant",
        "path",
        "ckpt",
        "config",
        "revision",
        "subfolder",
        "offline",
        "latent",
        "seed",
        "input_range",
        "latent_bits",
    )

    def __init__(
        self,
        family_name: str = "sd-vae",
        variant: str | None = None,
        path: str | None = None,
        ckpt: str | None = None,
        config: dict[str, Any] | str | None = None,
        revision: str | None = None,
        subfolder: str | None = None,
        offline: bool | None = None,
        latent: str | None = None,
        seed: int = 0,
        input_range: str = "standard",
        latent_bits: int = 16,
        **unknown: Any,
    ) -> None:
        super().__init__(family_name, variant, revision, offline, **unknown)
        if input_range not in ("standard", "paper"):
            raise ConfigError(f"{self.fam.name}: input_range must be 'standard' or 'paper', got {input_range!r}")
        self.arch = str(self.variant.extra.get("arch", "AutoencoderKL"))
        paper = input_range == "paper"
        self.latent = check_latent(self.fam.name, latent or ("sample" if paper else "mode"))
        if self.latent == "sample" and self.arch != "AutoencoderKL":
            raise ConfigError(f"{self.fam.name}: {self.arch} is deterministic; latent=sample needs a KL posterior")
        self.model_range = "[0,1]" if paper else "[-1,1]"
        self.seed, self.latent_bits = int(seed), int(latent_bits)
        self.path, self.config = path or ckpt, config
        self.subfolder = subfolder if subfolder is not None else self.variant.weights.subfolder
        v = self.variant
        options = {
            "variant": v.name,
            "latent": self.latent,
            "input_range": input_range,
            "model_range": self.model_range,
            "latent_bits": self.latent_bits,
        }
        if self.latent == "sample":
            options["seed"] = self.seed
        if revision:
            options["revision"] = revision
        if config is not None:
            options["config"] = config if isinstance(config, str) else "inline"
        self.info = self._row_info(options, weights_source=self._source_text())

    def _source_text(self) -> str:
        if self.config is not None:
            return "random init from config"
        if self.path:
            return str(self.path)
        return self.variant.weights.describe() + (f"@{self.revision}" if self.revision else "")

    # -- loading ------------------------------------------------------------------------------
    def _cls(self) -> Any:
        try:
            import diffusers
        except ImportError:
            raise WeightsUnavailable(
                f"{self.fam.name}: needs diffusers. Fix: pip install 'tokbench[diffusers]' "
                f"(or pip install diffusers safetensors)"
            ) from None
        return getattr(diffusers, self.arch)

    def _build(self) -> Built:
        cls = self._cls()
        if self.config is not None:
            cfg = self.config
            if isinstance(cfg, (str, Path)):
                cfg = json.loads(Path(cfg).expanduser().read_text())
            with seeded(self.seed):
                model = cls.from_config({k: v for k, v in cfg.items() if not k.startswith("_")})
            return Built(model, random_init=True)
        if self.path:
            root = Path(self.path).expanduser()
            sub = self.subfolder
            if sub is None and not (root / "config.json").exists() and (root / "vae" / "config.json").exists():
                sub = "vae"
            if not (root / (sub or "") / "config.json").is_file():
                raise WeightsUnavailable(
                    f"{self.info.name}: {root / (sub or '') / 'config.json'} not found; path= "
                    f"must be a save_pretrained directory. Fix: "
                    f"{fetch_command(self.variant.weights, self.revision)} --local-dir {root}"
                )
            model = self._from_pretrained(cls, str(root), sub, None, True)
            folder = root / (sub or "")
            return Built(model, [p for p in folder.iterdir() if p.name.startswith("diffusion_pytorch_model")])
        w = self.variant.weights
        model = self._from_pretrained(cls, w.repo, self.subfolder, self.revision, self.offline)
        files = [
            p
            for f in WEIGHT_FILES
            if (p := hub_cached(replace(w, subfolder=self.subfolder), f, self.revision)) is not None
        ]
        return Built(model, files[:1])

    def _from_pretrained(
        self, cls: Any, where: str | None, subfolder: str | None, revision: str | None, local_only: bool
    ) -> Any:
        """``cls.from_pretrained``: cache first, then the hub unless offline; errors -> WeightsUnavailable."""
        import importlib.util
        import warnings

        kwargs: dict[str, Any] = {"subfolder": subfolder, "revision": revision}
        if importlib.util.find_spec("accelerate") is None:
            kwargs["low_cpu_mem_usage"] = False  # says so instead of warning about it
        w = replace(self.variant.weights, filename=None)
        fix = f"Fix: {fetch_command(w, revision)} (or pass path=DIR to a local copy)"
        what = f"{where}{'/' + subfolder if subfolder else ''}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return cls.from_pretrained(where, local_files_only=True, **kwargs)
            except Exception as e:
                first = e
            if local_only:
                raise WeightsUnavailable(
                    f"{self.info.name}: {what} is not available locally ({short_error(first)}). {fix}"
                ) from None
            require_hub(self.info.name, what, fix)
            try:
                return cls.from_pretrained(where, **kwargs)
            except Exception as e:  # OSError, hub errors (gated, 404), ValueError: all "not available"
                raise WeightsUnavailable(
                    f"{self.info.name}: {what} could not be loaded ({short_error(e)}). {fix}"
                ) from None

    def _built_info(self, built: Built) -> dict[str, Any]:
        ds = self._downsample(built.model)
        return {"downsample": ds, "size_multiple": ds}

    def _place(self) -> None:
        import torch

        if self._dtype == torch.float16 and getattr(self._model.config, "force_upcast", False):
            self._dtype = torch.float32  # these VAEs overflow in fp16 (SDXL); diffusers upcasts them too
            self.info = replace(self.info, options={**self.info.options, "upcast": True})
        if self._model.dtype != self._dtype:  # diffusers warns on any dtype .to(), even a no-op one
            self._model.to(dtype=self._dtype)
        self._model.to(self._device)

    def _downsample(self, model: Any) -> int:
        cfg = model.config
        blocks = getattr(cfg, "block_out_channels", None) or getattr(cfg, "encoder_block_out_channels", None)
        return 2 ** (len(blocks) - 1) if blocks else int(self.variant.size_multiple)

    # -- the contract ---------------------------------------------------------------------------
    def _encode(self, x: Any) -> Encoded:
        import torch

        out = self._model.encode(x)
        if self.arch == "AutoencoderKL":
            dist = out.latent_dist
            if self.latent == "sample":
                gen = torch.Generator(device=x.device).manual_seed(self.seed)
                z = dist.sample(generator=gen)
            else:
                z = dist.mode()
        elif self.arch == "AutoencoderTiny":
            z = out.latents
        else:
            z = out.latent
        per_image = z[0].numel()
        bits = None
        if self.latent_bits > 0:
            bits = torch.full((z.shape[0],), float(per_image * self.latent_bits), dtype=torch.float64)
        return Encoded(latents=z, bits=bits, meta={"latent": self.latent, "latent_shape": list(z.shape[1:])})

    def _decode(self, encoded: Encoded) -> Any:
        return self._model.decode(encoded.latents.to(self._device, self._dtype)).sample
