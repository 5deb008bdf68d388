"""UniTok (FoundationVision/UniTok): 8 sub-codebooks of 4096 codes at each of 16x16 positions.

Built as ``inference.py`` does: the checkpoint carries its own ``args`` (loaded into
``utils.config.Args``), then ``models.unitok.UniTok(args)`` with the ``trainer.unitok`` weights.
Codes are ``[B,8,16,16]`` (sub-codebook, row, column).
"""

from __future__ import annotations

from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer

from tokbench.families.catalog import Family, Variant, Weights
from tokbench.families.source import SourceTree
from tokbench.families.weights import CheckpointMismatch, select_state_dict
from tokbench.tokenizer import Encoded

FAMILY = Family(
    "unitok",
    f"{__name__}:UniTok",
    "UniTok multi-codebook tokenizer (8 x 4096 per position)",
    "clone",
    "discrete",
    "multi_codebook",
    "[-1,1]",
    "MIT",
    {
        "large": Variant(
            "large",
            Weights("FoundationVision/unitok_tokenizer", "unitok_tokenizer.pth"),
            codebook_sizes=(4096,) * 8,
            tokens=(256,) * 8,
            params="820M",  # with the CLIP text tower the checkpoint carries
        )
    },
    "large",
    repo="FoundationVision/UniTok",
    packages=("timm", "tap", "pytz", "ftfy", "regex"),
    # timm 1.0.13 - 1.0.31 raise TypeErrors in models/unitok.py's timm.create_model call
    requirements=("timm<=1.0.12",),
    # open_clip/tokenizer.py opens its BPE vocabulary when models/unitok.py imports open_clip
    clone_files=("open_clip/bpe_simple_vocab_16e6.txt.gz",),
    checked_commit="bb8012e8e8d7be66928bedd80506c56a55ea6305",
)


class UniTok(CloneTokenizer):
    """``unitok:source=CLONE[,ckpt=unitok_tokenizer.pth]``."""

    family_name = "unitok"

    def _build_from(self, tree: SourceTree) -> Built:
        config = tree.import_module("utils.config")
        unitok = tree.import_module("models.unitok")
        path = self.weights_path()
        ckpt = self.checkpoint(path)
        if not isinstance(ckpt, dict) or "args" not in ckpt:
            raise CheckpointMismatch(f"{self.info.name}: {path} has no 'args' entry; is it unitok_tokenizer.pth?")
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
