"""Open-MAGVIT2 (LFQ) and IBQ tokenizers from TencentARC/SEED-Voken.

Built as ``reconstruct_image.py`` does: the class named by the yaml's ``model.class_path`` with
``model.init_args``, weights from the Lightning checkpoint's ``state_dict`` (loaded
non-strictly, as upstream), then evaluated with the EMA weights when the config keeps them
(``use_ema``), as upstream's ``ema_scope`` does. The training loss in ``lossconfig`` is
replaced by an identity module: it only builds LPIPS/discriminators and would download VGG.
Codes are ``[B,h,w]`` grids (LFQ indices are the sign bits of the 18-d latent). Importing the
model module runs upstream ``main.py``, which sets torch's float32 matmul precision and cuDNN
flags for the whole process: they are restored right after the import.
"""

from __future__ import annotations

from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer, load_weights

from tokbench.families.catalog import Family, Variant, Weights, grid_tokens
from tokbench.families.source import SourceTree
from tokbench.families.tensors import reshape_codes, torch_globals_kept
from tokbench.families.weights import select_state_dict
from tokbench.tokenizer import Encoded


def _om2(name: str, repo: str, file: str, config: str, k: int, params: str, ds: int = 16) -> Variant:
    return Variant(
        name,
        Weights(f"TencentARC/Open-MAGVIT2-Tokenizer-{repo}", file),
        native_size=None,
        size_multiple=ds,
        downsample=ds,
        codebook_sizes=(k,),
        tokens=(grid_tokens(ds),),
        config="configs/Open-MAGVIT2/gpu/" + config,
        params=params,
    )


_CHECKED = "b9a17eac8e2c0779c12a5429b0bfd6c502788484"

# one adapter class, two families of the same repository
FAMILIES = (
    Family(
        "open-magvit2",
        f"{__name__}:OpenMAGVIT2",
        "Open-MAGVIT2 LFQ tokenizers (2^18 codes)",
        "clone",
        "discrete",
        "2d",
        "[-1,1]",
        "Apache-2.0",
        {
            "256-L": _om2(
                "256-L", "256-resolution", "imagenet_256_L.ckpt", "imagenet_lfqgan_256_L.yaml", 262144, "115.1M"
            ),
            # ch_mult [1,2,2,4]: three downsamplings, so 8 (1024 tokens at 256 px); one level fewer, so
            # fewer parameters than 256-L
            "128-L": _om2(
                "128-L", "128-resolution", "imagenet_128_L.ckpt", "imagenet_lfqgan_128_L.yaml", 262144, "112.0M", ds=8
            ),
            "pretrain-16384": _om2(
                "pretrain-16384",
                "16384-Pretrain",
                "pretrain256_16384.ckpt",
                "pretrain_lfqgan_256_16384.yaml",
                16384,
                "115.1M",
            ),
            "pretrain-262144": _om2(
                "pretrain-262144",
                "262144-Pretrain",
                "pretrain256_262144.ckpt",
                "pretrain_lfqgan_256_262144.yaml",
                262144,
                "115.1M",
            ),
        },
        "256-L",
        repo="TencentARC/SEED-Voken",
        packages=("lightning", "einops"),
        checked_commit=_CHECKED,
    ),
    Family(
        "ibq",
        f"{__name__}:IBQ",
        "IBQ index-backpropagation VQ tokenizers (SEED-Voken)",
        "clone",
        "discrete",
        "2d",
        "[-1,1]",
        "Apache-2.0",
        {
            str(k): Variant(
                str(k),
                Weights(f"TencentARC/IBQ-Tokenizer-{k}", f"imagenet256_{k}.ckpt"),
                native_size=None,
                codebook_sizes=(k,),
                tokens=(256,),
                config=f"configs/IBQ/gpu/imagenet_ibqgan_{k}.yaml",
                params=p,
            )
            for k, p in ((1024, "107.0M"), (8192, "108.9M"), (16384, "111.0M"), (262144, "173.9M"))
        },
        "16384",
        repo="TencentARC/SEED-Voken",
        packages=("lightning", "pytorch_lightning", "einops"),
        checked_commit=_CHECKED,
    ),
)


class OpenMAGVIT2(CloneTokenizer):
    """``open-magvit2:variant=256-L|128-L|pretrain-*`` or ``ibq:variant=1024|8192|16384|262144``."""

    family_name = "open-magvit2"

    def _build_from(self, tree: SourceTree) -> Built:
        import yaml

        with open(self.config_path(tree)) as f:
            config = yaml.safe_load(f)["model"]
        module_name, _, cls_name = str(config["class_path"]).rpartition(".")
        init = dict(config["init_args"])
        init["lossconfig"] = {"target": "torch.nn.Identity"}
        init.pop("ckpt_path", None)
        with torch_globals_kept():  # importing the model module runs main.py's torch settings
            model = getattr(tree.import_module(module_name), cls_name)(**init)
        path = self.weights_path()
        state, key = select_state_dict(self.checkpoint(path), keys=("state_dict",), key=self.opts["key"])
        load_weights(self.info.name, model, state, path, ignore_missing=("loss.", "model_ema."))
        if getattr(model, "use_ema", False) and hasattr(model, "model_ema"):
            model.model_ema.copy_to(model)
        return Built(model, [path], key, source=str(path))

    @property
    def _lfq(self) -> bool:
        return hasattr(self._model.quantize, "token_factorization")

    def _encode(self, x: Any) -> Encoded:
        out = self._model.encode(x)
        quant, indices = (out[0], out[2]) if self._lfq else (out[0], out[2][2])
        b, c, h, w = quant.shape
        meta = {"quant_shape": [int(c), int(h), int(w)]}
        if isinstance(indices, tuple):  # factorised LFQ: two sub-codes per position
            return Encoded(codes=[reshape_codes(i, b, (h, w)) for i in indices], meta=meta)
        return Encoded(codes=reshape_codes(indices, b, (h, w)), meta=meta)

    def _decode(self, encoded: Encoded) -> Any:
        import torch

        c, h, w = encoded.meta["quant_shape"]
        q = self._model.quantize
        levels = encoded.code_levels()
        b = levels[0].shape[0]
        if not self._lfq:
            quant = q.get_codebook_entry(levels[0].reshape(-1), (b, h, w, c))
        elif len(levels) == 2:
            f0, f1 = q.factorized_bits
            quant = torch.cat(
                [
                    q.get_codebook_entry(levels[0].reshape(b, -1), (b, h, w, f0), "pre"),
                    q.get_codebook_entry(levels[1].reshape(b, -1), (b, h, w, f1), "post"),
                ],
                dim=1,
            )
        else:
            quant = q.get_codebook_entry(levels[0].reshape(b, -1), (b, h, w, c), "pre")
        return self._model.decode(quant.to(self._dtype))


class IBQ(OpenMAGVIT2):
    """IBQ (index backpropagation quantisation) tokenizers; same repository and loading."""

    family_name = "ibq"
