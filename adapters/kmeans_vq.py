"""``kmeans-vq``: a real discrete patch tokenizer, trained offline in seconds.

Each non-overlapping ``p x p`` RGB patch is replaced by the nearest of ``K`` codebook
patches. The codebook is learned by k-means (k-means++ init, Lloyd iterations, fixed seed)
on patches of a named image set that ships with scikit-image, and cached under the tokbench
cache dir keyed by the hash of everything it depends on, so every machine gets the same
codebook and the same weights hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np

from tokbench.errors import ConfigError
from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo, nominal_bits

TRAINING_SETS = {
    "skimage": (
        "astronaut",
        "coffee",
        "chelsea",
        "rocket",
        "immunohistochemistry",
        "hubble_deep_field",
        "camera",
        "page",
        "text",
    ),
}
_VERSION = "1"


def _training_images(name: str) -> list[np.ndarray]:
    import skimage.data

    if name not in TRAINING_SETS:
        raise ConfigError(f"unknown kmeans-vq training set {name!r}; choose from {', '.join(TRAINING_SETS)}")
    images = []
    for loader in TRAINING_SETS[name]:
        img = getattr(skimage.data, loader)()
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        images.append(np.ascontiguousarray(img[..., :3]))
    return images


def _patches(img: np.ndarray, p: int) -> np.ndarray:
    h, w = (img.shape[0] // p) * p, (img.shape[1] // p) * p
    x = img[:h, :w].reshape(h // p, p, w // p, p, 3).transpose(0, 2, 1, 3, 4)
    return x.reshape(-1, p * p * 3).astype(np.float32) / 255.0


def train_codebook(
    images: list[np.ndarray], p: int, k: int, seed: int, iters: int, max_patches: int = 40_000
) -> np.ndarray:
    """k-means over patches: ``[K, p*p*3]`` float32 codebook in [0,1]."""
    rng = np.random.default_rng(seed)
    data = np.concatenate([_patches(img, p) for img in images])
    if len(data) > max_patches:
        data = data[rng.choice(len(data), max_patches, replace=False)]
    if len(data) < k:
        raise ConfigError(f"kmeans-vq: only {len(data)} training patches for K={k}")
    sq = (data**2).sum(1)
    # k-means++ seeding
    centers = [data[rng.integers(len(data))]]
    d2 = ((data - centers[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        idx = rng.choice(len(data), p=d2 / total) if total > 0 else rng.integers(len(data))
        centers.append(data[idx])
        d2 = np.minimum(d2, ((data - data[idx]) ** 2).sum(1))
    c = np.stack(centers).astype(np.float64)
    for _ in range(iters):
        assign = np.argmin(sq[:, None] - 2 * data @ c.T + (c**2).sum(1)[None, :], axis=1)
        counts = np.bincount(assign, minlength=k)
        sums = np.zeros_like(c)
        np.add.at(sums, assign, data)
        nonempty = counts > 0
        c[nonempty] = sums[nonempty] / counts[nonempty, None]
    return c.astype(np.float32)


class KMeansVQ(Tokenizer):
    """Patch k-means tokenizer: ``p`` patch size, ``K`` codebook size."""

    def __init__(
        self,
        p: int = 8,
        K: int = 256,
        seed: int = 0,
        iters: int = 15,
        train: str = "skimage",
        cache_dir: str | None = None,
    ) -> None:
        if p < 1 or K < 2:
            raise ConfigError(f"kmeans-vq: need p >= 1 and K >= 2, got p={p}, K={K}")
        self.p, self.k = int(p), int(K)
        recipe = {
            "version": _VERSION,
            "p": self.p,
            "K": self.k,
            "seed": seed,
            "iters": iters,
            "train": train,
            "images": list(TRAINING_SETS.get(train, ())),
        }
        self.codebook = self._load_or_train(recipe, cache_dir)
        sha = hashlib.sha256(self.codebook.tobytes()).hexdigest()
        self._torch_codebook: Any = None
        self.info = TokenizerInfo(
            name="kmeans-vq",
            family="kmeans-vq",
            kind="discrete",
            size_multiple=self.p,
            codebook_sizes=(self.k,),
            token_layout="2d",
            downsample=self.p,
            params=int(self.codebook.size),
            license="MIT (trained on scikit-image sample images)",
            weights_source=f"trained at first use from skimage.data ({train}), seed {seed}",
            weights_sha256=sha,
            options=recipe,
        )

    @staticmethod
    def _load_or_train(recipe: dict[str, Any], cache_dir: str | None) -> np.ndarray:
        from tokbench.paths import cache_dir as default_cache

        key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
        path = default_cache(cache_dir) / "kmeans-vq" / f"codebook-{key}.npy"
        if path.is_file():
            try:
                cb = np.load(path)
                if cb.shape == (recipe["K"], recipe["p"] ** 2 * 3):
                    return cb
            except (ValueError, OSError):
                pass  # a damaged cache file is retrained below
        cb = train_codebook(
            _training_images(recipe["train"]), recipe["p"], recipe["K"], recipe["seed"], recipe["iters"]
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            np.save(f, cb)
        tmp.replace(path)
        return cb

    def _cb(self, device: Any) -> Any:
        import torch

        if self._torch_codebook is None or self._torch_codebook.device != torch.device(device):
            self._torch_codebook = torch.from_numpy(self.codebook).to(device)
        return self._torch_codebook

    def encode(self, images: Any) -> Encoded:
        import torch

        b, _, h, w = images.shape
        p = self.p
        patches = images.float().reshape(b, 3, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        flat = patches.reshape(b, (h // p) * (w // p), p * p * 3)
        cb = self._cb(images.device)
        # argmin of squared distance; the |x|^2 term is constant per row and dropped
        scores = flat @ cb.T * -2.0 + (cb**2).sum(1)
        idx = scores.argmin(-1).reshape(b, h // p, w // p)
        bits = torch.full((b,), nominal_bits(self.info.codebook_sizes, [(h // p) * (w // p)]), dtype=torch.float64)
        return Encoded(codes=idx, bits=bits)

    def decode(self, encoded: Encoded) -> Any:
        idx = encoded.codes
        b, gh, gw = idx.shape
        p = self.p
        patches = self._cb(idx.device)[idx.reshape(-1)].reshape(b, gh, gw, p, p, 3)
        return patches.permute(0, 5, 1, 3, 2, 4).reshape(b, 3, gh * p, gw * p).clamp(0, 1)
