"""Checks on every decode, so a broken adapter never yields a silently wrong score."""

from __future__ import annotations

from typing import Any

from tokbench.errors import ContractError

# Decoders in float32 land a hair outside [0,1]; beyond this it is a range bug, not rounding.
RANGE_TOLERANCE = 1e-3


class AdapterError(ContractError):
    """An adapter failed a check; names the adapter, the check and the batch's images."""

    def __init__(self, adapter: str, check: str, image_ids: list[str]) -> None:
        shown = ", ".join(image_ids[:5]) + (f" and {len(image_ids) - 5} more" if len(image_ids) > 5 else "")
        super().__init__(f"adapter {adapter!r} failed check: {check} (batch images: {shown})")
        self.adapter, self.check, self.image_ids = adapter, check, image_ids


def validate_decode(adapter: str, out: Any, shape: tuple[int, ...], image_ids: list[str]) -> Any:
    """Return ``out`` as float32 clamped to [0,1] if it passes every check, else raise."""
    import torch

    def fail(check: str) -> AdapterError:
        return AdapterError(adapter, check, image_ids)

    if not isinstance(out, torch.Tensor):
        raise fail(f"decode must return a torch.Tensor, got {type(out).__name__}")
    if out.shape[0] != shape[0]:
        raise fail(f"decode returned {out.shape[0]} images for {shape[0]} inputs")
    if tuple(out.shape) != shape:
        raise fail(f"decode returned shape {tuple(out.shape)}, expected {shape} ([B,3,H,W])")
    if not out.dtype.is_floating_point:
        raise fail(f"decode returned dtype {out.dtype}, expected a float tensor in [0,1]")
    out = out.float()
    finite = torch.isfinite(out)
    if not bool(finite.all()):
        bad = (~finite).flatten(1).any(1).nonzero().flatten().tolist()
        raise fail(f"decode returned NaN/Inf values (in images {', '.join(image_ids[i] for i in bad[:5])})")
    lo, hi = float(out.min()), float(out.max())
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise fail(
            f"decode returned values in [{lo:.4g}, {hi:.4g}], outside [0,1] "
            "(convert from the model's range inside the adapter)"
        )
    return out.clamp(0.0, 1.0)
