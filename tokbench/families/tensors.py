"""Small tensor helpers shared by family adapters: dtypes, seeding, parameter counts, code layouts.

torch is imported inside each function, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from tokbench.errors import ConfigError

DTYPES = {
    "fp32": "float32",
    "float32": "float32",
    "fp16": "float16",
    "float16": "float16",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
}


def torch_dtype(name: str) -> Any:
    """``fp32``/``bf16``/``fp16`` (or the long names) -> the torch dtype."""
    import torch

    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use fp32, bf16 or fp16")
    return getattr(torch, DTYPES[name])


@contextlib.contextmanager
def seeded(seed: int, device: Any = "cpu") -> Iterator[None]:
    """Run a block with the global RNG seeded, restoring the caller's RNG state afterwards."""
    import torch

    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


LATENT_MODES = ("mode", "sample")


def check_latent(name: str, latent: str) -> str:
    """``latent=`` is ``mode`` (posterior mean) or ``sample``."""
    if latent not in LATENT_MODES:
        raise ConfigError(f"{name}: latent must be 'mode' or 'sample', got {latent!r}")
    return latent


def count_params(model: Any) -> int:
    """Number of parameters of a module."""
    return int(sum(p.numel() for p in model.parameters()))


def reshape_codes(flat: Any, batch: int, layout: tuple[int, ...]) -> Any:
    """Flat indices (``[B*N]`` or ``[B,N]``) -> ``[B, *layout]`` int64."""
    import torch

    n = math.prod(layout)
    if flat.numel() != batch * n:
        raise ValueError(f"expected {batch}x{n} indices for layout {layout}, got {tuple(flat.shape)}")
    return flat.reshape(batch, *layout).to(torch.long)


def sign_bit_indices(z: Any) -> Any:
    """Index of the sign pattern along the last dim (first element = most significant bit), in int64.

    Exact for up to 63 bits, whatever ``z``'s dtype: a float sum of ``bit * 2**i`` (as some upstream
    quantisers compute it) rounds above 2^24 in fp32 and above 2^8 in bf16.
    """
    import torch

    n = z.shape[-1]
    if n > 63:
        raise ValueError(f"{n} sign bits do not fit an int64 index")
    weights = 2 ** torch.arange(n - 1, -1, -1, dtype=torch.int64, device=z.device)
    return ((z > 0).to(torch.int64) * weights).sum(-1)


@contextlib.contextmanager
def torch_globals_kept() -> Iterator[None]:
    """Undo process-wide torch settings that upstream code changes when imported or built.

    SEED-Voken's ``main.py`` (imported by its model modules) sets the float32 matmul precision to
    "high" (TF32 on Ampere+) and cuDNN to deterministic, non-benchmark mode for the whole process,
    which would change every other model's numbers and speed in the same run.
    """
    import torch

    cudnn = torch.backends.cudnn
    saved = (torch.get_float32_matmul_precision(), cudnn.deterministic, cudnn.benchmark)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(saved[0])
        cudnn.deterministic, cudnn.benchmark = saved[1], saved[2]
