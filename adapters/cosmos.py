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

from tokbench.families.catalog import Family, Variant, Weights, grid_tokens
from tokbench.families.hub import hub_file
from tokbench.families.source import SourceTree
from tokbench.families.tensors import DTYPES
from tokbench.tokenizer import Encoded, WeightsUnavailable

FAMILY = Family(
    "cosmos",
    f"{__name__}:Cosmos",
    "NVIDIA Cosmos image tokenizers (CI continuous, DI FSQ 64000)",
    "clone",
    "discrete",
    "2d",
    "[-1,1]",
    "NVIDIA Open Model License (code Apache-2.0)",
    {
        f"{k}{f}x{f}": Variant(
            f"{k}{f}x{f}",
            Weights(f"nvidia/Cosmos-0.1-Tokenizer-{k}{f}x{f}", include=("encoder.jit", "decoder.jit")),
            native_size=None,
            downsample=f,
            codebook_sizes=(64000,) if k == "DI" else (),
            tokens=(grid_tokens(f),) if k == "DI" else (),
            latent_channels=None if k == "DI" else 16,
            params="?",
        )
        for k in ("CI", "DI")
        for f in (8, 16)
    },
    "DI16x16",
    repo="NVIDIA/Cosmos-Tokenizer",
    packages=("loguru", "einops", "mediapy", "numpy"),
)


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
        return [hub_file(self.info.name, w, n, self.revision, self.offline) for n in names]

    def _build_from(self, tree: SourceTree) -> Built:
        lib = tree.import_module("cosmos_tokenizer.image_lib")
        enc, dec = self._files()
        dtype = DTYPES.get(str(self._dtype).replace("torch.", ""), "float32")
        model = lib.ImageTokenizer(checkpoint_enc=str(enc), checkpoint_dec=str(dec), device=self._device, dtype=dtype)
        return Built(model, [enc, dec], None, source=str(enc.parent))

    def _encode(self, x: Any) -> Encoded:
        out = self._model.encode(x)
        first = out if not isinstance(out, (tuple, list)) else out[0]
        if self.info.kind == "discrete":
            return Encoded(codes=first.long())
        return Encoded(latents=first)

    def _decode(self, encoded: Encoded) -> Any:
        return self._model.decode(encoded.codes if encoded.codes is not None else encoded.latents)
