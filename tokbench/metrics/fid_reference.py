"""Reference statistics for FID from the files people share, and export of ours in their format.

Read with ``numpy.load(allow_pickle=False)`` (a pickled array is refused, never executed); only the keys
needed are read, so the 2 GB ``arr_0`` of an ADM reference batch is never loaded. Formats:

- ``adm-reference-batch``: guided-diffusion's ``VIRTUAL_imagenet256_labeled.npz`` and kin: ``arr_0`` (uint8
  images) with ``mu``, ``sigma`` (pool_3) and ``mu_s``, ``sigma_s`` (spatial, for sFID; not used here);
- ``mu-sigma``: pytorch-fid's ``--save-stats`` file and clean-fid's stats file (both ``mu``, ``sigma``),
  and tokbench's own export (the same keys plus ``tokbench_*`` metadata and ``n``).

A file is refused, with the reason, when a key is missing, it holds only images, the sizes do not match the
feature size, a value is not finite, or ``sigma`` is not symmetric or not positive semi-definite.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.errors import DataError
from tokbench.metrics.fid import GaussianStats

#: asymmetry and negative eigenvalues allowed, relative to the largest entry / eigenvalue (float32 rounding)
SYMMETRY_RTOL = 1e-5
PSD_RTOL = 1e-5


class BadReference(DataError):
    """A reference-statistics file that cannot be used; the message names the file and the reason."""


@dataclass
class Reference:
    """Imported statistics, the file's sha256 and what it was recognised as (``n`` when the file says)."""

    mu: np.ndarray
    sigma: np.ndarray
    format: str
    sha256: str
    path: str
    n: int | None = None

    def stats(self) -> GaussianStats:
        return GaussianStats(self.mu, self.sigma, self.n or 0)

    def describe(self) -> dict[str, Any]:
        return {"file": self.path, "sha256": self.sha256, "format": self.format, "n": self.n}


def load_reference(path: str | os.PathLike[str], dim: int = 2048) -> Reference:
    """Statistics from ``path`` checked against feature size ``dim``; :class:`BadReference` otherwise."""
    from tokbench.hashing import sha256_file

    file = Path(path).expanduser()
    if not file.is_file():
        raise BadReference(f"fid reference {file}: no such file")
    try:
        with np.load(file, allow_pickle=False) as z:
            keys = set(z.files)
            fmt = _format(file, keys)
            mu, sigma = (_array(z, k, file) for k in ("mu", "sigma"))
            n = int(_array(z, "n", file)) if "n" in keys else None
    except BadReference:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise BadReference(f"fid reference {file}: not a readable .npz ({type(e).__name__}: {str(e)[:160]})") from None
    check_stats(mu, sigma, dim, str(file))
    return Reference(mu, sigma, fmt, sha256_file(file), str(file), n)


def _format(file: Path, keys: set[str]) -> str:
    if {"mu", "sigma"} <= keys:
        return "adm-reference-batch" if {"mu_s", "sigma_s"} <= keys else "mu-sigma"
    if "arr_0" in keys:
        raise BadReference(
            f"fid reference {file}: holds images only (arr_0), no 'mu'/'sigma'; pass the originals as the dataset "
            "instead (the default reference), or a statistics file"
        )
    missing = sorted({"mu", "sigma"} - keys)
    raise BadReference(f"fid reference {file}: missing key(s) {', '.join(missing)} (has: {', '.join(sorted(keys))})")


def _array(z: Any, key: str, file: Path) -> np.ndarray:
    try:
        arr = z[key]
    except ValueError as e:  # numpy refuses object arrays when allow_pickle is False
        raise BadReference(f"fid reference {file}: key {key!r} is not a plain array ({e})") from None
    if arr.dtype.kind not in "fiu":
        raise BadReference(f"fid reference {file}: key {key!r} has dtype {arr.dtype}, expected numbers")
    return np.asarray(arr, dtype=np.float64)


def check_stats(mu: np.ndarray, sigma: np.ndarray, dim: int, where: str) -> None:
    """Refuse statistics of the wrong size, non-finite, non-symmetric or non-PSD, naming ``where``."""
    if mu.shape != (dim,):
        raise BadReference(f"fid reference {where}: mu has shape {mu.shape}, expected ({dim},) (feature size)")
    if sigma.shape != (dim, dim):
        raise BadReference(f"fid reference {where}: sigma has shape {sigma.shape}, expected ({dim}, {dim})")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise BadReference(f"fid reference {where}: mu or sigma holds NaN or infinite values")
    scale = float(np.abs(sigma).max()) or 1.0
    asym = float(np.abs(sigma - sigma.T).max())
    if asym > SYMMETRY_RTOL * scale:
        raise BadReference(f"fid reference {where}: sigma is not symmetric (max |S - S^T| = {asym:.3g})")
    eig = np.linalg.eigvalsh((sigma + sigma.T) / 2)
    if eig[0] < -PSD_RTOL * max(float(eig[-1]), 1e-300):
        raise BadReference(
            f"fid reference {where}: sigma is not positive semi-definite (smallest eigenvalue {eig[0]:.3g})"
        )


def export_stats(stats: GaussianStats, path: str | os.PathLike[str], meta: dict[str, str]) -> str:
    """Write ``stats`` as a ``mu``/``sigma`` .npz (read by pytorch-fid, clean-fid and ``reference=``), with
    ``n`` and ``tokbench_<key>`` strings from ``meta``; atomic; returns the file's sha256."""
    import io

    from tokbench.cache import atomic_write_bytes
    from tokbench.hashing import sha256_bytes

    buf = io.BytesIO()
    arrays: dict[str, Any] = {f"tokbench_{k}": np.array(str(v)) for k, v in meta.items()}
    arrays.update(mu=stats.mu.astype(np.float64), sigma=stats.sigma.astype(np.float64), n=np.int64(stats.n))
    np.savez(buf, **arrays)
    data = buf.getvalue()
    atomic_write_bytes(Path(path).expanduser(), data)
    return sha256_bytes(data)
