"""MaskBiT and VQGAN+ tokenizers (markweberdev/maskbit): conv, 16x16 tokens, input [0,1].

Built as ``scripts/eval_maskbit.py`` does: ``ConvVQModel(config.model.vq_model, legacy=False)``
from ``configs/tokenizer/*.yaml`` and the hub's ``*.bin`` state dict (loaded strictly).
LFQ variants have 2^bits implicit codes; VQGAN+ variants a learned codebook.
"""

from __future__ import annotations

from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer

from tokbench.adapter import Encoded
from tokbench.upstream import SourceTree, reshape_codes, select_state_dict


class MaskBiT(CloneTokenizer):
    """``maskbit:variant=maskbit-10bit..maskbit-18bit|vqgan-plus-10bit|vqgan-plus-12bit,source=CLONE``."""

    family_name = "maskbit"

    def _build(self, tree: SourceTree) -> Built:
        from omegaconf import OmegaConf

        conv = tree.import_module("modeling.conv_vqgan")
        config = OmegaConf.load(self.config_path(tree))
        model = conv.ConvVQModel(config.model.vq_model, legacy=False)
        path = self.weights_path()
        state, key = select_state_dict(self.checkpoint(path), keys=(), key=self.opts["key"])
        model.load_state_dict(state, strict=True)
        return Built(model, [path], key, source=str(path))

    def _encode(self, x: Any) -> Encoded:
        _, result = self._model.encode(x)
        idx = result["min_encoding_indices"]
        h, w = x.shape[-2] // 16, x.shape[-1] // 16
        return Encoded(codes=reshape_codes(idx, x.shape[0], (h, w)))

    def _decode(self, encoded: Encoded) -> Any:
        codes = encoded.codes
        return self._model.decode_tokens(codes.reshape(codes.shape[0], -1))
