"""NVIDIA Cosmos image tokenizers (NVIDIA/Cosmos-Tokenizer): CI (continuous) and DI (FSQ 64000).

Built as the README does: ``cosmos_tokenizer.image_lib.ImageTokenizer(checkpoint_enc=
encoder.jit, checkpoint_dec=decoder.jit, device, dtype)`` (TorchScript files from the hub repo
``nvidia/Cosmos-0.1-Tokenizer-<variant>``, or ``ckpt=DIR`` holding them). DI codes are
``[B,h,w]`` indices; CI latents ``[B,16,h,w]``. Runs in the dtype the files were traced in (bf16
for NVIDIA's), whatever the runner's precision; ``dtype=`` overrides, and both are recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer

from tokbench.families.catalog import Family, Variant, Weights, grid_tokens
from tokbench.families.hub import hub_file
from tokbench.families.source import SourceTree
from tokbench.families.tensors import DTYPES, torch_dtype
from tokbench.tokenizer import Encoded, WeightsUnavailable

# parameters counted on cosmos_tokenizer/networks built from its CI/DI configs at each compression
_PARAMS = {"CI8x8": "76.8M", "CI16x16": "81.5M", "DI8x8": "79.0M", "DI16x16": "83.7M"}
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
            params=_PARAMS[f"{k}{f}x{f}"],
        )
        for k in ("CI", "DI")
        for f in (8, 16)
    },
    "DI16x16",
    repo="NVIDIA/Cosmos-Tokenizer",
    packages=("loguru", "einops", "mediapy", "numpy"),
    checked_commit="3584ae752ce8ebdbe06a420bf60d7513c0e878cc",
)


class Cosmos(CloneTokenizer):
    """``cosmos:variant=CI8x8|CI16x16|DI8x8|DI16x16,source=CLONE[,ckpt=DIR,dtype=traced|bf16|fp16|fp32]``."""

    family_name = "cosmos"
    # The TorchScript files bake in the dtype they were traced in (the FSQ quantiser casts its codes
    # to it; NVIDIA's files are bf16), so by default the model runs in that dtype, read from the
    # encoder's weights, whatever the runner's precision; dtype= overrides. Both are recorded.
    extra_options = {"dtype": "traced"}
    _run_dtype: str | None = None
    _traced: str | None = None

    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        given = str(self.opts["dtype"])
        # before the build the traced dtype is unknown: bf16 (upstream's default) until it is read
        super().load(device, self._run_dtype or (given if given != "traced" else "bf16"))

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
        self._traced = traced_dtype(enc)
        given = str(self.opts["dtype"])
        if given == "traced":
            # a file with no float weights says nothing: upstream's default, bf16
            self._run_dtype = self._traced or "bf16"
        else:
            self._run_dtype = given  # a known name: load() has already converted it
        self._dtype = torch_dtype(self._run_dtype)
        model = lib.ImageTokenizer(
            checkpoint_enc=str(enc), checkpoint_dec=str(dec), device=self._device, dtype=DTYPES[self._run_dtype]
        )
        return Built(model, [enc, dec], None, source=str(enc.parent))

    def _built_info(self, built: Built) -> dict[str, Any]:
        info = super()._built_info(built)
        info["options"].update(dtype=self._run_dtype, traced_dtype=self._traced)
        return info

    def _encode(self, x: Any) -> Encoded:
        out = self._model.encode(x)
        first = out if not isinstance(out, (tuple, list)) else out[0]
        if self.info.kind == "discrete":
            return Encoded(codes=first.long())
        return Encoded(latents=first)

    def _decode(self, encoded: Encoded) -> Any:
        return self._model.decode(encoded.codes if encoded.codes is not None else encoded.latents)


_SHORT = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def traced_dtype(path: Path) -> str | None:
    """The dtype a TorchScript file's float weights were saved in (``bf16``...), None if it has none."""
    import torch

    module = torch.jit.load(str(path), map_location="cpu")
    for t in (*module.parameters(), *module.buffers()):
        if t.is_floating_point():
            return _SHORT.get(str(t.dtype).replace("torch.", ""), str(t.dtype))
    return None
