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
from pathlib import Path
from typing import Any

from tokbench.families.base import Built, FamilyTokenizer
from tokbench.families.catalog import Family, Variant, Weights
from tokbench.families.hub import fetch_command, hub_file
from tokbench.families.tensors import reshape_codes, seeded
from tokbench.families.weights import CheckpointMismatch
from tokbench.tokenizer import Encoded, WeightsUnavailable

FAMILY = Family(
    "janus-vq",
    f"{__name__}:JanusVQ",
    "Janus / Janus-Pro image-generation VQ (transformers)",
    "pypi:transformers",
    "discrete",
    "2d",
    "[-1,1]",
    "DeepSeek Model License (code MIT)",
    {
        v: Variant(
            v,
            Weights(repo=f"deepseek-community/Janus-Pro-{v.upper()}"),
            native_size=384,
            codebook_sizes=(16384,),
            tokens=(576,),
            params="~70M",
        )
        for v in ("1b", "7b")
    },
    "1b",
    repo="deepseek-ai/Janus",
    packages=("transformers", "safetensors"),
)
PREFIX = "vqmodel."


class JanusVQ(FamilyTokenizer):
    """``janus-vq:variant=1b|7b[,path=DIR]``."""

    family_name = "janus-vq"
    options = ("variant", "path", "ckpt", "config", "revision", "offline", "seed")

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
        super().__init__(family_name, variant, revision, offline, **unknown)
        self.path, self.config, self.seed = path or ckpt, config, seed
        source = "random init from config" if config is not None else (path or self.variant.weights.describe())
        self.info = self._row_info(
            {"variant": self.variant.name, **({"revision": revision} if revision else {})}, weights_source=source
        )

    # -- loading ------------------------------------------------------------------------------
    def _build(self) -> Built:
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
                return Built(JanusVQVAE(JanusVQVAEConfig(**cfg)), random_init=True)
        root, files = self._locate()
        raw = json.loads((root / "config.json").read_text())
        vq_cfg: Any = JanusConfig(**raw).vq_config if "vq_config" in raw else JanusVQVAEConfig(**raw)
        model = JanusVQVAE(vq_cfg)
        state = _read_tensors(files)
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys:
            raise CheckpointMismatch(
                f"{self.info.name}: {len(result.missing_keys)} VQ weights missing from {root} "
                f"(e.g. {result.missing_keys[0]})"
            )
        return Built(model, files)

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
        w, rev, off = self.variant.weights, self.revision, self.offline
        cfg = hub_file(self.info.name, w, "config.json", rev, off)
        try:
            index = hub_file(self.info.name, w, "model.safetensors.index.json", rev, off)
        except WeightsUnavailable:
            return cfg.parent, [hub_file(self.info.name, w, "model.safetensors", rev, off)]
        return cfg.parent, [hub_file(self.info.name, w, n, rev, off) for n in _vq_shards(index)]

    def _built_info(self, built: Built) -> dict[str, Any]:
        vq = built.model.config
        factor = 2 ** (len(vq.channel_multiplier) - 1)
        return {
            "native_size": int(vq.num_patches) * factor,
            "codebook_sizes": (int(vq.num_embeddings),),
            "downsample": factor,
        }

    # -- the contract ---------------------------------------------------------------------------
    def _encode(self, x: Any) -> Encoded:
        out = self._model.encode(x)
        side = int(self._model.config.num_patches)
        return Encoded(codes=reshape_codes(out.image_tokens, x.shape[0], (side, side)))

    def _decode(self, encoded: Encoded) -> Any:
        codes = encoded.codes
        return self._model.decode(codes.reshape(codes.shape[0], -1).to(self._device))


def _vq_shards(index: Path) -> list[str]:
    weight_map = json.loads(index.read_text()).get("weight_map", {})
    names = sorted({f for k, f in weight_map.items() if PREFIX in k})
    if not names:
        raise CheckpointMismatch(f"{index} lists no '{PREFIX}' tensors; is this a Janus checkpoint?")
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
