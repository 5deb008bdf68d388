"""Compression of the token corpus: Huffman rate and general-purpose compressors.

The corpus of one stream is serialised as fixed-width little-endian unsigned ints (uint16 when
K <= 65536, else uint32), images concatenated in the order they are fed (the dataset order).
Bytes are spooled to an anonymous temporary file and compressed at the end one compressor at
a time in fixed-size blocks, so memory stays bounded (xz preset 9e alone needs ~700 MB) and
the output does not depend on how the stream was chunked.
"""

from __future__ import annotations

import lzma
import math
import tempfile
import zlib
from collections import deque
from typing import Any

import numpy as np

_BLOCK = 1 << 20
LZMA_PRESET = 9 | lzma.PRESET_EXTREME
ZLIB_LEVEL = 9
ZSTD_LEVEL = 19


def huffman_bits_per_token(counts: np.ndarray) -> float:
    """Mean code length (bits/token) of a Huffman code built on ``counts``; table cost excluded.

    Uses that the expected code length is the sum of all internal-node weights divided by the
    total weight, with the linear two-queue construction on sorted counts. One type -> 0 bits."""
    c = np.sort(np.asarray(counts, dtype=np.int64)[np.asarray(counts) > 0])
    if c.size <= 1:
        return 0.0
    leaves = deque(c.tolist())
    merged: deque[int] = deque()

    def pop() -> int:
        if not merged or (leaves and leaves[0] <= merged[0]):
            return leaves.popleft()
        return merged.popleft()

    internal = 0
    for _ in range(c.size - 1):
        w = pop() + pop()
        internal += w
        merged.append(w)  # merged weights never decrease, so this queue stays sorted
    return internal / float(c.sum())


def _compressor(method: str) -> Any:
    if method == "lzma":
        return lzma.LZMACompressor(preset=LZMA_PRESET)
    if method == "zlib":
        return zlib.compressobj(ZLIB_LEVEL)
    if method == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
    raise ValueError(f"unknown compressor {method!r}; known: lzma, zlib, zstd")


def compressor_available(method: str) -> bool:
    if method != "zstd":
        return method in ("lzma", "zlib")
    try:
        import zstandard  # noqa: F401
    except ImportError:
        return False
    return True


class CorpusCompressor:
    """Compressed size of a token stream under each requested general-purpose compressor."""

    def __init__(self, id_bound: int | None, methods: tuple[str, ...] = ("lzma", "zlib")) -> None:
        self.dtype = np.dtype("<u2") if id_bound is not None and id_bound <= 65536 else np.dtype("<u4")
        self.methods = methods
        self.n_tokens = 0
        self._spool: Any = tempfile.TemporaryFile()
        self._result: dict[str, Any] | None = None

    def update(self, seq: np.ndarray) -> None:
        seq = np.asarray(seq)
        if seq.size and (seq.min() < 0 or seq.max() > np.iinfo(self.dtype).max):
            raise ValueError(f"token ids outside the {self.dtype.name} range of the serialisation")
        self._spool.write(seq.astype(self.dtype).tobytes())
        self.n_tokens += int(seq.size)

    def _compressed_bytes(self, method: str) -> int:
        comp = _compressor(method)
        self._spool.seek(0)
        size = 0
        while block := self._spool.read(_BLOCK):
            size += len(comp.compress(block))
        return size + len(comp.flush())

    def compute(self) -> dict[str, Any]:
        """``{method: {bytes, ratio, bits_per_token}}`` plus the raw size; idempotent."""
        if self._result is None:
            raw = self.n_tokens * self.dtype.itemsize
            out: dict[str, Any] = {"raw_bytes": raw, "dtype": self.dtype.str, "methods": {}}
            for method in self.methods:
                if not compressor_available(method):
                    out["methods"][method] = {"unavailable": True}
                    continue
                size = self._compressed_bytes(method)
                out["methods"][method] = {
                    "bytes": size,
                    "ratio": size / raw if raw else math.nan,
                    "bits_per_token": 8.0 * size / self.n_tokens if self.n_tokens else math.nan,
                }
            self._spool.close()
            self._result = out
        return self._result
