"""LPIPS (Zhang et al. 2018) per image, with the v0.1 linear heads of the ``lpips`` package.

Inputs are uint8 RGB, mapped to ``[-1, 1]`` as ``x / 127.5 - 1`` before the network (the range
LPIPS was trained on; feeding [0, 1] is a common bug). The heads ship inside the ``lpips``
wheel, but the ImageNet backbones (AlexNet, VGG16, SqueezeNet) come from torchvision's hub
cache, and no offline package ships them. So nothing is ever downloaded here: the backbone file
is checked in ``$TORCH_HOME/hub/checkpoints/`` first and, when absent, :func:`backbone_status`
reports "unavailable" and :func:`load_lpips` raises :class:`LpipsUnavailable`, both naming the
exact file and folder. ``random_backbone=True`` (lpips' ``pnet_rand``) builds a seeded random
backbone for plumbing tests; its scores mean nothing and are labelled so in ``info``.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from tokbench.hashing import sha256_file
from tokbench.tokenizer import WeightsUnavailable

BACKBONE_FILES = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}
BACKBONE_URL = "https://download.pytorch.org/models/"
VERSION = "0.1"
INPUT_RANGE = "uint8 -> x/127.5 - 1 in [-1,1]"


class LpipsUnavailable(WeightsUnavailable):
    """The ImageNet backbone file is missing; the message names the file and folder."""


@dataclass(frozen=True)
class LpipsStatus:
    net: str
    available: bool
    file: str
    folder: str
    message: str


def _check_net(net: str) -> None:
    if net not in BACKBONE_FILES:
        raise ValueError(f"LPIPS net must be one of {', '.join(BACKBONE_FILES)}, got {net!r}")


def backbone_path(net: str) -> Path:
    """Where torchvision looks for the backbone (no network involved)."""
    _check_net(net)
    return Path(torch.hub.get_dir()) / "checkpoints" / BACKBONE_FILES[net]


def backbone_status(net: str = "alex") -> LpipsStatus:
    """Whether real LPIPS can run offline, and if not which file to put where."""
    path = backbone_path(net)
    if path.is_file():
        return LpipsStatus(net, True, path.name, str(path.parent), f"LPIPS-{net}: backbone {path}")
    msg = (
        f"LPIPS-{net} unavailable offline: the ImageNet backbone {path.name} is missing. Put it into "
        f"{path.parent}/ (it is {BACKBONE_URL}{path.name}; set TORCH_HOME to use another folder). "
        "No PyPI package ships it."
    )
    return LpipsStatus(net, False, path.name, str(path.parent), msg)


def load_lpips(
    net: str = "alex", device: str = "cpu", random_backbone: bool = False, seed: int = 0, verify_hash: bool = True
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """An ``lpips.LPIPS`` v0.1 model and ``info`` (net, file hashes, whether the backbone is random).

    Raises :class:`LpipsUnavailable` when the backbone file is absent (never downloads). With
    ``verify_hash`` the file's sha256 must start with the 8-hex prefix in its torchvision name.
    """
    import lpips

    _check_net(net)
    info: dict[str, Any] = {
        "metric": "lpips",
        "net": net,
        "version": VERSION,
        "input_range": INPUT_RANGE,
        "random_backbone": bool(random_backbone),
    }
    if not random_backbone:
        status = backbone_status(net)
        if not status.available:
            raise LpipsUnavailable(status.message)
        path = backbone_path(net)
        digest = sha256_file(path)
        expected = path.stem.rsplit("-", 1)[-1]
        if verify_hash and not digest.startswith(expected):
            raise LpipsUnavailable(
                f"{path} has sha256 {digest[:16]}..., expected a prefix {expected}: "
                f"replace it with {BACKBONE_URL}{path.name}"
            )
        info.update(backbone_file=str(path), backbone_sha256=digest)
    rng = torch.random.fork_rng(devices=[]) if random_backbone else contextlib.nullcontext()
    with rng, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", UserWarning)  # torchvision's `pretrained=` deprecation
        if random_backbone:
            torch.manual_seed(seed)
        model = lpips.LPIPS(net=net, version=VERSION, pnet_rand=random_backbone, verbose=False)
    heads = Path(inspect.getfile(lpips.LPIPS)).parent / "weights" / f"v{VERSION}" / f"{net}.pth"
    info.update(heads_file=str(heads), heads_sha256=sha256_file(heads) if heads.is_file() else None)
    if random_backbone:
        info["backbone_seed"] = seed
        info["note"] = "random backbone (pnet_rand): for plumbing tests only, not LPIPS"
    return model.to(device).eval(), info


def load_present_nets(
    nets: list[str], device: str, random_backbone: bool = False
) -> tuple[dict[str, torch.nn.Module], dict[str, str]]:
    """The LPIPS models of ``nets`` whose backbone is present, and each net's state: its backbone's sha256,
    ``random-backbone``, or ``unavailable: <why>`` (never a download). The state is part of what a record means."""
    models: dict[str, torch.nn.Module] = {}
    state: dict[str, str] = {}
    for net in nets:
        try:
            model, info = load_lpips(net, device, random_backbone=random_backbone)
        except LpipsUnavailable as e:
            state[net] = f"unavailable: {e}"
            continue
        models[net] = model
        state[net] = info.get("backbone_sha256") or "random-backbone"
    return models, state


def _to_lpips_range(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 127.5 - 1.0


@torch.inference_mode()
def lpips_per_image(model: torch.nn.Module, a: torch.Tensor, b: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """LPIPS of each pair of uint8 images ``[B,3,H,W]`` (same shapes), as float64 ``[B]``."""
    if a.shape != b.shape or a.dtype != torch.uint8 or b.dtype != torch.uint8 or a.dim() != 4 or a.shape[1] != 3:
        raise ValueError(
            f"expected two uint8 [B,3,H,W] batches of one shape, got {a.dtype} {tuple(a.shape)} "
            f"and {b.dtype} {tuple(b.shape)}"
        )
    device = next(model.parameters()).device
    out = []
    for i in range(0, a.shape[0], max(1, batch_size)):
        d = model(_to_lpips_range(a[i : i + batch_size].to(device)), _to_lpips_range(b[i : i + batch_size].to(device)))
        out.append(d.reshape(-1).double().cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


def lpips_of_arrays(
    model: torch.nn.Module, a: Sequence[np.ndarray], b: Sequence[np.ndarray], batch_size: int = 16
) -> np.ndarray:
    """Per-pair LPIPS of uint8 ``[H,W,3]`` arrays whose sizes vary between pairs (batched by size)."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} vs {len(b)} images")
    vals = np.zeros(len(a))
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x.shape != y.shape or x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"pair {i}: shapes {x.shape} vs {y.shape}; expected equal [H,W,3]")
        groups.setdefault(x.shape, []).append(i)
    for idx in groups.values():
        ta = torch.from_numpy(np.stack([a[i] for i in idx])).permute(0, 3, 1, 2).contiguous()
        tb = torch.from_numpy(np.stack([b[i] for i in idx])).permute(0, 3, 1, 2).contiguous()
        vals[idx] = lpips_per_image(model, ta, tb, batch_size)
    return vals


class Lpips:
    """update/compute metric: mean LPIPS over pairs, keeping the per-image values."""

    higher_is_better: ClassVar[bool] = False
    version: ClassVar[str] = "1"

    def __init__(self, model: torch.nn.Module, batch_size: int = 16) -> None:
        self.model = model
        self.batch_size = batch_size
        self.values: list[float] = []

    def reset(self) -> None:
        self.values = []

    def update(self, a: torch.Tensor | Sequence[np.ndarray], b: torch.Tensor | Sequence[np.ndarray]) -> np.ndarray:
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            vals = lpips_per_image(self.model, a, b, self.batch_size)
        else:
            vals = lpips_of_arrays(self.model, list(a), list(b), self.batch_size)
        self.values.extend(float(v) for v in vals)
        return vals

    def compute(self) -> dict[str, Any]:
        return {"lpips": float(np.mean(self.values)) if self.values else None, "n": len(self.values)}
