"""sha256 of files and bytes: the one place tokbench hashes content."""

from __future__ import annotations

import hashlib
import os


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Streamed sha256 of a file (constant memory for multi-GB checkpoints)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def stat_key(path: str | os.PathLike[str]) -> str:
    """What a memo of a file's hash is keyed by: path, inode, size, mtime and ctime. ctime is in it because
    a same-size edit can keep its mtime (``touch -r``, ``cp -p``, a restored backup) but always moves
    ctime, which no user call can set back."""
    st = os.stat(path)
    return f"{path}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"


_memo: dict[str, str] = {}


def sha256_file_memo(path: str | os.PathLike[str]) -> str:
    """:func:`sha256_file`, memoised in this process on :func:`stat_key`."""
    key = stat_key(path)
    if key not in _memo:
        _memo[key] = sha256_file(path)
    return _memo[key]
