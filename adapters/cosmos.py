"""NVIDIA Cosmos image tokenizers (NVIDIA/Cosmos-Tokenizer): CI (continuous) and DI (FSQ 64000).

Built as the README does: ``cosmos_tokenizer.image_lib.ImageTokenizer(checkpoint_enc=
encoder.jit, checkpoint_dec=decoder.jit, device, dtype)`` (TorchScript files from the hub repo
``nvidia/Cosmos-0.1-Tokenizer-<variant>``, or ``ckpt=DIR`` holding them). DI codes are
``[B,h,w]`` indices; CI latents ``[B,16,h,w]``. Runs in bf16 by default (``dtype=``), as upstream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer

from tokbench.adapter import Encoded, WeightsUnavailable
from tokbench.upstream import DTYPES, SourceTree, hub_file, is_offline


class Cosmos(CloneTokenizer):
    """``cosmos:variant=CI8x8|CI16x16|DI8x8|DI16x16,source=CLONE[,ckpt=DIR]``."""

    family_name = "cosmos"
    # The TorchScript files bake in bf16 (the FSQ quantiser casts its codes to bfloat16), so
    # the models run in bf16 whatever the runner's precision; dtype= overrides.
    extra_options = {"dtype": "bf16"}

    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        super().load(device, str(self.opts["dtype"]))

    def _files(self) -> list[Path]:
        ckpt = self.opts["ckpt"]
        names = ("encoder.jit", "decoder.jit")
        if ckpt:
            found = [Path(ckpt).expanduser() / n for n in names]
            missing = [str(p) for p in found if not p.is_file()]
            if missing:
                raise WeightsUnavailable(
                    f"{self.info.name}: {', '.join(missing)} not found; ckpt= must be a "
                    f"directory with encoder.jit and decoder.jit"
                )
            return found
        w = self.variant.weights
        return [
            hub_file(self.info.name, w, n, self.opts["revision"], is_offline(self.opts["offline"]))
            for n in names
        ]

    def _build(self, tree: SourceTree) -> Built:
        lib = tree.import_module("cosmos_tokenizer.image_lib")
        enc, dec = self._files()
        dtype = DTYPES.get(str(self._dtype).replace("torch.", ""), "float32")
        model = lib.ImageTokenizer(
            checkpoint_enc=str(enc), checkpoint_dec=str(dec), device=self._device, dtype=dtype
        )
        return Built(model, [enc, dec], None, source=str(enc.parent))

    def _encode(self, x: Any) -> Encoded:
        out = self._model.encode(x)
        first = out if not isinstance(out, (tuple, list)) else out[0]
        if self.info.kind == "discrete":
            return Encoded(codes=first.long())
        return Encoded(latents=first)

    def _decode(self, encoded: Encoded) -> Any:
        return self._model.decode(encoded.codes if encoded.codes is not None else encoded.latents)
