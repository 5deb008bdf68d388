"""LlamaGen VQGAN (FoundationVision/LlamaGen): conv VQ, 16384 codes of dim 8, f16 or f8.

Built as ``tokenizer/tokenizer_image/vq_demo.py`` does: ``VQ_models[name](codebook_size=16384,
codebook_embed_dim=8)``, weights from ``ema``/``model``/``state_dict``. Fully convolutional, so
any side that is a multiple of the downsampling factor works (trained at 256).
"""

from __future__ import annotations

from tokbench.adapters._clone import Built
from tokbench.adapters._vq_llamagen import LlamaGenStyle

from tokbench.families.catalog import Family, Variant, Weights, grid_tokens
from tokbench.families.source import SourceTree
from tokbench.families.weights import select_state_dict


def _variant(arch: str, repo: str, file: str, ds: int, params: str) -> Variant:
    # fully convolutional: any multiple of ds; tokens counted at 256x256
    return Variant(
        arch,
        Weights(repo, file),
        native_size=None,
        size_multiple=ds,
        downsample=ds,
        codebook_sizes=(16384,),
        tokens=(grid_tokens(ds),),
        params=params,
        extra={"model": arch},
    )


FAMILY = Family(
    "llamagen",
    f"{__name__}:LlamaGen",
    "LlamaGen VQGAN (conv, 16384 codes)",
    "clone",
    "discrete",
    "2d",
    "[-1,1]",
    "MIT",
    {
        "VQ-16": _variant("VQ-16", "FoundationVision/LlamaGen", "vq_ds16_c2i.pt", 16, "72M"),
        "VQ-16-t2i": _variant("VQ-16", "peizesun/llamagen_t2i", "vq_ds16_t2i.pt", 16, "72M"),
        "VQ-8": _variant("VQ-8", "FoundationVision/LlamaGen", "vq_ds8_c2i.pt", 8, "70M"),
    },
    "VQ-16",
    repo="FoundationVision/LlamaGen",
    packages=(),
    checked_commit="ce98ec41803a74a90ce68c40ababa9eaeffeb4ec",
)


class LlamaGen(LlamaGenStyle):
    """``llamagen:variant=VQ-16|VQ-16-t2i|VQ-8,source=CLONE[,ckpt=FILE]``."""

    family_name = "llamagen"
    extra_options = {"codebook_size": 16384, "codebook_embed_dim": 8}

    def _build_from(self, tree: SourceTree) -> Built:
        vq = tree.import_module("tokenizer.tokenizer_image.vq_model")
        arch = self.variant.extra.get("model", self.variant.name)
        model = vq.VQ_models[arch](
            codebook_size=int(self.opts["codebook_size"]),
            codebook_embed_dim=int(self.opts["codebook_embed_dim"]),
        )
        path = self.weights_path()
        state, key = select_state_dict(self.checkpoint(path), key=self.opts["key"])
        model.load_state_dict(state)
        return Built(model, [path], key, source=str(path))
