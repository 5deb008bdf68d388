"""Keep a run's resident memory flat as the dataset grows.

Two native caches grow with the number of distinct batch shapes a run sees (OCR width groups, canvas
sizes, tail batches), although the live data does not (< 80 MB of Python/NumPy data at any time):

- oneDNN (torch's CPU convolutions) keeps a primitive, with its scratch memory, per input shape, up to
  1024 of them: we bound it at ``ONEDNN_CACHE`` (measured on 4x the text samples: peak RSS
  1.54 -> 1.19 GB, time within 3 %); a value the user set in the environment wins;
- glibc's heap keeps freed blocks mapped after batches of differently sized arrays:
  ``malloc_trim`` after each batch hands them back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable

ONEDNN_CACHE = 32


def bound_native_caches() -> None:
    """Cap oneDNN's primitive cache; must run before torch's first CPU convolution to take effect."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(ONEDNN_CACHE))


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc.malloc_trim  # glibc only; musl, macOS and Windows have no such call
    except (OSError, AttributeError, TypeError):
        return None


def release_freed_memory() -> bool:
    """Return freed heap pages to the OS; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
