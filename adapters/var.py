"""VAR's multi-scale residual VQVAE (FoundationVision/VAR): 10 scales, 680 tokens, 4096 codes.

Built as ``models/__init__.py`` ``build_vae_var`` does: ``VQVAE(vocab_size=4096, z_channels=32,
ch=160, test_mode=True, share_quant_resi=4, v_patch_nums=...)`` with the plain state dict of
``vae_ch160v4096z32.pth``. Codes are one ``[B,pn,pn]`` grid per scale, coarse to fine.
"""

from __future__ import annotations

from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer

from tokbench.families.catalog import Family, Variant, Weights
from tokbench.families.source import SourceTree
from tokbench.families.weights import select_state_dict
from tokbench.tokenizer import Encoded

_WEIGHTS = Weights("FoundationVision/var", "vae_ch160v4096z32.pth")
_SCALES = {"256": (1, 2, 3, 4, 5, 6, 8, 10, 13, 16), "512": (1, 2, 3, 4, 6, 9, 13, 18, 24, 32)}
FAMILY = Family(
    "var",
    f"{__name__}:VAR",
    "VAR multi-scale residual VQVAE (10 scales, 680 tokens)",
    "clone",
    "discrete",
    "multi_scale",
    "[-1,1]",
    "MIT",
    {
        name: Variant(
            name,
            _WEIGHTS,
            native_size=int(name),
            codebook_sizes=(4096,) * 10,
            tokens=tuple(p * p for p in scales),
            params="109M",
            extra={"patch_nums": scales},
        )
        for name, scales in _SCALES.items()
    },
    "256",
    repo="FoundationVision/VAR",
    packages=("huggingface_hub",),
    checked_commit="78b95394fc5896192e3a003e4b295f8ea743c48f",
)


class VAR(CloneTokenizer):
    """``var:variant=256|512,source=CLONE[,ckpt=FILE]`` (512 uses the same weights, 10 larger scales)."""

    family_name = "var"

    def _build_from(self, tree: SourceTree) -> Built:
        vqvae = tree.import_module("models.vqvae")
        model = vqvae.VQVAE(
            vocab_size=4096,
            z_channels=32,
            ch=160,
            test_mode=True,
            share_quant_resi=4,
            v_patch_nums=tuple(self.variant.extra["patch_nums"]),
        )
        path = self.weights_path()
        state, key = select_state_dict(self.checkpoint(path), keys=(), key=self.opts["key"])
        model.load_state_dict(state, strict=True)
        return Built(model, [path], key, source=str(path))

    def _encode(self, x: Any) -> Encoded:
        levels = self._model.img_to_idxBl(x)
        b = x.shape[0]
        codes = []
        for idx in levels:
            side = round(idx.shape[1] ** 0.5)
            codes.append(idx.reshape(b, side, side).long())
        return Encoded(codes=codes, meta={"scales": [int(c.shape[-1]) for c in codes]})

    def _decode(self, encoded: Encoded) -> Any:
        # upstream idxBl_to_img plus a cast: embed_to_fhat sums the scales into an fp32 f_hat
        # whatever the model's dtype, which a bf16/fp16 decoder refuses
        q = self._model.quantize
        ms_h = []
        for c in encoded.codes:  # [B,pn,pn] codes -> [B,C,pn,pn] entries, as idxBl_to_img
            b, ph, pw = c.shape
            ms_h.append(q.embedding(c.reshape(b, ph * pw)).transpose(1, 2).reshape(b, -1, ph, pw))
        f_hat = q.embed_to_fhat(ms_h, all_to_max_scale=True, last_one=True)
        return self._model.fhat_to_img(f_hat.to(self._dtype))
