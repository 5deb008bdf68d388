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

from tokbench.adapter import (
    Encoded,
    Tokenizer,
    TokenizerInfo,
    WeightsUnavailable,
    from_model_range,
    to_model_range,
)
from tokbench.upstream import (
    Family,
    Variant,
    check_latent,
    count_params,
    family,
    fetch_command,
    hub_cached,
    is_offline,
    reject_unknown,
    require_hub,
    seeded,
    sha256_files,
    short_error,
    torch_dtype,
    warn_license_once,
)

ARCH = {
    "sd-vae": "AutoencoderKL",
    "sdxl-vae": "AutoencoderKL",
    "sd3.5-vae": "AutoencoderKL",
    "flux-vae": "AutoencoderKL",
    "taesd": "AutoencoderTiny",
    "taesdxl": "AutoencoderTiny",
    "dc-ae": "AutoencoderDC",
}
OPTIONS = [
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
]
WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


class DiffusersVAE(Tokenizer):
    """One adapter for every diffusers autoencoder family in :data:`ARCH`."""

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
        self.fam: Family = family(family_name)
        reject_unknown(self.fam.name, unknown, OPTIONS)
        if input_range not in ("standard", "paper"):
            raise ValueError(
                f"{self.fam.name}: input_range must be 'standard' or 'paper', got {input_range!r}"
            )
        self.arch = ARCH[self.fam.name]
        self.variant: Variant = self.fam.variant(variant)
        paper = input_range == "paper"
        self.latent = check_latent(self.fam.name, latent or ("sample" if paper else "mode"))
        if self.latent == "sample" and self.arch != "AutoencoderKL":
            raise ValueError(
                f"{self.fam.name}: {self.arch} is deterministic; latent=sample needs a KL posterior"
            )
        self.model_range = "[0,1]" if paper else "[-1,1]"
        self.seed, self.latent_bits = int(seed), int(latent_bits)
        self.path, self.config = path or ckpt, config
        self.revision = None if revision is None else str(revision)  # "1234" arrives as an int
        self.subfolder = subfolder if subfolder is not None else self.variant.weights.subfolder
        self.offline = offline
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
        self.info = TokenizerInfo(
            name=f"{self.fam.name}-{v.name}",
            family=self.fam.name,
            kind="continuous",
            native_size=None,
            size_multiple=v.size_multiple,
            token_layout="latent",
            downsample=v.downsample,
            license=self.fam.license_of(v),
            weights_source=self._source_text(),
            options=options,
        )
        self._model: Any = None
        self._device, self._dtype = "cpu", None

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

    def _build(self) -> tuple[Any, list[Path]]:
        cls = self._cls()
        if self.config is not None:
            cfg = self.config
            if isinstance(cfg, (str, Path)):
                cfg = json.loads(Path(cfg).expanduser().read_text())
            with seeded(self.seed):
                model = cls.from_config({k: v for k, v in cfg.items() if not k.startswith("_")})
            return model, []
        if self.path:
            root = Path(self.path).expanduser()
            sub = self.subfolder
            if (
                sub is None
                and not (root / "config.json").exists()
                and (root / "vae" / "config.json").exists()
            ):
                sub = "vae"
            if not (root / (sub or "") / "config.json").is_file():
                raise WeightsUnavailable(
                    f"{self.info.name}: {root / (sub or '') / 'config.json'} not found; path= "
                    f"must be a save_pretrained directory. Fix: "
                    f"{fetch_command(self.variant.weights, self.revision)} --local-dir {root}"
                )
            model = self._from_pretrained(cls, str(root), sub, None, True)
            folder = root / (sub or "")
            return model, [p for p in folder.iterdir() if p.name.startswith("diffusion_pytorch_model")]
        w = self.variant.weights
        model = self._from_pretrained(cls, w.repo, self.subfolder, self.revision, is_offline(self.offline))
        files = [
            p
            for f in WEIGHT_FILES
            if (p := hub_cached(replace(w, subfolder=self.subfolder), f, self.revision)) is not None
        ]
        return model, files[:1]

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

    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        import torch

        if self._model is None:
            model, files = self._build()
            self._model = model.eval().requires_grad_(False)
            ds = self._downsample(model)
            self.info = replace(
                self.info,
                params=count_params(model),
                weights_sha256=sha256_files(files),
                downsample=ds,
                size_multiple=ds,
            )
            if self.config is None:  # random weights carry no licence
                warn_license_once(self.info.name, self.info.license, self.fam.noncommercial)
        want = torch_dtype(dtype)
        if want == torch.float16 and getattr(self._model.config, "force_upcast", False):
            want = torch.float32  # these VAEs overflow in fp16 (SDXL); diffusers upcasts them too
            self.info = replace(self.info, options={**self.info.options, "upcast": True})
        self._device, self._dtype = device, want
        if self._model.dtype != want:  # diffusers warns on any dtype .to(), even a no-op one
            self._model.to(dtype=want)
        self._model.to(device)

    def _downsample(self, model: Any) -> int:
        cfg = model.config
        blocks = getattr(cfg, "block_out_channels", None) or getattr(cfg, "encoder_block_out_channels", None)
        return 2 ** (len(blocks) - 1) if blocks else int(self.variant.size_multiple)

    # -- the contract ---------------------------------------------------------------------------
    def encode(self, images: Any) -> Encoded:
        import torch

        if self._model is None:
            self.load(self._device)
        m = self.info.size_multiple
        if images.shape[-1] % m or images.shape[-2] % m:
            raise ValueError(
                f"{self.info.name} needs sides that are multiples of {m}, got "
                f"{images.shape[-2]}x{images.shape[-1]}"
            )
        x = to_model_range(images, self.model_range).to(self._device, self._dtype)
        with torch.no_grad():
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

    def decode(self, encoded: Encoded) -> Any:
        import torch

        if self._model is None:
            self.load(self._device)
        with torch.no_grad():
            out = self._model.decode(encoded.latents.to(self._device, self._dtype)).sample
        return from_model_range(out.float(), self.model_range)
