"""Content-keyed caches of reconstructions and suite records, written atomically.

A reconstruction entry is keyed by (model identity incl. weights hash, protocol, canvas size,
image sha256) and holds the uint8 canvas reconstruction (lossless), the codes of discrete
tokenizers and the image's bits. Suite records are keyed by (reconstruction key, suite
identity). Entries are written to a temp file and renamed, so a killed run leaves either a
whole entry or none; a damaged entry (truncated, bad zip CRC, wrong shape) is detected on
read, deleted, counted and recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def content_key(*parts: Any) -> str:
    """sha256 over a canonical JSON of ``parts``."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a same-folder temp file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def sweep_stale_temp_files(root: Path) -> int:
    """Delete temp files left by writers that were killed (their pid is gone); return how many."""
    removed = 0
    if not root.is_dir():
        return 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            try:
                pid = int(name.rsplit(".", 2)[-2])
                os.kill(pid, 0)
                continue  # the writer is alive: leave its file alone
            except (ValueError, IndexError):
                pass
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            Path(dirpath, name).unlink(missing_ok=True)
            removed += 1
    return removed


@dataclass
class ReconEntry:
    canvas_recon: np.ndarray  # uint8 [S,S,3]
    codes: list[np.ndarray] | None
    bits: float | None


class CacheStats:
    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.corrupt: list[str] = []

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses, "corrupt_recomputed": len(self.corrupt)}


class ReconCache:
    """One ``.npz`` per (model, protocol, size, image)."""

    def __init__(self, root: Path) -> None:
        self.root = root / "recon"
        self.stats = CacheStats()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str, size: int) -> ReconEntry | None:
        path = self._path(key)
        if not path.is_file():
            self.stats.misses += 1
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                recon = z["recon"]
                n_levels = int(z["n_levels"])
                codes = [z[f"codes_{i}"] for i in range(n_levels)] if n_levels >= 0 else None
                bits = float(z["bits"]) if z["has_bits"] else None
            if recon.shape != (size, size, 3) or recon.dtype != np.uint8:
                raise ValueError(f"wrong shape {recon.shape}")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
            self.stats.corrupt.append(f"{path}: {type(e).__name__}")
            path.unlink(missing_ok=True)
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return ReconEntry(recon, codes, bits)

    def put(self, key: str, entry: ReconEntry) -> None:
        arrays: dict[str, Any] = {
            "recon": entry.canvas_recon,
            "n_levels": np.int64(-1 if entry.codes is None else len(entry.codes)),
            "has_bits": np.bool_(entry.bits is not None),
            "bits": np.float64(entry.bits or 0.0),
        }
        for i, c in enumerate(entry.codes or []):
            arrays[f"codes_{i}"] = c
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)  # zip CRCs let a damaged entry be detected on read
        atomic_write_bytes(self._path(key), buf.getvalue())


class RecordCache:
    """Pickled per-image suite records, keyed by (reconstruction key, suite identity)."""

    def __init__(self, root: Path) -> None:
        self.root = root / "records"
        self.stats = CacheStats()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pkl"

    def get(self, key: str) -> list[dict[str, Any]] | None:
        path = self._path(key)
        if not path.is_file():
            self.stats.misses += 1
            return None
        try:
            data = path.read_bytes()
            digest, payload = data[:32], data[32:]
            if hashlib.sha256(payload).digest() != digest:
                raise ValueError("checksum mismatch")
            records = pickle.loads(payload)
        except (OSError, ValueError, pickle.UnpicklingError, EOFError) as e:
            self.stats.corrupt.append(f"{path}: {type(e).__name__}")
            path.unlink(missing_ok=True)
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return records

    def put(self, key: str, records: list[dict[str, Any]]) -> None:
        payload = pickle.dumps(records, protocol=5)
        atomic_write_bytes(self._path(key), hashlib.sha256(payload).digest() + payload)
