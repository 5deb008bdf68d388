"""Cached canvas reconstructions of clips: one checksummed ``.npz`` per (model, protocol, canvas, clip).

Entries are data (uint8 frames, float bits, the frame counts padded to, and each window's integer codes
when the tokenizer is discrete), written atomically with a sha256 over their arrays
(:func:`tokbench.cache.pack_arrays`); a damaged or mis-shaped entry is deleted, counted and recomputed.
:data:`LAYOUT` is part of every entry's key, so entries of an older layout are never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.cache import CacheStats, atomic_write_bytes, pack_arrays, unpack_arrays

# the entry's layout, in the cache key: "2" added the codes (entries of layout 1 had none)
LAYOUT = "clip-entry-2"


@dataclass
class ClipEntry:
    canvas_recon: np.ndarray  # uint8 [T,Hc,Wc,3]
    bits: float | None
    padded: list[int]  # frames fed to the tokenizer, per window
    # per window, per codebook level, the batch axis dropped (per-frame mode: one row per real frame);
    # None when any window has no codes (continuous tokenizers, codecs)
    codes: list[list[np.ndarray]] | None = field(default=None)


class ClipCache:
    def __init__(self, root: Path) -> None:
        self.root = root / "video-recon"
        self.stats = CacheStats()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str, shape: tuple[int, ...]) -> ClipEntry | None:
        path = self._path(key)
        if not path.is_file():
            self.stats.misses += 1
            return None
        try:
            a = unpack_arrays(path.read_bytes())
            recon = a["recon"]
            if recon.shape != shape or recon.dtype != np.uint8:
                raise ValueError(f"wrong shape {recon.shape}")
            padded = [int(v) for v in a["padded"]]
            entry = ClipEntry(recon, float(a["bits"]) if bool(a["has_bits"]) else None, padded, _codes(a, len(padded)))
        except (OSError, ValueError, KeyError) as e:
            self.stats.corrupt.append(f"{path}: {type(e).__name__}")
            path.unlink(missing_ok=True)
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return entry

    def put(self, key: str, entry: ClipEntry) -> None:
        arrays: dict[str, Any] = {
            "recon": entry.canvas_recon,
            "has_bits": np.array(entry.bits is not None),
            "bits": np.array(entry.bits or 0.0, dtype=np.float64),
            "padded": np.array(entry.padded, dtype=np.int64),
            "code_levels": np.array(-1 if entry.codes is None else len(entry.codes[0]) if entry.codes else 0),
        }
        for w, levels in enumerate(entry.codes or []):
            for level, c in enumerate(levels):
                arrays[f"codes_{w}_{level}"] = c
        atomic_write_bytes(self._path(key), pack_arrays(arrays))


def _codes(a: dict[str, np.ndarray], windows: int) -> list[list[np.ndarray]] | None:
    """The entry's codes (None: it has none); ValueError when they are not integers of every window."""
    levels = int(a["code_levels"])
    if levels < 0:
        return None
    codes = [[a[f"codes_{w}_{level}"] for level in range(levels)] for w in range(windows)]
    if any(not np.issubdtype(c.dtype, np.integer) for w in codes for c in w):
        raise ValueError("codes are not integers")
    return codes
