"""Export of the originals as an ADM reference batch (guided-diffusion's ``evaluations/evaluator.py`` format).

ADM's evaluator reads a reference batch ``.npz`` for two things: ``mu``/``sigma`` (pool_3, 2048-d) and
``mu_s``/``sigma_s`` (sFID: the first 7 channels of ``mixed_6/conv``, 17 x 17, 2023-d) when the file has
them, and always ``arr_0`` (uint8 NHWC images) for precision and recall; its published batches hold 10,000
images. tokbench writes all five keys, float64 statistics over every original and the first
``export_images`` canvases as ``arr_0``, streamed into the zip so a 10,000-image batch never sits in memory.

The canvases reach the aggregate step through a content-addressed store (``fid-images/<sha256>.npy``, the
sha256 of the pixels): plain ``.npy`` read with ``allow_pickle=False`` and checked against its name on read.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.errors import DataError
from tokbench.metrics.fid import GaussianStats

#: ADM's reference batches carry this many images for precision / recall
DEFAULT_IMAGES = 10_000


def pixels_sha256(pixels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()


def image_path(store: Path, digest: str) -> Path:
    return store / digest[:2] / f"{digest}.npy"


def store_image(store: Path, pixels: np.ndarray) -> str:
    """Keep a uint8 ``[S,S,3]`` canvas under its sha256 (once); return the digest."""
    from tokbench.cache import atomic_write_bytes

    digest = pixels_sha256(pixels)
    path = image_path(store, digest)
    if not path.is_file():
        import io

        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(pixels, dtype=np.uint8), allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
    return digest


def load_image(store: Path, digest: str, shape: tuple[int, ...]) -> np.ndarray:
    """The stored canvas, checked: plain uint8 of ``shape`` whose sha256 is its name."""
    path = image_path(store, digest)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(
            f"fid export: stored original {path} is missing or unreadable ({type(e).__name__}); "
            "run again with --no-cache so the originals are stored anew"
        ) from None
    if arr.dtype != np.uint8 or arr.shape != shape or pixels_sha256(arr) != digest:
        raise DataError(f"fid export: stored original {path} is damaged (not the image its name hashes); delete it")
    return arr


def write_adm_batch(
    path: str | os.PathLike[str],
    pool: GaussianStats,
    spatial: GaussianStats,
    images: Sequence[str],
    store: Path,
    shape: tuple[int, int, int],
    meta: dict[str, str],
) -> str:
    """Write the reference batch (``arr_0``, ``mu``, ``sigma``, ``mu_s``, ``sigma_s``, ``tokbench_*`` strings)
    atomically; ``images`` are digests in the store. Returns the file's sha256."""
    from tokbench.hashing import sha256_file

    dst = Path(path).expanduser()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    arrays: dict[str, Any] = {
        "mu": pool.mu.astype(np.float64),
        "sigma": pool.sigma.astype(np.float64),
        "mu_s": spatial.mu.astype(np.float64),
        "sigma_s": spatial.sigma.astype(np.float64),
        **{f"tokbench_{k}": np.array(str(v)) for k, v in meta.items()},
    }
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            with zf.open("arr_0.npy", "w", force_zip64=True) as f:
                header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False}
                np.lib.format.write_array_header_2_0(f, {**header, "shape": (len(images), *shape)})
                for digest in images:
                    f.write(load_image(store, digest, shape).tobytes())
            for key, value in arrays.items():
                with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asarray(value), allow_pickle=False)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return sha256_file(dst)
