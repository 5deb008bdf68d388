"""Shared shape of LlamaGen-style VQ models (LlamaGen, GigaTok, and forks such as TokenFlow/FQGAN).

Their upstream API: ``encode(x) -> (quant [B,C,h,w], losses, (perplexity, one-hot, indices))``
with flat ``indices`` of length ``B*h*w``, and ``decode_code(indices, shape=quant.shape)`` that
looks the codes up and decodes to ``[-1,1]``. GigaTok's 1-D tokens come as ``h=1, w=256``.
"""

from __future__ import annotations

from typing import Any

from tokbench.adapters._clone import CloneTokenizer

from tokbench.families.tensors import reshape_codes
from tokbench.tokenizer import Encoded


class LlamaGenStyle(CloneTokenizer):
    """Encode/decode for models with LlamaGen's ``encode`` / ``decode_code`` calls."""

    one_d = False  # True: report codes as [B,N] (the 1 x N "grid" is only how they are stored)

    def _encode(self, x: Any) -> Encoded:
        quant, _, info = self._model.encode(x)
        indices = info[2]
        b, c, h, w = quant.shape
        layout = (h * w,) if self.one_d else (h, w)
        codes = reshape_codes(indices, b, layout)
        return Encoded(codes=codes, meta={"quant_shape": [int(c), int(h), int(w)]})

    def _decode(self, encoded: Encoded) -> Any:
        codes = encoded.codes
        b = codes.shape[0]
        c, h, w = encoded.meta["quant_shape"]
        return self._model.decode_code(codes.reshape(-1), shape=(b, c, h, w))
