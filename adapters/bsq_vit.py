"""BSQ-ViT (zhaoyue-zephyrus/bsq-vit): binary spherical quantisation, 32x32 tokens of 18 or 36 bits.

Built as ``scripts/main_image_tokenizer.py`` does: ``VITBSQModel(**config.model.params)`` with
``clamp_range`` (-1,1) when the config's ``data.zero_mean`` is set (then the input range is
[-1,1], else [0,1]); weights as ``init_from_ckpt`` picks them: ``ema_state_dict`` (prefix
``module.module.``) else ``state_dict`` (prefix ``module.``). The hub mirror
``huaweilin/bsqvit_256x256`` ships ``config.yaml`` + ``checkpoint.pt``. Code indices are built
here in int64 from the sign bits (upstream's float sum rounds them); decoding uses upstream's
``get_codebook_entry``, exact in int64.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer, load_weights

from tokbench.families.catalog import Family, Variant, Weights
from tokbench.families.hub import hub_file
from tokbench.families.source import SourceTree
from tokbench.families.tensors import reshape_codes, sign_bit_indices
from tokbench.families.weights import select_state_dict
from tokbench.tokenizer import Encoded

_BOX = "Box links in the README of zhaoyue-zephyrus/bsq-vit; a mirror is huaweilin/bsqvit_256x256"
_CONFIG = "configs/tokenizer/imagenet_256x256_bsqvit_b{0}g{0}_stylegan_f8_fp16.yaml"
FAMILY = Family(
    "bsq-vit",
    f"{__name__}:BSQViT",
    "BSQ-ViT binary spherical quantisation (32x32 x 18 bits)",
    "clone",
    "discrete",
    "2d",
    "[-1,1]",
    "MIT",
    {
        "b18": Variant(
            "b18",
            Weights("huaweilin/bsqvit_256x256", "checkpoint.pt", manual=_BOX),
            downsample=8,
            codebook_sizes=(2**18,),
            tokens=(1024,),
            params="174.8M",
            config=_CONFIG.format(18),
            extra={"hub_config": "config.yaml"},
        ),
        "b36": Variant(
            "b36",
            Weights(filename="checkpoint.pt", manual=_BOX),
            downsample=8,
            codebook_sizes=(2**36,),
            tokens=(1024,),
            params="174.8M",  # b18 + 27,666 (the 36-wide quantiser projections)
            config=_CONFIG.format(36),
        ),
    },
    "b18",
    repo="zhaoyue-zephyrus/bsq-vit",
    packages=("einops", "yaml", "timm"),  # timm: transcoder/models/transformer.py
    checked_commit="37d212d2b43f1c715c49808dd246ec26f826740f",
)


class BSQViT(CloneTokenizer):
    """``bsq-vit:variant=b18|b36,source=CLONE[,ckpt=checkpoint.pt,config=config.yaml]``."""

    family_name = "bsq-vit"

    def _config_file(self, tree: SourceTree) -> Path:
        hub_config = self.variant.extra.get("hub_config")
        if not self.opts["config"] and not self.opts["ckpt"] and hub_config:
            return hub_file(self.info.name, self.variant.weights, hub_config, self.revision, self.offline)
        return self.config_path(tree)

    def _build_from(self, tree: SourceTree) -> Built:
        import yaml

        bsqvit = tree.import_module("transcoder.models.bsqvit")
        with open(self._config_file(tree)) as f:
            config = yaml.safe_load(f)
        zero_mean = bool((config.get("data") or {}).get("zero_mean", False))
        params = dict(config["model"]["params"])
        params["clamp_range"] = (-1, 1) if zero_mean else (0, 1)
        params.pop("ckpt_path", None)
        self.model_range = "[-1,1]" if zero_mean else "[0,1]"
        model = bsqvit.VITBSQModel(**params)
        path = self.weights_path()
        state, key = select_state_dict(
            self.checkpoint(path),
            keys=("ema_state_dict", "state_dict"),
            key=self.opts["key"],
            strip=("module.module.", "module."),
        )
        load_weights(self.info.name, model, state, path)
        return Built(model, [path], key, source=str(path))

    def _encode(self, x: Any) -> Encoded:
        # Upstream's info["indices"] sums bit * 2**i in the latent's float dtype before the cast to
        # int64, which rounds (b36 even in fp32, b18 in bf16/fp16): the indices are built here, in
        # int64, from the sign bits of the quantised latent [B, L, C] (zero maps to -1, as upstream).
        quant, _, _ = self._model.encode(x)
        b, n = quant.shape[0], quant.shape[1]
        side = round(n**0.5)
        return Encoded(codes=reshape_codes(sign_bit_indices(quant), b, (side, side)))

    def _decode(self, encoded: Encoded) -> Any:
        codes = encoded.codes
        quant = self._model.quantize.get_codebook_entry(codes.reshape(codes.shape[0], -1))
        out = self._model.decode(quant.to(self._dtype))
        return self._model.clamp(out) if hasattr(self._model, "clamp") else out
