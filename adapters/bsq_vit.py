"""BSQ-ViT (zhaoyue-zephyrus/bsq-vit): binary spherical quantisation, 32x32 tokens of 18 or 36 bits.

Built as ``scripts/main_image_tokenizer.py`` does: ``VITBSQModel(**config.model.params)`` with
``clamp_range`` (-1,1) when the config's ``data.zero_mean`` is set (then the input range is
[-1,1], else [0,1]); weights as ``init_from_ckpt`` picks them: ``ema_state_dict`` (prefix
``module.module.``) else ``state_dict`` (prefix ``module.``). The hub mirror
``huaweilin/bsqvit_256x256`` ships ``config.yaml`` + ``checkpoint.pt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer, load_weights

from tokbench.adapter import Encoded
from tokbench.upstream import (
    SourceTree,
    hub_file,
    is_offline,
    reshape_codes,
    select_state_dict,
)


class BSQViT(CloneTokenizer):
    """``bsq-vit:variant=b18|b36,source=CLONE[,ckpt=checkpoint.pt,config=config.yaml]``."""

    family_name = "bsq-vit"

    def _config_file(self, tree: SourceTree) -> Path:
        hub_config = self.variant.extra.get("hub_config")
        if not self.opts["config"] and not self.opts["ckpt"] and hub_config:
            return hub_file(
                self.info.name,
                self.variant.weights,
                hub_config,
                self.opts["revision"],
                is_offline(self.opts["offline"]),
            )
        return self.config_path(tree)

    def _build(self, tree: SourceTree) -> Built:
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
        _, _, info = self._model.encode(x)
        b = x.shape[0]
        n = info["indices"].numel() // b
        side = round(n**0.5)
        return Encoded(codes=reshape_codes(info["indices"], b, (side, side)))

    def _decode(self, encoded: Encoded) -> Any:
        codes = encoded.codes
        quant = self._model.quantize.get_codebook_entry(codes.reshape(codes.shape[0], -1))
        out = self._model.decode(quant.to(self._dtype))
        return self._model.clamp(out) if hasattr(self._model, "clamp") else out
