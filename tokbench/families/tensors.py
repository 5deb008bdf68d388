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
