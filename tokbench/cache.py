"""Content-keyed caches of reconstructions and suite records, written atomically.

A reconstruction entry is keyed by (model identity incl. weights and code hashes, protocol,
canvas size, image sha256) and holds the uint8 canvas reconstruction (lossless), the codes of
discrete tokenizers and the image's bits. Suite records are keyed by (reconstruction key, suite
identity). Every entry is data, never code: ``.npz`` files read with ``allow_pickle=False``, the
records as JSON beside their arrays, each entry with a sha256 of its content checked on read.
Entries are written to a temp file and renamed, so a killed run leaves either a whole entry or
none; a damaged entry (truncated, bad checksum, wrong shape) is detected on read, deleted,
counted and recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.errors import TokbenchError


def content_key(*parts: Any) -> str:
    """sha256 over a canonical JSON of ``parts``."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# Our temp files, and only ours: ``.<name>.tokbench-<pid>.tmp``. The sweep matches this exactly, so
# it never touches a user's own ``*.tmp`` files that happen to sit under an output folder.
_TEMP_TAG = "tokbench"
_TEMP_RE = re.compile(rf"^\..+\.{_TEMP_TAG}-(\d+)\.tmp$")


def temp_path(path: Path) -> Path:
    """The temp name a writer of ``path`` uses before its atomic rename."""
    return path.with_name(f".{path.name}.{_TEMP_TAG}-{os.getpid()}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a same-folder temp file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
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
    """Delete tokbench temp files left by writers that were killed (their pid is gone); return how many."""
    removed = 0
    if not root.is_dir():
        return 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            match = _TEMP_RE.match(name)
            if match is None:
                continue
            try:
                os.kill(int(match.group(1)), 0)
                continue  # the writer is alive: leave its file alone
            except ProcessLookupError:
                pass
            except (PermissionError, OverflowError):
                continue
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class UnsafeCache(TokbenchError, PermissionError):
    """A cache folder that other users can write to (its entries would decide our numbers)."""


def check_cache_folder(root: Path) -> None:
    """Refuse a cache folder that others can write to, or one inside a folder others can replace it in.

    A cache entry decides a result without being recomputed, so whoever can write the folder can set
    the numbers. Refused: the folder (or one of our sub-folders) writable by group or others, or owned
    by another non-root user; an ancestor writable by others without the sticky bit (anyone could
    rename it away). ``--shared-cache`` (``RunConfig.shared_cache``) accepts such a folder knowingly.
    """
    own = os.getuid() if hasattr(os, "getuid") else None
    problems: list[str] = []
    # the root and every folder in it: suites keep caches of their own there (fid-features, ...)
    subfolders = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []  # links: their targets
    for folder in (root, *subfolders):
        try:
            st = folder.stat()
        except OSError:
            continue
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            problems.append(
                f"{folder} is writable by {'others' if st.st_mode & stat.S_IWOTH else 'its group'} "
                f"(mode {stat.filemode(st.st_mode)})"
            )
        elif own is not None and st.st_uid not in (own, 0):
            problems.append(f"{folder} belongs to another user (uid {st.st_uid})")
    for parent in root.resolve().parents:
        try:
            st = parent.stat()
        except OSError:
            continue
        if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
            problems.append(
                f"{parent} is writable by anyone (mode {stat.filemode(st.st_mode)}), so the cache "
                "inside it can be replaced"
            )
    if problems:
        raise UnsafeCache(
            f"refusing the cache folder {root}: {problems[0]}. Cached entries decide results, so "
            "another user who can write there can set your numbers. Use a private --cache-dir, "
            "or pass --shared-cache if everyone who can write there is trusted."
        )


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
    """Per-image suite records, keyed by (reconstruction key, suite identity).

    One ``.npz`` per entry, read with ``allow_pickle=False``: the records as UTF-8 JSON, each numpy
    array in them stored beside it as an array of its own, and a sha256 over both.
    """

    def __init__(self, root: Path) -> None:
        self.root = root / "records"
        self.stats = CacheStats()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> list[dict[str, Any]] | None:
        path = self._path(key)
        if not path.is_file():
            self.stats.misses += 1
            return None
        try:
            records = decode_records(path.read_bytes())
        except (
            OSError,
            ValueError,
            KeyError,
            IndexError,
            TypeError,
            RecursionError,
            zipfile.BadZipFile,
            EOFError,
        ) as e:
            self.stats.corrupt.append(f"{path}: {type(e).__name__}")
            path.unlink(missing_ok=True)
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return records

    def put(self, key: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store ``records``; return them as a later ``get`` will (lists for tuples, plain numbers)."""
        data = encode_records(records)
        atomic_write_bytes(self._path(key), data)
        return decode_records(data)


_ARRAY = "__tokbench_ndarray__"  # a JSON placeholder {_ARRAY: index} for the index-th stored array


def encode_records(records: list[dict[str, Any]]) -> bytes:
    """Records -> npz bytes: JSON with array placeholders, the arrays, and a sha256 of both."""
    arrays: list[np.ndarray] = []

    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError("a record array holds Python objects; only numeric arrays can be cached")
            arrays.append(value)
            return {_ARRAY: len(arrays) - 1}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"record keys must be strings, got {sorted(map(repr, value))[:3]}")
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        raise TypeError(f"cannot cache a record value of type {type(value).__name__}")

    text = json.dumps([plain(r) for r in records], ensure_ascii=False).encode("utf-8")
    return pack_arrays({"records": np.frombuffer(text, dtype=np.uint8), **{f"a{i}": a for i, a in enumerate(arrays)}})


def decode_records(data: bytes) -> list[dict[str, Any]]:
    """npz bytes -> records; ValueError when the content does not match its sha256 or is malformed."""
    stored = unpack_arrays(data)
    text = stored.pop("records").tobytes()
    arrays = [stored[f"a{i}"] for i in range(len(stored))]

    def restore(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {_ARRAY}:
                return arrays[int(value[_ARRAY])]
            return {k: restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v) for v in value]
        return value

    records = restore(json.loads(text.decode("utf-8")))
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("records are not a list of objects")
    return records


_SHA = "__sha256__"


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Uncompressed npz of ``arrays`` plus a sha256 over their names, dtypes, shapes and bytes."""
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays, **{_SHA: np.frombuffer(_digest(arrays), dtype=np.uint8)})
    return buf.getvalue()


def unpack_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The arrays :func:`pack_arrays` stored; ValueError if damaged (bad zip, pickle, checksum)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except (zipfile.BadZipFile, EOFError, KeyError, OSError) as e:
        raise ValueError(f"unreadable entry ({type(e).__name__})") from None
    digest = arrays.pop(_SHA, None)
    if digest is None or digest.tobytes() != _digest(arrays):
        raise ValueError("checksum mismatch")
    return arrays


def _digest(arrays: dict[str, np.ndarray]) -> bytes:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.digest()
