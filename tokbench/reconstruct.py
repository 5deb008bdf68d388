"""One tokenizer call on a batch of canvases: device copy, autocast, OOM halving, decode checks.

This module is part of every reconstruction's identity (:data:`tokbench.code_identity.RECONSTRUCTION_PATH`):
a change here changes every reconstruction cache key.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokbench.adapter import Tokenizer
from tokbench.cache import ReconEntry
from tokbench.protocol import to_uint8
from tokbench.validate import AdapterError, validate_decode


@dataclass
class CallStats:
    """How often and how long the tokenizer ran (recorded in results)."""

    calls: int = 0
    seconds: float = 0.0


def reconstruct_batch(adapter: Tokenizer, canvases: list[np.ndarray], ids: list[str], device: str,
                      precision: str, stats: CallStats) -> list[ReconEntry]:
    """Encode and decode uint8 ``[S,S,3]`` canvases; on CUDA out-of-memory, halve the batch and retry."""
    import torch

    x = torch.from_numpy(np.stack(canvases)).permute(0, 3, 1, 2).float().div(255.0)
    try:
        if device.startswith("cuda"):
            x = x.pin_memory()  # page-locked, so the copy below overlaps with host work
        x = x.to(device, non_blocking=True)
        t = time.perf_counter()
        with _autocast(device, precision), torch.no_grad():
            stats.calls += 1
            encoded = adapter.encode(x)
            out = adapter.decode(encoded)
        stats.seconds += time.perf_counter() - t
    except torch.cuda.OutOfMemoryError:
        if len(canvases) == 1:
            raise AdapterError(adapter.info.name, "out of memory with batch size 1", ids) from None
        torch.cuda.empty_cache()
        half = len(canvases) // 2
        return (reconstruct_batch(adapter, canvases[:half], ids[:half], device, precision, stats)
                + reconstruct_batch(adapter, canvases[half:], ids[half:], device, precision, stats))
    except AdapterError:
        raise
    except Exception as e:
        raise AdapterError(adapter.info.name, f"raised {type(e).__name__}: {e}", ids) from e
    out = validate_decode(adapter.info.name, out, tuple(x.shape), ids)
    recon = to_uint8(out)
    codes = [c.detach().to("cpu").numpy() for c in encoded.code_levels()]
    bits = encoded.bits.detach().to("cpu").double().numpy() if encoded.bits is not None else None
    entries = []
    for i in range(len(canvases)):
        per_image = [c[i] for c in codes] if codes else None
        entries.append(ReconEntry(recon[i], per_image, float(bits[i]) if bits is not None else None))
    return entries


def _autocast(device: str, precision: str) -> Any:
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)
