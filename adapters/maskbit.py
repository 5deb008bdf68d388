"""MaskBiT and VQGAN+ tokenizers (markweberdev/maskbit): conv, 16x16 tokens, input [0,1].

Built as ``scripts/eval_maskbit.py`` does: ``ConvVQModel(config.model.vq_model, legacy=False)``
from ``configs/tokenizer/*.yaml`` and the hub's ``*.bin`` state dict (loaded strictly).
LFQ variants have 2^bits implicit codes; VQGAN+ variants a learned codebook. Decoding is
upstream's ``decode_tokens`` (codebook entry, ``[B,C,h,w]``, ``decode``) with the entries cast to
the model's dtype.
"""

from __future__ import annotations

from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer

from tokbench.families.catalog import Family, Variant, Weights
from tokbench.families.source import SourceTree
from tokbench.families.tensors import reshape_codes
from tokbench.families.weights import select_state_dict
from tokbench.tokenizer import Encoded

# variant -> (hub repo, file, config in the clone, bits per token)
_VARIANTS = {
    f"maskbit-{b}bit": (
        f"markweber/maskbit_tokenizer_{b}bit",
        f"maskbit_tokenizer_{b}bit.bin",
        f"configs/tokenizer/maskbit_tokenizer_{b}bit.yaml",
        b,
    )
    for b in (10, 12, 14, 16, 18)
}
_VARIANTS.update(
    {
        f"vqgan-plus-{b}bit": (
            f"markweber/vqgan_plus_{n}",
            f"vqgan_plus_{n}.bin",
            f"configs/tokenizer/vqgan_plus_{b}bit.yaml",
            b,
        )
        for b, n in ((10, "paper"), (12, "12bit"))
    }
)
FAMILY = Family(
    "maskbit",
    f"{__name__}:MaskBiT",
    "MaskBiT / VQGAN+ conv tokenizers (LFQ bit tokens or VQ)",
    "clone",
    "discrete",
    "2d",
    "[0,1]",
    "Apache-2.0",
    {
        n: Variant(n, Weights(r, f), codebook_sizes=(2**b,), tokens=(256,), config=c, params="~55M")
        for n, (r, f, c, b) in _VARIANTS.items()
    },
    "maskbit-14bit",
    repo="markweberdev/maskbit",
    packages=("omegaconf", "einops", "torchvision"),  # torchvision: modeling/modules (LPIPS) at import
    checked_commit="5ea3d733c62625eaf86dab8364bdb7e6e71def99",
)


class MaskBiT(CloneTokenizer):
    """``maskbit:variant=maskbit-10bit..maskbit-18bit|vqgan-plus-10bit|vqgan-plus-12bit,source=CLONE``."""

    family_name = "maskbit"

    def _build_from(self, tree: SourceTree) -> Built:
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
        # upstream decode_tokens minus its cast-free lookup: the LFQ quantiser returns fp32 bits
        # whatever the model's dtype, which a bf16/fp16 decoder refuses
        codes = encoded.codes
        b, h, w = codes.shape
        z = self._model.quantize.get_codebook_entry(codes.reshape(b, h * w)).to(self._dtype)
        z = z.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
        return self._model.decode(z)
