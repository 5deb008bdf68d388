"""Returning freed heap memory between batches (the effect on a run: benchmarks/)."""

from __future__ import annotations

import platform

import pytest

from tokbench.memory import release_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_is_returned_on_glibc() -> None:
    import numpy as np

    blocks = [np.ones(10_000) for _ in range(2000)]  # 80 kB each: heap blocks, below the mmap threshold
    pinned = blocks[-1]  # a live block at the heap top: free() alone cannot shrink the heap

    def rss_pages() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1])

    del blocks
    freed_but_mapped = rss_pages()
    assert release_freed_memory() is True
    assert rss_pages() < freed_but_mapped - 10_000  # >= 40 MB of the ~160 MB handed back
    assert pinned.sum() == 10_000
