"""Frechet Video Distance features from StyleGAN-V's TorchScript I3D (``i3d_torchscript.pt``).

The variant NVIDIA TokenBench (``token_bench/fvd.py``, ``metrics_cli.py``) and most tokenizer papers use:
the Kinetics-400 I3D of the original TF FVD, exported to TorchScript by StyleGAN-V
(universome/stylegan-v ``src/metrics/frechet_video_distance.py``). Calling convention, as TokenBench's
``StyleGANvFeatureExtractor``:

- a clip's first ``max_frames`` frames (TokenBench: 300), RGB in [0,1];
- each frame bilinearly resized (``F.interpolate``, ``align_corners=False``, no antialias) so its short
  side is 224 and its long side ``ceil(long * 224 / short)``, then centre-cropped to 224 x 224 (offset
  ``(side - 224) // 2``), then mapped to [-1,1] as ``(x - 0.5) * 2``;
- the network called on ``[N,3,T,224,224]`` with ``rescale=False, resize=False, return_features=True``,
  returning the 400-d logits before the softmax, one vector per clip.

No file is ever downloaded: :func:`find_i3d` looks only where it is told and in
``$TOKBENCH_WEIGHTS/fvd/``; when absent the ``fvd`` suite reports the metric unavailable, naming the file.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tokbench.errors import ConfigError, ContractError

I3D_FILE = "i3d_torchscript.pt"
I3D_SOURCES = (
    "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt (StyleGAN-V)",
    "huggingface LanguageBind/Open-Sora-Plan-v1.0.0: opensora/eval/fvd/styleganv/i3d_torchscript.pt",
    "huggingface flateon/FVD-I3D-torchscript",
)
VARIANT = "styleganv-i3d-torchscript-400"
SIZE = 224
FEATURES = 400
CALL = {"rescale": False, "resize": False, "return_features": True}
PREPROCESS = (
    "first max_frames frames; per frame bilinear resize (align_corners=False, no antialias) to short side 224, "
    "long side ceil(long*224/short); centre crop 224x224; [0,1] -> [-1,1]; input [N,3,T,224,224]; "
    "called with rescale=False, resize=False, return_features=True (TokenBench's StyleGANvFeatureExtractor)"
)


class I3dOutputError(ContractError):
    """The TorchScript file did not return one finite 400-d vector per clip."""


def default_path() -> Path:
    """``$TOKBENCH_WEIGHTS/fvd/i3d_torchscript.pt`` (``<home>/weights`` when the variable is unset)."""
    from tokbench.paths import weights_dir

    return weights_dir() / "fvd" / I3D_FILE


def find_i3d(option: str | os.PathLike[str] | None) -> Path | None:
    """The I3D file: ``option`` (the suite's ``i3d=``; missing is a ConfigError naming it), else the
    default place when the file is there, else None (FVD unavailable)."""
    if option:
        path = Path(option).expanduser()
        if not path.is_file():
            raise ConfigError(f"fvd: i3d={path} is not a file; it must be StyleGAN-V's {I3D_FILE}")
        return path
    path = default_path()
    return path if path.is_file() else None


def unavailable_message() -> str:
    return (
        f"FVD needs StyleGAN-V's TorchScript I3D {I3D_FILE}, which no package ships: put it at {default_path()} "
        f"or pass --suite-arg fvd:i3d=FILE (sources: {'; '.join(I3D_SOURCES)})"
    )


def load_i3d(path: Path, device: str = "cpu") -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """The scripted network in eval mode, and its provenance (file, sha256, variant, preprocessing)."""
    from tokbench.hashing import sha256_file_memo

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated in torch 2.14
            model = torch.jit.load(str(path), map_location=device).eval()
    except (RuntimeError, ValueError) as e:
        raise ConfigError(f"fvd: cannot load {path} as TorchScript ({e}); it must be StyleGAN-V's {I3D_FILE}") from e
    info = {
        "file": str(path),
        "sha256": sha256_file_memo(path),
        "variant": VARIANT,
        "preprocess": PREPROCESS,
        "call": dict(CALL),
    }
    return model, info


def preprocess(clip: np.ndarray, max_frames: int) -> torch.Tensor:
    """uint8 ``[T,H,W,3]`` -> float32 ``[3,T',224,224]`` in [-1,1], T' = min(T, max_frames)."""
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.shape[0] == 0:
        raise ValueError(f"fvd: expected a uint8 clip [T,H,W,3], got {clip.shape}")
    x = torch.from_numpy(np.ascontiguousarray(clip[:max_frames])).permute(3, 0, 1, 2).float() / 255.0
    h, w = x.shape[-2:]
    scale = SIZE / min(h, w)
    size = (SIZE, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), SIZE)
    # [3,T,H,W] read as a batch of 3 with T channels: a per-frame 2-D bilinear resize, as the reference
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    top, left = (x.shape[-2] - SIZE) // 2, (x.shape[-1] - SIZE) // 2
    x = x[..., top : top + SIZE, left : left + SIZE]
    return ((x - 0.5) * 2).contiguous()


@torch.inference_mode()
def clip_features(model: torch.nn.Module, clip: np.ndarray, max_frames: int, where: str = "i3d") -> np.ndarray:
    """The 400-d I3D feature of one clip, float64 ``[400]``; :class:`I3dOutputError` naming ``where``
    (the file) when the network returns anything else."""
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    x = preprocess(clip, max_frames).unsqueeze(0).to(device)
    out = model(x, **CALL)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, FEATURES):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise I3dOutputError(
            f"fvd: {where} returned {got} for one clip, expected [1, {FEATURES}] (the 400-d logits of "
            f"StyleGAN-V's {I3D_FILE} called with {CALL})"
        )
    feat = out[0].double().cpu().numpy()
    if not np.isfinite(feat).all():
        raise I3dOutputError(f"fvd: {where} returned non-finite features")
    return feat
