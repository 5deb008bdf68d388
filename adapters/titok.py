"""TiTok 1-D tokenizers (bytedance/1d-tokenizer): 32-256 tokens per 256x256 image, input [0,1].

Weights are hub repositories loaded with ``TiTok.from_pretrained(repo)`` (PyTorchModelHubMixin:
config and weights travel together); ``ckpt=`` may also be a local directory saved that way,
or a ``.bin`` state dict combined with the clone's ``configs/infer/TiTok/*.yaml``.
VQ variants give codes ``[B,N]``; VAE variants (``*_vae_c16``) give latents ``[B,16,1,N]``
(posterior mode by default, ``latent=sample`` with ``seed=`` to sample as upstream does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokbench.adapters._clone import Built, CloneTokenizer, load_weights

from tokbench.families.catalog import Family, Variant, Weights
from tokbench.families.hub import fetch_command, hub_cached, require_hub, short_error
from tokbench.families.source import SourceTree
from tokbench.families.tensors import seeded
from tokbench.families.weights import select_state_dict
from tokbench.tokenizer import Encoded, WeightsUnavailable

# variant -> (hub repo, codebook size (0: continuous), tokens, quantiser)
_VARIANTS = {
    n: (f"yucornetto/tokenizer_titok_{n}_imagenet", k, t, "vq")
    for n, k, t in (
        ("l32", 4096, 32),
        ("b64", 4096, 64),
        ("s128", 4096, 128),
        ("bl64_vq8k", 8192, 64),
        ("bl128_vq8k", 8192, 128),
        ("sl256_vq8k", 8192, 256),
    )
}
_VARIANTS.update(
    {
        f"{n}_vae_c16": (f"yucornetto/tokenizer_titok_{n}_vae_c16_imagenet", 0, t, "vae")
        for n, t in (("ll32", 32), ("bl64", 64), ("bl128", 128))
    }
)
# parameters of each variant, counted on the model built from configs/infer/TiTok/*.yaml
_PARAMS = {
    "l32": "641.1M",
    "b64": "204.8M",
    "s128": "83.7M",
    "bl64_vq8k": "390.0M",
    "bl128_vq8k": "390.2M",
    "sl256_vq8k": "330.3M",
    "ll32_vae_c16": "606.9M",
    "bl64_vae_c16": "389.4M",
    "bl128_vae_c16": "389.6M",
}
FAMILY = Family(
    "titok",
    f"{__name__}:TiTok",
    "TiTok 1-D tokenizers (32-256 tokens; VQ and VAE variants)",
    "clone",
    "discrete",
    "1d",
    "[0,1]",
    "Apache-2.0",
    {
        n: Variant(
            n,
            Weights(repo=r),
            codebook_sizes=(k,) if k else (),
            tokens=(t,) if k else (),
            latent_channels=None if k else 16,
            downsample=None,
            params=_PARAMS[n],
            config=f"configs/infer/TiTok/titok_{n}.yaml",
            extra={"mode": m},
        )
        for n, (r, k, t, m) in _VARIANTS.items()
    },
    "l32",
    repo="bytedance/1d-tokenizer",
    packages=("einops", "omegaconf", "huggingface_hub", "accelerate", "torchvision", "requests"),
    checked_commit="942a96fbdd873780179d1b78d5462911528bf8c8",
)


class TiTok(CloneTokenizer):
    """``titok:variant=l32|b64|s128|bl64_vq8k|...|bl128_vae_c16,source=CLONE[,ckpt=DIR_OR_FILE]``."""

    family_name = "titok"
    extra_options = {"latent": "mode", "seed": 0}

    def _build_from(self, tree: SourceTree) -> Built:
        titok = tree.import_module("modeling.titok")
        ckpt = self.opts["ckpt"]
        if ckpt and Path(ckpt).is_file():
            from omegaconf import OmegaConf

            model = titok.TiTok(OmegaConf.load(self.config_path(tree)))
            path = Path(ckpt).resolve()
            state, key = select_state_dict(self.checkpoint(path), keys=(), key=self.opts["key"])
            load_weights(self.info.name, model, state, path)
            return Built(model, [path], key, source=str(path))
        w = self.variant.weights
        where = ckpt or w.repo
        rev = self.revision
        fix = f"Fix: {fetch_command(w, rev)} (or pass ckpt=DIR)"
        try:  # the local cache first: no network, no retries
            model = titok.TiTok.from_pretrained(where, revision=rev, local_files_only=True)
        except Exception as e:  # hub/IO errors of every kind mean "weights not here"
            if ckpt or self.offline:
                raise WeightsUnavailable(
                    f"{self.info.name}: could not load {where} locally ({short_error(e)}). {fix}"
                ) from None
            require_hub(self.info.name, str(where), fix)
            try:
                model = titok.TiTok.from_pretrained(where, revision=rev)
            except Exception as e2:
                raise WeightsUnavailable(
                    f"{self.info.name}: could not download {where} ({short_error(e2)}). {fix}"
                ) from None
        if ckpt:
            files = [p for p in Path(ckpt).iterdir() if p.suffix in (".safetensors", ".bin")]
        else:
            files = [
                p
                for f in ("model.safetensors", "pytorch_model.bin")
                if (p := hub_cached(w, f, self.revision)) is not None
            ]
        return Built(model, files, None, source=str(where))

    def _encode(self, x: Any) -> Encoded:
        if self.variant.extra["mode"] == "vq":
            _, result = self._model.encode(x)
            tokens = result["min_encoding_indices"]
            return Encoded(codes=tokens.reshape(x.shape[0], -1).long())
        _, posterior = self._model.encode(x)
        if self.opts["latent"] == "sample":
            with seeded(self.opts["seed"], x.device):
                z = posterior.sample()
        else:
            z = posterior.mode()
        return Encoded(latents=z, meta={"latent": self.opts["latent"]})

    def _place(self) -> None:
        super()._place()
        if self.variant.extra["mode"] == "vq":
            # upstream's quantiser casts its input to fp32 and compares it with its codebook (as under
            # autocast with fp32 weights): a bf16/fp16 codebook makes that comparison fail
            self._model.quantize.float()

    def _decode(self, encoded: Encoded) -> Any:
        if encoded.codes is not None:
            # upstream's decode_tokens, with the (fp32) codebook entries cast to the decoder's dtype
            tokens = encoded.codes.to(self._device)
            b, n = tokens.shape
            z = self._model.quantize.get_codebook_entry(tokens.reshape(-1)).reshape(b, 1, n, -1)
            return self._model.decode(z.permute(0, 3, 1, 2).contiguous().to(self._dtype))
        # upstream's posterior gives an fp32 latent whatever the model's dtype, which a bf16/fp16
        # decoder refuses
        return self._model.decode_tokens(encoded.latents.to(self._device, self._dtype))
