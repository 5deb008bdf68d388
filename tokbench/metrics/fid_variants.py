"""FID variants: how each FID implementation turns a uint8 image into the 2048-d Inception input.

All four run the same network, the TF 2015-12-05 FID Inception (torch-fidelity's port, loaded by
:mod:`tokbench.metrics.inception`; pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` and clean-fid's /
StyleGAN's ``inception-2015-12-05.pt`` are ports of the same graph). They differ in the resize to 299 x 299
and the input scaling, which moves FID by a few per cent:

- ``torch-fidelity``: TF1-compatible bilinear resize of the uint8 image (as float), then ``(x - 128) / 128``.
- ``adm``: ADM's evaluator feeds float32 pixels to the TF graph, whose own ``ResizeBilinear`` (TF1, no
  half-pixel centres) and ``(x - 128) / 128`` are what torch-fidelity reproduces: the same features; the name
  records the recipe (ADM reference batches, ``scipy.linalg.sqrtm`` FID, float64 statistics).
- ``clean-fid``: clean-fid's ``clean`` mode: PIL BICUBIC resize of each channel as a float image (no
  re-quantisation), clipped to [0, 255], then ``(x - 128) / 128``.
- ``pytorch-fid``: ``ToTensor`` (x / 255), ``F.interpolate(..., 'bilinear', align_corners=False)`` (no
  antialias) to 299, then ``2x - 1`` (that is ``(p - 127.5) / 127.5``, not ``/ 128``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tokbench.errors import ConfigError

if TYPE_CHECKING:  # torch loads only when features are computed: the suite's options import this table
    import torch


@dataclass(frozen=True)
class Variant:
    """A named FID recipe; ``features`` names the feature recipe (variants sharing it share cached features)."""

    name: str
    features: str
    recipe: str


VARIANTS = {
    v.name: v
    for v in (
        Variant(
            "torch-fidelity",
            "tf1-bilinear",
            "torch-fidelity: TF1 bilinear resize to 299 of uint8-as-float, (x-128)/128; FID float64",
        ),
        Variant(
            "adm",
            "tf1-bilinear",
            "ADM evaluator (guided-diffusion evaluations): float32 pixels into the TF FID graph (its ResizeBilinear "
            "to 299, (x-128)/128), pool_3 2048-d; numerically torch-fidelity's network and resize",
        ),
        Variant(
            "clean-fid",
            "pil-bicubic-float",
            "clean-fid mode 'clean': PIL BICUBIC per channel in float ('F') to 299, clip [0,255], (x-128)/128",
        ),
        Variant(
            "pytorch-fid",
            "torch-bilinear",
            "pytorch-fid: x/255, F.interpolate bilinear align_corners=False to 299, 2x-1",
        ),
    )
}

_TRUNK = (
    "Conv2d_1a_3x3",
    "Conv2d_2a_3x3",
    "Conv2d_2b_3x3",
    "MaxPool_1",
    "Conv2d_3b_1x1",
    "Conv2d_4a_3x3",
    "MaxPool_2",
    "Mixed_5b",
    "Mixed_5c",
    "Mixed_5d",
    "Mixed_6a",
    "Mixed_6b",
    "Mixed_6c",
    "Mixed_6d",
    "Mixed_6e",
    "Mixed_7a",
    "Mixed_7b",
    "Mixed_7c",
    "AvgPool",
)
SIZE = 299


def variant(name: str) -> Variant:
    """The variant called ``name``; a ConfigError names the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ConfigError(f"fid: unknown variant {name!r}; choose from {', '.join(VARIANTS)}") from None


def trunk_features(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Pool features of torch-fidelity's extractor for an already resized and scaled float ``[B,3,299,299]``
    input (the extractor's own ``forward`` only takes uint8 and always resizes)."""
    import torch

    with torch.inference_mode():
        for name in _TRUNK:
            x = getattr(model, name)(x)
        return torch.flatten(x, 1).to(torch.float32)


def clean_resize(image: np.ndarray) -> np.ndarray:
    """clean-fid's resize of a uint8 ``[H,W,3]`` image: float32 ``[299,299,3]``."""
    from PIL import Image

    planes = [
        np.asarray(
            Image.fromarray(image[:, :, c].astype(np.float32), mode="F").resize((SIZE, SIZE), Image.Resampling.BICUBIC)
        )
        for c in range(3)
    ]
    return np.stack(planes, axis=2).clip(0, 255).astype(np.float32)


def _model_input(recipe: str, batch: np.ndarray) -> torch.Tensor:
    """The float network input ``[B,3,299,299]`` of uint8 images ``[B,H,W,3]`` (all one size)."""
    import torch

    if recipe == "pil-bicubic-float":
        x = torch.from_numpy(np.stack([clean_resize(a) for a in batch])).permute(0, 3, 1, 2)
        return (x - 128) / 128
    if recipe == "torch-bilinear":
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0
        x = torch.nn.functional.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        return 2 * x - 1
    raise ValueError(f"no float input for feature recipe {recipe!r}")


def variant_features(
    model: torch.nn.Module, arrays: Sequence[np.ndarray], name: str, batch_size: int = 16
) -> np.ndarray:
    """2048-d features (float32 ``[N,2048]``) of uint8 ``[H,W,3]`` arrays under FID variant ``name``."""
    from tokbench.metrics.inception import FEATURE_DIM, features_of_arrays, groups_by_size

    recipe = variant(name).features
    if recipe == "tf1-bilinear":
        return features_of_arrays(model, arrays, batch_size)
    feats = np.zeros((len(arrays), FEATURE_DIM), np.float32)
    device = next(model.parameters()).device
    step = max(1, batch_size)
    for idx in groups_by_size(arrays):
        for j in range(0, len(idx), step):
            part = idx[j : j + step]
            x = _model_input(recipe, np.stack([arrays[i] for i in part]))
            feats[part] = trunk_features(model, x.to(device)).cpu().numpy()
    return feats
