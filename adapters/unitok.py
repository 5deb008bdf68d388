"""UniTok (FoundationVision/UniTok): 8 sub-codebooks of 4096 codes at each of 16x16 positions.

Built as ``inference.py`` does: the checkpoint carries its own ``args`` (loaded into
``utils.config.Args``), then ``models.unitok.UniTok(args)`` with the ``trainer.unitok`` weights.
Codes are ``[B,8,16,16]`` (sub-codebook, row, column).
"""

from __future__ import annotations

from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer

from tokbench.adapter import Encoded
from tokbench.upstream import SourceTree, select_state_dict


class UniTok(CloneTokenizer):
    """``unitok:source=CLONE[,ckpt=unitok_tokenizer.pth]``."""

    family_name = "unitok"

    def _build(self, tree: SourceTree) -> Built:
        config = tree.import_module("utils.config")
        unitok = tree.import_module("models.unitok")
        path = self.weights_path()
        ckpt = self.checkpoint(path)
        if not isinstance(ckpt, dict) or "args" not in ckpt:
            raise ValueError(f"{self.info.name}: {path} has no 'args' entry; is it unitok_tokenizer.pth?")
        args = config.Args()
        args.load_state_dict(ckpt["args"])
        model = unitok.UniTok(args)
        state, key = select_state_dict(ckpt, keys=("trainer.unitok", "unitok", "model"), key=self.opts["key"])
        model.load_state_dict(state)
        return Built(model, [path], key, source=str(path))

    def _encode(self, x: Any) -> Encoded:
        idx = self._model.img_to_idx(x)  # [B, K, L]
        b, k, n = idx.shape
        side = round(n**0.5)
        return Encoded(codes=idx.reshape(b, k, side, side).long())

    def _decode(self, encoded: Encoded) -> Any:
        return self._model.idx_to_img(encoded.codes.flatten(2))
