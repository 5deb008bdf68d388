"""The glue of clone-based adapters, run against small stand-in clones written into tmp_path.

Each stand-in exposes the upstream module paths and call signatures the adapter uses (e.g.
GigaTok's ``utils/model_init.py`` ``load_model_from_config`` / ``custom_load``), backed by a
tiny pool-and-nearest-code model, so import-from-source, config -> model, state-dict key
selection, code layouts, bits and range conversion are exercised offline. Each stand-in's
``.git/HEAD`` is the upstream commit whose API it mirrors: the commit its family row names as
``checked_commit`` (tests/test_clone_upstream.py holds them to it).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch

from tokbench.families.source import SourceTree
from tokbench.families.weights import select_state_dict, sha256_file
from tokbench.registry import build_model, parse_model_spec
from tokbench.tokenizer import WeightsUnavailable

# A tiny "tokenizer": average-pool by ds, 1x1 conv, nearest code; decode = lookup, 1x1 conv,
# nearest upsample, tanh (so outputs are in [-1,1] like the real models). Records input ranges.
CORE = """
import torch
import torch.nn as nn
import torch.nn.functional as F

SEEN = []


class Core(nn.Module):
    def __init__(self, codebook_size=16, dim=4, ds=16):
        super().__init__()
        self.ds = ds
        self.enc = nn.Conv2d(3, dim, 1)
        self.dec = nn.Conv2d(dim, 3, 1)
        self.embedding = nn.Embedding(codebook_size, dim)

    def grid(self, x):
        SEEN.append((float(x.min()), float(x.max())))
        h = self.enc(F.avg_pool2d(x, self.ds))
        b, d, hh, ww = h.shape
        flat = h.permute(0, 2, 3, 1).reshape(-1, d)
        idx = torch.cdist(flat, self.embedding.weight).argmin(1)
        return self.lookup(idx, (b, d, hh, ww)), idx

    def lookup(self, idx, shape):
        b, d, hh, ww = shape
        return self.embedding(idx.reshape(-1)).view(b, hh, ww, d).permute(0, 3, 1, 2)

    def render(self, q):
        return torch.tanh(F.interpolate(self.dec(q), scale_factor=self.ds, mode="nearest"))
"""

GIGATOK = {
    ".git/HEAD": "182920c52b2a9675efec5d787fc35278e84f4889\n",  # the upstream commit this stand-in mirrors
    "tokenizer/__init__.py": "",
    "tokenizer/tokenizer_image/__init__.py": "",
    "tokenizer/tokenizer_image/vq/__init__.py": "",
    "tokenizer/tokenizer_image/vq/vq_vit_model.py": """
        import torch
        from fakecore import Core


        class VQVitModelPlus(Core):
            def encode(self, x, num_en_q_level=None, causal_type=None):
                q, idx = self.grid(x)
                b, d = q.shape[:2]
                return q.reshape(b, d, 1, -1), [0.0, 0.0, 0.0, 0.0], (None, None, idx)

            def decode_code(self, code_b, shape=None, channel_first=True):
                b, d, _, n = shape
                side = int(n ** 0.5)
                return self.render(self.lookup(code_b, (b, d, side, side)))
        """,
    "utils/__init__.py": "",
    "utils/model_init.py": """
        from tokenizer.tokenizer_image.vq.vq_vit_model import VQVitModelPlus


        def load_model_from_config(config):
            args = config["model"]["init_args"]
            print("VQVitModelPlusArgs(...)")  # upstream prints its args; the adapter silences it
            return VQVitModelPlus(args["codebook_size"], args["codebook_embed_dim"])


        def custom_load(model, state_dict, only_check_missing=True):
            result = model.load_state_dict(state_dict, strict=False)
            if result.missing_keys:
                raise KeyError(f"Missing keys in state_dict: {result.missing_keys}")
        """,
    "configs/vq/VQ_BL256.yaml": """
        model:
          model_cls: VQVitModelPlus
          init_args: {codebook_size: 16384, codebook_embed_dim: 8, num_latent_tokens: 256}
        trainer: {distill_loss: true}
        """,
}

LLAMAGEN = {
    ".git/HEAD": "ce98ec41803a74a90ce68c40ababa9eaeffeb4ec\n",  # the upstream commit this stand-in mirrors
    "tokenizer/__init__.py": "",
    "tokenizer/tokenizer_image/__init__.py": "",
    "tokenizer/tokenizer_image/vq_model.py": """
        from fakecore import Core


        class VQModel(Core):
            def encode(self, x):
                q, idx = self.grid(x)
                return q, (0.0, 0.0, 0.0), (None, None, idx)

            def decode_code(self, code_b, shape=None, channel_first=True):
                return self.render(self.lookup(code_b, shape))


        def VQ_16(**kwargs):
            return VQModel(kwargs["codebook_size"], kwargs["codebook_embed_dim"], ds=16)


        def VQ_8(**kwargs):
            return VQModel(kwargs["codebook_size"], kwargs["codebook_embed_dim"], ds=8)


        VQ_models = {"VQ-16": VQ_16, "VQ-8": VQ_8}
        """,
}

VAR = {
    ".git/HEAD": "78b95394fc5896192e3a003e4b295f8ea743c48f\n",  # the upstream commit this stand-in mirrors
    "models/__init__.py": "from .vqvae import VQVAE\n",
    "models/vqvae.py": """
        import torch
        import torch.nn.functional as F
        from fakecore import Core


        class Quant:
            def __init__(self, embedding):
                self.embedding = embedding

            def embed_to_fhat(self, ms_h_BChw, all_to_max_scale=True, last_one=False):
                h = ms_h_BChw[-1]
                f_hat = h.new_zeros(h.shape, dtype=torch.float32)  # as upstream: fp32 whatever the dtype
                return f_hat.add_(h)


        class VQVAE(Core):
            def __init__(self, vocab_size=4096, z_channels=32, ch=128, test_mode=True, share_quant_resi=4,
                         v_patch_nums=(1, 2, 3, 4, 5, 6, 8, 10, 13, 16)):
                super().__init__(vocab_size, 4, ds=16)
                self.v_patch_nums = v_patch_nums
                self.Cvae = 4
                self.quantize = Quant(self.embedding)

            def img_to_idxBl(self, inp_img_no_grad, v_patch_nums=None):
                q, _ = self.grid(inp_img_no_grad)
                out = []
                for pn in self.v_patch_nums:
                    f = F.adaptive_avg_pool2d(q, pn)
                    flat = f.permute(0, 2, 3, 1).reshape(-1, f.shape[1])
                    out.append(torch.cdist(flat, self.embedding.weight).argmin(1).view(q.shape[0], pn * pn))
                return out

            def fhat_to_img(self, f_hat):
                return self.render(f_hat).clamp(-1, 1)

            def idxBl_to_img(self, ms_idx_Bl, same_shape, last_one=False):
                b = ms_idx_Bl[0].shape[0]
                ms_h = []
                for idx in ms_idx_Bl:
                    pn = round(idx.shape[1] ** 0.5)
                    ms_h.append(self.quantize.embedding(idx).transpose(1, 2).view(b, self.Cvae, pn, pn))
                return self.fhat_to_img(self.quantize.embed_to_fhat(ms_h, same_shape, last_one))
        """,
}

UNITOK: dict[str, str | bytes] = {
    ".git/HEAD": "bb8012e8e8d7be66928bedd80506c56a55ea6305\n",  # the upstream commit this stand-in mirrors
    "utils/__init__.py": "",
    "utils/config.py": """
        class Args:
            vocab_size = 32768
            num_codebooks = 8

            def load_state_dict(self, d):
                for k, v in d.items():
                    setattr(self, k, v)
        """,
    "open_clip/__init__.py": "from .tokenizer import SimpleTokenizer\n",
    "open_clip/model.py": "def _build_text_tower(embed_dim, text_cfg):\n    raise NotImplementedError\n",
    "open_clip/tokenizer.py": """
        import gzip
        import os


        def default_bpe():
            return os.path.join(os.path.dirname(os.path.abspath(__file__)), "bpe_simple_vocab_16e6.txt.gz")


        class SimpleTokenizer:
            def __init__(self, bpe_path=default_bpe()):
                self.merges = gzip.open(bpe_path).read().decode("utf-8").split("\\n")


        _tokenizer = SimpleTokenizer()  # upstream builds it at import
        """,
    "open_clip/bpe_simple_vocab_16e6.txt.gz": gzip.compress(b"#version: 0.2\ni n\nt h\n", mtime=0),
    "models/__init__.py": "",
    "models/unitok.py": """
        import torch
        import torch.nn as nn
        from fakecore import Core


        class UniTok(nn.Module):
            def __init__(self, args):
                super().__init__()
                from open_clip.model import _build_text_tower  # noqa: F401  (as upstream: opens the BPE file)

                self.k = args.num_codebooks
                self.cores = nn.ModuleList(Core(args.vocab_size // self.k, 4) for _ in range(self.k))

            def img_to_idx(self, img):
                return torch.stack([c.grid(img)[1].view(img.shape[0], -1) for c in self.cores], 1)

            def idx_to_img(self, indices):
                b, k, n = indices.shape
                side = int(n ** 0.5)
                shape = (b, 4, side, side)
                outs = [c.render(c.lookup(indices[:, i], shape)) for i, c in enumerate(self.cores)]
                return torch.stack(outs).mean(0).clamp_(-1, 1)
        """,
}

TITOK = {
    ".git/HEAD": "942a96fbdd873780179d1b78d5462911528bf8c8\n",  # the upstream commit this stand-in mirrors
    "modeling/__init__.py": "",
    "modeling/titok.py": """
        import json
        from pathlib import Path

        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from fakecore import SEEN, Core


        class Posterior:
            def __init__(self, mean):
                self.mean = mean.float()  # as upstream DiagonalGaussianDistribution: fp32 whatever the dtype

            def sample(self):
                return self.mean + torch.randn_like(self.mean)

            def mode(self):
                return self.mean


        class VectorQuantizer(nn.Module):
            # as upstream's: the input cast to fp32, squared distances by einsum, entries by lookup

            def __init__(self, codebook_size, dim):
                super().__init__()
                self.embedding = nn.Embedding(codebook_size, dim)

            def forward(self, z):
                z = z.float()
                b, d, h, w = z.shape
                flat = z.permute(0, 2, 3, 1).reshape(-1, d)
                e = self.embedding.weight
                dist = (flat**2).sum(1, keepdim=True) + (e**2).sum(1) - 2 * torch.einsum("bd,dn->bn", flat, e.T)
                idx = dist.argmin(1)
                q = self.get_codebook_entry(idx).view(b, h, w, d).permute(0, 3, 1, 2)
                return q, {"min_encoding_indices": idx.view(b, h, w)}

            def get_codebook_entry(self, indices):
                return self.embedding(indices)


        class TiTok(Core):
            def __init__(self, config):
                vq = config["model"]["vq_model"]
                super().__init__(vq.get("codebook_size", 16), 4, ds=64)
                self.quantize_mode = vq.get("quantize_mode", "vq")
                self.quantize = VectorQuantizer(vq.get("codebook_size", 16), 4)
                self.config = config

            @classmethod
            def from_pretrained(cls, where, revision=None, local_files_only=False):
                where = Path(where)
                if not (where / "config.json").exists():
                    raise OSError(f"{where} has no config.json")
                model = cls(json.loads((where / "config.json").read_text()))
                model.load_state_dict(torch.load(where / "pytorch_model.bin"))
                return model

            def encode(self, x):
                if self.quantize_mode == "vae":
                    q, _ = self.grid(x)
                    post = Posterior(q.reshape(q.shape[0], q.shape[1], 1, -1))
                    return post.sample(), post
                SEEN.append((float(x.min()), float(x.max())))
                h = self.enc(F.avg_pool2d(x, self.ds))  # 1-D tokens: [B, C, 1, N]
                return self.quantize(h.reshape(h.shape[0], h.shape[1], 1, -1))

            def decode(self, z):
                b, d, _, n = z.shape
                return (self.render(z.reshape(b, d, int(n ** 0.5), int(n ** 0.5))) + 1) / 2  # TiTok gives [0,1]

            def decode_tokens(self, tokens):
                if self.quantize_mode == "vq":
                    tokens = tokens.squeeze(1)
                    b, n = tokens.shape
                    z = self.quantize.get_codebook_entry(tokens.reshape(-1)).reshape(b, 1, n, -1)
                    z = z.permute(0, 3, 1, 2).contiguous()
                else:
                    z = tokens
                return self.decode(z)
        """,
}

OPEN_MAGVIT2 = {
    ".git/HEAD": "b9a17eac8e2c0779c12a5429b0bfd6c502788484\n",  # the upstream commit this stand-in mirrors
    "main.py": """
        import importlib

        import torch

        # as upstream: process-wide settings at import (the adapter must undo them)
        torch.set_float32_matmul_precision("high")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


        def instantiate_from_config(config):
            module, cls = config["target"].rsplit(".", 1)
            return getattr(importlib.import_module(module), cls)(**config.get("params", dict()))
        """,
    "src/__init__.py": "",
    "src/Open_MAGVIT2/__init__.py": "",
    "src/Open_MAGVIT2/models/__init__.py": "",
    "src/Open_MAGVIT2/models/lfqgan.py": """
        import torch
        import torch.nn as nn
        from main import instantiate_from_config


        class LFQ(nn.Module):
            def __init__(self, dim, token_factorization=False):
                super().__init__()
                self.token_factorization = token_factorization
                self.register_buffer("mask", 2 ** torch.arange(dim), persistent=False)

            def forward(self, x):
                q = torch.where(x > 0, 1.0, -1.0)
                idx = ((q > 0).long() * self.mask.view(1, -1, 1, 1)).sum(1)
                return q, 0.0, idx.flatten()

            def get_codebook_entry(self, x, bhwc, order):
                b, h, w, c = bhwc
                bits = (x.unsqueeze(-1) & self.mask) != 0
                return (bits * 2.0 - 1.0).view(b, h, w, c).permute(0, 3, 1, 2)


        class Ema(nn.Module):
            def __init__(self, model):
                super().__init__()
                for name, p in model.named_parameters():
                    self.register_buffer(name.replace(".", ""), p.clone().detach())

            def copy_to(self, model):
                for name, p in model.named_parameters():
                    p.data.copy_(getattr(self, name.replace(".", "")))


        class VQModel(nn.Module):
            def __init__(self, ddconfig, lossconfig, n_embed, embed_dim, use_ema=False, **kwargs):
                super().__init__()
                self.loss = instantiate_from_config(lossconfig)
                ds = 2 ** (len(ddconfig.get("ch_mult", [1, 1, 2, 2, 4])) - 1)  # num_down = len(ch_mult)-1
                self.encoder = nn.Sequential(nn.AvgPool2d(ds), nn.Conv2d(3, embed_dim, 1))
                up = nn.Upsample(scale_factor=ds)
                self.decoder = nn.Sequential(nn.Conv2d(embed_dim, 3, 1), up, nn.Tanh())
                self.quantize = LFQ(embed_dim)
                self.use_ema = use_ema
                if use_ema:
                    self.model_ema = Ema(self)

            def encode(self, x):
                (quant, emb_loss, info) = self.quantize(self.encoder(x))
                return quant, emb_loss, info, None

            def decode(self, quant):
                return self.decoder(quant)
        """,
    "configs/Open-MAGVIT2/gpu/imagenet_lfqgan_256_L.yaml": """
        model:
          class_path: src.Open_MAGVIT2.models.lfqgan.VQModel
          init_args:
            ddconfig: {z_channels: 6}
            lossconfig:
              target: a.module.that.would.download.VGG
            n_embed: 64
            embed_dim: 6
            use_ema: true
        """,
    "configs/Open-MAGVIT2/gpu/imagenet_lfqgan_128_L.yaml": """
        model:
          class_path: src.Open_MAGVIT2.models.lfqgan.VQModel
          init_args:
            ddconfig: {z_channels: 6, ch_mult: [1, 2, 2, 4]}
            lossconfig: {target: a.module.that.would.download.VGG}
            n_embed: 64
            embed_dim: 6
            use_ema: false
        """,
}


BSQ_VIT = {
    ".git/HEAD": "37d212d2b43f1c715c49808dd246ec26f826740f\n",  # the upstream commit this stand-in mirrors
    "transcoder/__init__.py": "",
    "transcoder/models/__init__.py": "",
    "transcoder/models/quantizer/__init__.py": "",
    "transcoder/models/quantizer/bsq.py": """
        import torch
        import torch.nn as nn


        class BinarySphericalQuantizer(nn.Module):
            def __init__(self, embed_dim, beta, gamma0, gamma, zeta, input_format="bchw", group_size=9,
                         l2_norm=False, **kwargs):
                super().__init__()
                self.embed_dim = embed_dim
                self.input_format = input_format
                self.l2_norm = l2_norm
                self.register_buffer("basis", 2 ** torch.arange(embed_dim - 1, -1, -1))  # int64

            def forward(self, z):
                one = torch.tensor(1, dtype=z.dtype, device=z.device)
                zq = z + (torch.where(z > 0, one, -one) - z).detach()
                indices = self.codes_to_indexes(zq.detach())
                q_scale = 1.0 / (self.embed_dim ** 0.5) if self.l2_norm else 1.0
                return zq * q_scale, 0.0, {"indices": indices}

            def codes_to_indexes(self, zhat):
                # as upstream: the sum runs in zhat's float dtype, then is cast (rounding above 2^24)
                return ((zhat + 1) / 2 * self.basis).sum(axis=-1).to(torch.int64)

            def indexes_to_codes(self, indices):
                return torch.remainder(torch.floor_divide(indices.unsqueeze(-1), self.basis), 2) * 2 - 1

            def get_codebook_entry(self, indices):
                q_scale = 1.0 / (self.embed_dim ** 0.5) if self.l2_norm else 1.0
                return self.indexes_to_codes(indices) * q_scale  # input_format "blc": [B, L, C]
        """,
    "transcoder/models/bsqvit.py": """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from fakecore import Core
        from transcoder.models.quantizer.bsq import BinarySphericalQuantizer


        class VITBSQModel(nn.Module):
            def __init__(self, vitconfig, embed_dim, embed_group_size=9, l2_norm=False, logit_laplace=False,
                         ckpt_path=None, ignore_keys=[], clamp_range=(0, 1), beta=0.0, post_q_l2_norm=False,
                         **kwargs):
                super().__init__()
                self.core = Core(4, embed_dim, ds=vitconfig["patch_size"])
                self.quantize = BinarySphericalQuantizer(
                    embed_dim, beta, 1.0, 1.0, 1.0, group_size=embed_group_size, input_format="blc",
                    l2_norm=post_q_l2_norm,
                )
                self.l2_norm = l2_norm
                self.clamp_range = clamp_range

            def encode(self, x, skip_quantize=False):
                import fakecore
                fakecore.SEEN.append((float(x.min()), float(x.max())))
                h = self.core.enc(F.avg_pool2d(x, self.core.ds)).flatten(2).transpose(1, 2)  # [B, L, C]
                if self.l2_norm:
                    h = F.normalize(h, dim=-1)
                return self.quantize(h)

            def decode(self, quant):
                b, n, c = quant.shape
                side = int(n ** 0.5)
                return self.core.render(quant.transpose(1, 2).reshape(b, c, side, side))

            def clamp(self, x):
                return x.clamp_(*self.clamp_range)
        """,
    **{
        f"configs/tokenizer/imagenet_256x256_bsqvit_b{b}g{b}_stylegan_f8_fp16.yaml": f"""
        model:
          target: transcoder.models.bsqvit.VITBSQModel
          params: {{embed_dim: {b}, embed_group_size: 1, l2_norm: true, post_q_l2_norm: true,
                   vitconfig: {{image_size: 256, patch_size: 8}}}}
        data: {{zero_mean: true}}
        """
        for b in (18, 36)
    },
}

COSMOS = {
    ".git/HEAD": "3584ae752ce8ebdbe06a420bf60d7513c0e878cc\n",  # the upstream commit this stand-in mirrors
    "cosmos_tokenizer/__init__.py": "",
    "cosmos_tokenizer/image_lib.py": """
        import torch


        class ImageTokenizer(torch.nn.Module):
            def __init__(self, checkpoint=None, checkpoint_enc=None, checkpoint_dec=None,
                         tokenizer_config=None, device="cuda", dtype="bfloat16"):
                super().__init__()
                self._dtype = getattr(torch, dtype)
                self._enc_model = torch.jit.load(checkpoint_enc, map_location=device).to(self._dtype)
                self._dec_model = torch.jit.load(checkpoint_dec, map_location=device).to(self._dtype)

            def encode(self, input_tensor):
                out = self._enc_model(input_tensor)
                return out if isinstance(out, torch.Tensor) else out[:-1]

            def decode(self, input_latent):
                return self._dec_model(input_latent)
        """,
}


MASKBIT = {
    ".git/HEAD": "5ea3d733c62625eaf86dab8364bdb7e6e71def99\n",  # the upstream commit this stand-in mirrors
    "modeling/__init__.py": "",
    "modeling/conv_vqgan.py": """
        import torch
        from fakecore import Core


        class Quantizer:
            def __init__(self, core, lookup_free):
                self.core, self.lookup_free = core, lookup_free

            def get_codebook_entry(self, indices):  # [B,N] -> [B,N,C]
                z = self.core.embedding(indices.long())
                return z.float() if self.lookup_free else z  # as upstream LFQ: fp32 bits whatever the dtype


        class ConvVQModel(Core):
            def __init__(self, config, legacy=False, finetune_decoder=False):
                super().__init__(config.codebook_size, config.token_size, ds=16)
                self.config = config
                self.quantize = Quantizer(self, config.get("quantizer_type") == "lookup-free")

            def encode(self, x):
                q, idx = self.grid(x)
                return q, {"min_encoding_indices": idx.view(x.shape[0], q.shape[2], q.shape[3])}

            def decode(self, z_quantized):
                return (self.render(z_quantized) + 1) / 2

            def decode_tokens(self, tokens):
                z = self.quantize.get_codebook_entry(tokens)
                side = int(z.shape[1] ** 0.5)
                return self.decode(z.reshape(z.shape[0], side, side, -1).permute(0, 3, 1, 2))
        """,
    "configs/tokenizer/vqgan_plus_12bit.yaml": """
        model:
          vq_model: {model_class: "vqgan+", quantizer_type: lookup, codebook_size: 4096, token_size: 12}
        """,
    "configs/tokenizer/maskbit_tokenizer_10bit.yaml": """
        model:
          vq_model: {model_class: "vqgan+", quantizer_type: lookup-free, codebook_size: 1024, token_size: 10}
        """,
}


def write_clone(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write a stand-in clone (plus the shared tiny core) under ``root``; bytes are written as they are."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "fakecore.py").write_text(CORE)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip())
    return root


def images(n: int = 2, size: int = 256) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(n * size))


def seen_ranges(tree: SourceTree) -> list[tuple[float, float]]:
    """Input (min, max) of every call of the stand-in model (its module lives inside the clone)."""
    return tree.import_module("fakecore").SEEN


def state_of(tree: SourceTree, module: str, factory: str, seed: int, *args: object, **kwargs: object) -> dict:
    """A state dict of a stand-in model built with ``seed`` (distinct seeds -> distinct weights)."""
    with tree.active():
        mod = __import__(module, fromlist=["x"])
        torch.manual_seed(seed)
        obj = getattr(mod, factory)
        return (obj[args[0]](**kwargs) if isinstance(obj, dict) else obj(*args, **kwargs)).state_dict()


# --------------------------------------------------------------------------------------------
# the pieces
# --------------------------------------------------------------------------------------------


def test_glue_select_state_dict_prefers_ema_then_model_then_state_dict() -> None:
    a, b, c = ({"w": torch.full((1,), float(i))} for i in range(3))
    assert select_state_dict({"ema": a, "model": b, "state_dict": c}) == (a, "ema")
    assert select_state_dict({"model": b, "state_dict": c, "optimizer": {}}) == (b, "model")
    assert select_state_dict({"state_dict": c}) == (c, "state_dict")
    assert select_state_dict({"ema": a, "model": b}, key="model") == (b, "model")
    assert select_state_dict({"trainer": {"unitok": a}, "args": {}}, keys=("trainer.unitok",)) == (
        a,
        "trainer.unitok",
    )
    assert select_state_dict(a) == (a, None)  # already a flat state dict
    wrapped = {"state_dict": {"module.w": a["w"], "module.v": b["w"], "n_averaged": torch.tensor(1)}}
    sd, _ = select_state_dict(wrapped, strip=("module.",))
    assert set(sd) == {"w", "v"}
    with pytest.raises(ValueError, match="top-level keys: optimizer"):
        select_state_dict({"optimizer": {"lr": 1}})
    with pytest.raises(ValueError, match="no weights under key 'ema'"):
        select_state_dict({"model": b}, key="ema")


def test_glue_source_tree_isolates_clones_with_the_same_module_names(tmp_path: Path) -> None:
    one = write_clone(tmp_path / "one", {"models/__init__.py": "WHO = 'one'\n", "utils.py": "X = 1\n"})
    two = write_clone(tmp_path / "two", {"models/__init__.py": "WHO = 'two'\n"})
    before = list(sys.path)
    t1, t2 = SourceTree.get(one), SourceTree.get(two)
    assert SourceTree.get(one) is t1  # one tree per clone
    assert t1.import_module("models").WHO == "one"
    assert t2.import_module("models").WHO == "two"
    with t1.active():
        assert sys.modules["models"].WHO == "one"  # its own module comes back, not re-imported
        assert str(one) == sys.path[0]
        with t1.active():  # nested entry is a no-op
            assert sys.modules["models"].WHO == "one"
    assert "models" not in sys.modules and sys.path == before
    with pytest.raises(WeightsUnavailable, match="pip install definitely-not-installed-xyz"):
        write_clone(one, {"needs.py": "import definitely_not_installed_xyz\n"})
        SourceTree(one).import_module("needs")


def test_glue_sha256_is_cached_by_path_size_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import tokbench.families.weights as up

    monkeypatch.setenv("TOKBENCH_HOME", str(tmp_path / "home"))
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc" * 1000)
    assert sha256_file(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    assert any(str(f.resolve()) in k for k in up._read_json(up._sha_store()))
    up._sha_memory.clear()  # a new process: the on-disk cache answers without reading the file
    monkeypatch.setattr(up.hashlib, "sha256", lambda: pytest.fail("re-hashed a cached file"))
    sha256_file(f)
    monkeypatch.undo()
    monkeypatch.setenv("TOKBENCH_HOME", str(tmp_path / "home"))
    f.write_bytes(b"abcd" * 1000)
    os.utime(f, ns=(1, 1))
    assert sha256_file(f) == hashlib.sha256(f.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# families
# --------------------------------------------------------------------------------------------


def test_glue_gigatok_1d_tokens_ema_key_bits_and_ranges(tmp_path: Path) -> None:
    clone = write_clone(tmp_path / "GigaTok", GIGATOK)
    tree = SourceTree.get(clone)
    mi = "utils.model_init"
    ema = state_of(tree, "tokenizer.tokenizer_image.vq.vq_vit_model", "VQVitModelPlus", 1, 16384, 8)
    raw = state_of(tree, "tokenizer.tokenizer_image.vq.vq_vit_model", "VQVitModelPlus", 2, 16384, 8)
    ckpt = tmp_path / "VQ_BL256_e200.pt"
    torch.save({"ema": ema, "model": raw, "optimizer": {}}, ckpt)
    adapter = build_model(parse_model_spec(f"gigatok:variant=BL,source={clone},ckpt={ckpt}"))
    assert adapter.info.native_size == 256 and adapter.info.token_layout == "1d"
    adapter.load()
    assert mi not in sys.modules  # the clone's modules do not leak out
    loaded = adapter._model.state_dict()
    assert all(torch.equal(loaded[k], ema[k]) for k in ema)  # ema preferred over model
    assert adapter.info.options["state_dict_key"] == "ema"
    assert adapter.info.weights_sha256 == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert adapter.info.params == sum(v.numel() for v in ema.values())
    x = images()
    seen_before = len(seen_ranges(tree))
    enc = adapter.encode(x)
    lo, hi = seen_ranges(tree)[seen_before]
    assert lo < -0.9 and hi > 0.9  # [0,1] images reach the model as [-1,1]
    assert enc.codes.shape == (2, 256) and enc.codes.dtype == torch.int64
    assert enc.bits.tolist() == [256 * 14] * 2
    out = adapter.decode(enc)
    assert out.shape == x.shape and out.dtype == torch.float32
    torch.testing.assert_close(adapter.decode(adapter.encode(x)), out)
    with pytest.raises(ValueError, match="takes 256x256"):
        adapter.encode(images(1, 128))
    other = build_model(parse_model_spec(f"gigatok:variant=BL,source={clone},ckpt={ckpt},key=model"))
    other.load()
    assert all(torch.equal(other._model.state_dict()[k], raw[k]) for k in raw)


def test_glue_gigatok_errors_name_the_missing_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKBENCH_SRC_GIGATOK", raising=False)
    with pytest.raises(WeightsUnavailable, match="git clone https://github.com/SilentView/GigaTok"):
        build_model(parse_model_spec("gigatok")).load()
    clone = write_clone(tmp_path / "GigaTok", GIGATOK)
    monkeypatch.setenv("TOKBENCH_WEIGHTS", str(tmp_path / "weights"))
    with pytest.raises(WeightsUnavailable, match="VQ_XLXXL256_e300.pt .*Google Drive"):
        build_model(parse_model_spec(f"gigatok:variant=XLXXL,source={clone}")).load()
    with pytest.raises(ValueError, match="unknown option"):
        build_model(parse_model_spec(f"gigatok:source={clone},bogus=1"))


def test_glue_llamagen_grid_from_env_source_and_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clone = write_clone(tmp_path / "LlamaGen", LLAMAGEN)
    tree = SourceTree.get(clone)
    state = state_of(
        tree,
        "tokenizer.tokenizer_image.vq_model",
        "VQ_models",
        3,
        "VQ-16",
        codebook_size=16384,
        codebook_embed_dim=8,
    )
    weights = tmp_path / "weights"
    (weights / "llamagen").mkdir(parents=True)
    torch.save({"model": state}, weights / "llamagen" / "vq_ds16_c2i.pt")
    monkeypatch.setenv("TOKBENCH_SRC_LLAMAGEN", str(clone))
    monkeypatch.setenv("TOKBENCH_WEIGHTS", str(weights))
    adapter = build_model(parse_model_spec("llamagen"))
    assert adapter.info.native_size is None and adapter.info.canvas_size(250) == 256
    x = images(2, 64)  # fully convolutional: any multiple of 16
    enc = adapter.encode(x)
    assert adapter.info.options["state_dict_key"] == "model"
    assert enc.codes.shape == (2, 4, 4)
    assert enc.bits.tolist() == [16 * 14] * 2
    assert adapter.decode(enc).shape == x.shape
    with pytest.raises(ValueError, match="multiples of 16"):
        adapter.encode(images(1, 72))


def test_glue_var_multi_scale_codes(tmp_path: Path) -> None:
    clone = write_clone(tmp_path / "VAR", VAR)
    state = state_of(SourceTree.get(clone), "models.vqvae", "VQVAE", 4)
    ckpt = tmp_path / "vae_ch160v4096z32.pth"
    torch.save(state, ckpt)  # VAR ships a plain state dict
    adapter = build_model(parse_model_spec(f"var:source={clone},ckpt={ckpt}"))
    enc = adapter.encode(images(2))
    assert adapter.info.token_layout == "multi_scale"
    assert [c.shape[-1] for c in enc.codes] == [1, 2, 3, 4, 5, 6, 8, 10, 13, 16]
    assert all(c.shape[0] == 2 for c in enc.codes)
    assert enc.bits.tolist() == [680 * 12] * 2
    assert adapter.decode(enc).shape == (2, 3, 256, 256)


def test_glue_unitok_multi_codebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tokbench.families.upstream as upstream

    monkeypatch.setattr(upstream, "installed_version", lambda dist: "1.0.12")  # timm, within UniTok's bound
    clone = write_clone(tmp_path / "UniTok", UNITOK)
    tree = SourceTree.get(clone)
    args = tree.import_module("utils.config").Args()
    state = state_of(tree, "models.unitok", "UniTok", 5, args)
    ckpt = tmp_path / "unitok_tokenizer.pth"
    torch.save({"args": {"vocab_size": 32768, "num_codebooks": 8}, "trainer": {"unitok": state}}, ckpt)
    adapter = build_model(parse_model_spec(f"unitok:source={clone},ckpt={ckpt}"))
    enc = adapter.encode(images(1))
    assert enc.codes.shape == (1, 8, 16, 16)
    assert adapter.info.options["state_dict_key"] == "trainer.unitok"
    assert enc.bits.item() == 8 * 256 * 12
    assert adapter.decode(enc).shape == (1, 3, 256, 256)


def test_glue_titok_from_pretrained_dir_range_01_and_vae_latents(tmp_path: Path) -> None:
    import json

    clone = write_clone(tmp_path / "1d-tokenizer", TITOK)
    tree = SourceTree.get(clone)
    for name, cfg in (("vq", {"codebook_size": 4096}), ("vae", {"quantize_mode": "vae"})):
        config = {"model": {"vq_model": cfg}}
        d = tmp_path / name
        d.mkdir()
        (d / "config.json").write_text(json.dumps(config))
        torch.save(state_of(tree, "modeling.titok", "TiTok", 6, config), d / "pytorch_model.bin")
    adapter = build_model(parse_model_spec(f"titok:variant=l32,source={clone},ckpt={tmp_path / 'vq'}"))
    before = len(seen_ranges(tree))
    enc = adapter.encode(images(2))
    lo, hi = seen_ranges(tree)[before]
    assert lo >= 0 and hi <= 1  # TiTok takes [0,1] as is
    assert enc.codes.shape == (2, 16) and enc.bits.tolist() == [16 * 12] * 2
    assert adapter.decode(enc).shape == (2, 3, 256, 256)
    vae = build_model(parse_model_spec(f"titok:variant=bl64_vae_c16,source={clone},ckpt={tmp_path / 'vae'}"))
    assert vae.info.kind == "continuous" and vae.info.token_layout == "latent"
    z_mode = vae.encode(images(1)).latents
    torch.testing.assert_close(vae.encode(images(1)).latents, z_mode)  # mode is deterministic
    sampler = build_model(
        parse_model_spec(f"titok:variant=bl64_vae_c16,source={clone},ckpt={tmp_path / 'vae'},latent=sample,seed=3")
    )
    z1, z2 = sampler.encode(images(1)).latents, sampler.encode(images(1)).latents
    torch.testing.assert_close(z1, z2)  # seeded
    assert not torch.allclose(z1, z_mode)
    with pytest.raises(
        WeightsUnavailable,
        match="hf download yucornetto/tokenizer_titok_s128_imagenet|huggingface-cli download",
    ):
        build_model(parse_model_spec(f"titok:variant=s128,source={clone},offline=true")).load()


def test_glue_open_magvit2_class_path_loss_replaced_state_dict_and_ema(tmp_path: Path) -> None:
    clone = write_clone(tmp_path / "SEED-Voken", OPEN_MAGVIT2)
    tree = SourceTree.get(clone)
    VQModel = tree.import_module("src.Open_MAGVIT2.models.lfqgan").VQModel  # noqa: N806
    with tree.active():
        torch.manual_seed(7)
        model = VQModel({}, {"target": "torch.nn.Identity"}, 64, 6, use_ema=True)
        for p in model.parameters():
            p.data.mul_(-1)  # the live weights differ from the EMA copy
    ckpt = tmp_path / "imagenet_256_L.ckpt"
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, ckpt)
    adapter = build_model(parse_model_spec(f"open-magvit2:source={clone},ckpt={ckpt}"))
    adapter.load()
    ema = model.model_ema
    assert torch.equal(adapter._model.encoder[1].weight, ema.encoder1weight)  # EMA weights used
    x = images(2)
    enc = adapter.encode(x)
    assert enc.codes.shape == (2, 16, 16) and int(enc.codes.max()) < 64
    assert enc.bits.tolist() == [256 * math.log2(262144)] * 2  # nominal: the variant's 2^18 codebook
    with tree.active():
        direct = adapter._model.decode(adapter._model.encode(x * 2 - 1)[0])
    torch.testing.assert_close(adapter.decode(enc), ((direct + 1) / 2).clamp(0, 1))  # codes -> same image


def test_glue_bsq_vit_ema_state_dict_prefix_and_zero_mean(tmp_path: Path) -> None:
    clone = write_clone(tmp_path / "bsq-vit", BSQ_VIT)
    tree = SourceTree.get(clone)
    params = {"vitconfig": {"image_size": 256, "patch_size": 8}, "embed_dim": 18}
    ema = state_of(tree, "transcoder.models.bsqvit", "VITBSQModel", 8, **params)
    live = state_of(tree, "transcoder.models.bsqvit", "VITBSQModel", 9, **params)
    ckpt = tmp_path / "checkpoint.pt"
    torch.save(
        {
            "ema_state_dict": {
                **{f"module.module.{k}": v for k, v in ema.items()},
                "n_averaged": torch.tensor(5),
            },
            "state_dict": {f"module.{k}": v for k, v in live.items()},
        },
        ckpt,
    )
    adapter = build_model(parse_model_spec(f"bsq-vit:variant=b18,source={clone},ckpt={ckpt}"))
    adapter.load()
    assert adapter.info.options["state_dict_key"] == "ema_state_dict"
    assert torch.equal(adapter._model.core.enc.weight, ema["core.enc.weight"])
    assert adapter.info.options["input_range"] == "[-1,1]"  # data.zero_mean in the config
    before = len(seen_ranges(tree))
    enc = adapter.encode(images(1))
    assert seen_ranges(tree)[before][0] < -0.9
    assert enc.codes.shape == (1, 32, 32) and enc.bits.item() == 1024 * 18
    assert adapter.decode(enc).shape == (1, 3, 256, 256)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_glue_cosmos_jit_files_from_a_directory(tmp_path: Path) -> None:
    import warnings

    clone = write_clone(tmp_path / "Cosmos-Tokenizer", COSMOS)

    class Enc(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            pooled = torch.nn.functional.avg_pool2d(x, 16)
            idx = ((pooled.mean(1) + 1) * 1000).long().clamp(0, 63999)
            return idx, pooled, pooled

    class Dec(torch.nn.Module):
        def forward(self, idx: torch.Tensor) -> torch.Tensor:
            v = idx.float().unsqueeze(1) / 1000 - 1
            return torch.nn.functional.interpolate(v.repeat(1, 3, 1, 1), scale_factor=16.0)

    d = tmp_path / "Cosmos-0.1-Tokenizer-DI16x16"
    d.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(Enc()), str(d / "encoder.jit"))
        torch.jit.save(torch.jit.script(Dec()), str(d / "decoder.jit"))
    adapter = build_model(parse_model_spec(f"cosmos:variant=DI16x16,source={clone},ckpt={d}"))
    x = images(2, 64)
    enc = adapter.encode(x)
    assert enc.codes.shape == (2, 4, 4) and enc.codes.dtype == torch.int64
    assert enc.bits.tolist() == [16 * math.log2(64000)] * 2
    out = adapter.decode(enc)
    assert out.shape == x.shape
    assert adapter.info.options["dtype"] == "bf16"  # as upstream: the TorchScript files bake in bf16
    # grey levels survive the round trip [0,1] -> [-1,1] -> codes -> [-1,1] -> [0,1] (to bf16 precision)
    tiles = x.mean(1).reshape(2, 4, 16, 4, 16).mean((2, 4))
    torch.testing.assert_close(out[:, :, ::16, ::16].mean(1), tiles, atol=1e-2, rtol=0)
    with pytest.raises(WeightsUnavailable, match="encoder.jit"):
        build_model(parse_model_spec(f"cosmos:source={clone},ckpt={tmp_path}")).load()


def test_glue_maskbit_config_from_clone_and_range_01(tmp_path: Path) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    clone = write_clone(tmp_path / "maskbit", MASKBIT)
    tree = SourceTree.get(clone)
    cfg = omegaconf.OmegaConf.create({"codebook_size": 4096, "token_size": 12})
    ckpt = tmp_path / "vqgan_plus_12bit.bin"
    torch.save(state_of(tree, "modeling.conv_vqgan", "ConvVQModel", 10, cfg), ckpt)
    adapter = build_model(parse_model_spec(f"maskbit:variant=vqgan-plus-12bit,source={clone},ckpt={ckpt}"))
    before = len(seen_ranges(tree))
    enc = adapter.encode(images(1))
    assert seen_ranges(tree)[before][0] >= 0  # MaskBiT takes [0,1]
    assert enc.codes.shape == (1, 16, 16) and enc.bits.item() == 256 * 12
    assert adapter.decode(enc).shape == (1, 3, 256, 256)
