"""Cached canvas reconstructions of clips: one checksummed ``.npz`` per (model, protocol, canvas, clip).

Entries are data (uint8 frames, float bits, the frame counts padded to), written
atomically with a sha256 over their arrays (:func:`tokbench.cache.pack_arrays`); a damaged or
mis-shaped entry is deleted, counted and recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.cache import CacheStats, atomic_write_bytes, pack_arrays, unpack_arrays


@dataclass
class ClipEntry:
    canvas_recon: np.ndarray  # uint8 [T,Hc,Wc,3]
    bits: float | None
    padded: list[int]  # frames fed to the tokenizer, per window


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
            entry = ClipEntry(recon, float(a["bits"]) if bool(a["has_bits"]) else None, [int(v) for v in a["padded"]])
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
        }
        atomic_write_bytes(self._path(key), pack_arrays(arrays))
