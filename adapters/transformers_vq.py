"""Janus / Janus-Pro image-generation VQ through transformers (``JanusVQVAE``), input [-1,1], 384x384.

The VQ lives inside the multimodal checkpoint (``deepseek-community/Janus-Pro-1B``/``-7B``):
this adapter reads ``config.json`` for ``vq_config`` and loads only the ``*vqmodel.*`` tensors
from the safetensors shards that hold them, so the language model is never materialised.
``path=DIR`` uses a local copy of that repository (or a ``JanusVQVAE.save_pretrained`` dir);
``config=`` (dict or JSON of a ``JanusVQVAEConfig``) builds random weights (tests).
Codes are ``[B,24,24]`` grids of 16384 codes.

transformers' ``ChameleonVQVAE`` has an encoder only (no decoder), so Chameleon cannot
reconstruct through transformers and has no adapter here.
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
    count_params,
    family,
    fetch_command,
    hub_file,
    is_offline,
    reject_unknown,
    reshape_codes,
    seeded,
    sha256_files,
    torch_dtype,
    warn_license_once,
)

OPTIONS = ["variant", "path", "ckpt", "config", "revision", "offline", "seed"]
PREFIX = "vqmodel."


class JanusVQ(Tokenizer):
    """``janus-vq:variant=1b|7b[,path=DIR]``."""

    def __init__(
        self,
        family_name: str = "janus-vq",
        variant: str | None = None,
        path: str | None = None,
        ckpt: str | None = None,
        config: dict[str, Any] | str | None = None,
        revision: str | None = None,
        offline: bool | None = None,
        seed: int = 0,
        **unknown: Any,
    ) -> None:
        self.fam: Family = family(family_name)
        reject_unknown(self.fam.name, unknown, OPTIONS)
        self.variant = self.fam.variant(variant)
        self.path, self.config, self.offline, self.seed = path or ckpt, config, offline, seed
        self.revision = None if revision is None else str(revision)
        v = self.variant
        self.info = TokenizerInfo(
            name=f"{self.fam.name}-{v.name}",
            family=self.fam.name,
            kind="discrete",
            native_size=v.native_size,
            codebook_sizes=v.codebook_sizes,
            token_layout="2d",
            downsample=16,
            license=self.fam.license,
            weights_source="random init from config"
            if config is not None
            else (path or v.weights.describe()),
            options={"variant": v.name, **({"revision": revision} if revision else {})},
        )
        self._model: Any = None
        self._device, self._dtype = "cpu", None

    # -- loading ------------------------------------------------------------------------------
    def _build(self) -> tuple[Any, list[Path]]:
        try:
            from transformers import JanusConfig, JanusVQVAE, JanusVQVAEConfig
        except ImportError:
            raise WeightsUnavailable(
                f"{self.fam.name}: needs transformers with Janus support (>= 4.52). "
                f"Fix: pip install 'tokbench[transformers]'"
            ) from None
        if self.config is not None:
            cfg = self.config
            if isinstance(cfg, (str, Path)):
                cfg = json.loads(Path(cfg).expanduser().read_text())
            with seeded(self.seed):
                return JanusVQVAE(JanusVQVAEConfig(**cfg)), []
        root, files = self._locate()
        raw = json.loads((root / "config.json").read_text())
        vq_cfg = JanusConfig(**raw).vq_config if "vq_config" in raw else JanusVQVAEConfig(**raw)
        model = JanusVQVAE(vq_cfg)
        state = _read_tensors(files)
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys:
            raise ValueError(
                f"{self.info.name}: {len(result.missing_keys)} VQ weights missing from {root} "
                f"(e.g. {result.missing_keys[0]})"
            )
        return model, files

    def _locate(self) -> tuple[Path, list[Path]]:
        """The directory holding config.json and the weight shards that contain the VQ."""
        if self.path:
            root = Path(self.path).expanduser()
            if not (root / "config.json").is_file():
                raise WeightsUnavailable(
                    f"{self.info.name}: {root}/config.json not found. Fix: "
                    f"{fetch_command(self.variant.weights, self.revision)} --local-dir {root}"
                )
            index = root / "model.safetensors.index.json"
            if index.is_file():
                names = _vq_shards(index)
                return root, [root / n for n in names]
            return root, sorted(root.glob("*.safetensors"))
        w, rev, off = self.variant.weights, self.revision, is_offline(self.offline)
        cfg = hub_file(self.info.name, w, "config.json", rev, off)
        try:
            index = hub_file(self.info.name, w, "model.safetensors.index.json", rev, off)
        except WeightsUnavailable:
            return cfg.parent, [hub_file(self.info.name, w, "model.safetensors", rev, off)]
        return cfg.parent, [hub_file(self.info.name, w, n, rev, off) for n in _vq_shards(index)]

    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        if self._model is None:
            model, files = self._build()
            self._model = model.eval().requires_grad_(False)
            vq = model.config
            native = int(vq.num_patches) * 2 ** (len(vq.channel_multiplier) - 1)
            self.info = replace(
                self.info,
                params=count_params(model),
                weights_sha256=sha256_files(files),
                native_size=native,
                codebook_sizes=(int(vq.num_embeddings),),
                downsample=2 ** (len(vq.channel_multiplier) - 1),
            )
            if self.config is None:
                warn_license_once(self.info.name, self.info.license, self.fam.noncommercial)
        self._device, self._dtype = device, torch_dtype(dtype)
        self._model.to(device=device, dtype=self._dtype)

    # -- the contract ---------------------------------------------------------------------------
    def encode(self, images: Any) -> Encoded:
        import math

        import torch

        if self._model is None:
            self.load(self._device)
        n = self.info.native_size
        if tuple(images.shape[-2:]) != (n, n):
            raise ValueError(
                f"{self.info.name} takes {n}x{n} images, got {images.shape[-2]}x{images.shape[-1]}"
            )
        x = to_model_range(images, "[-1,1]").to(self._device, self._dtype)
        with torch.no_grad():
            out = self._model.encode(x)
        side = int(self._model.config.num_patches)
        codes = reshape_codes(out.image_tokens, x.shape[0], (side, side))
        bits = side * side * math.log2(self.info.codebook_sizes[0])
        return Encoded(codes=codes, bits=torch.full((x.shape[0],), bits, dtype=torch.float64))

    def decode(self, encoded: Encoded) -> Any:
        import torch

        codes = encoded.codes
        with torch.no_grad():
            out = self._model.decode(codes.reshape(codes.shape[0], -1).to(self._device))
        return from_model_range(out.float(), "[-1,1]")


def _vq_shards(index: Path) -> list[str]:
    weight_map = json.loads(index.read_text()).get("weight_map", {})
    names = sorted({f for k, f in weight_map.items() if PREFIX in k})
    if not names:
        raise ValueError(f"{index} lists no '{PREFIX}' tensors; is this a Janus checkpoint?")
    return names


def _read_tensors(files: list[Path]) -> dict[str, Any]:
    """The VQ tensors of the shards, keys relative to the VQ model (``encoder.…``, ``quantize.…``)."""
    from safetensors import safe_open

    state: dict[str, Any] = {}
    for f in files:
        with safe_open(str(f), framework="pt") as handle:
            keys = list(handle.keys())
            inside = any(PREFIX in k for k in keys)  # False: a JanusVQVAE saved on its own
            for key in keys:
                if PREFIX in key or not inside:
                    state[key.split(PREFIX, 1)[1] if inside else key] = handle.get_tensor(key)
    return state
