"""tokbench's own model code for the Tiny AutoEncoders of madebyollin/taesd (TAESD, TAESDXL, TAESD3,
TAEF1, TAEF2, TAESANA), written from the upstream README's description of the architecture.

The upstream ``.pth`` files are plain state dicts of two ``nn.Sequential`` stacks, so a parameter's key
is its position in the stack (``"11.pool.1.weight"``). The stacks here are built from layout tables
whose positions reproduce those keys exactly; :func:`build_stacks` checks the layout against a
state dict before loading, so a file of another variant fails with the keys that differ.

Each stack is a sequence of 3x3 convolutions, ReLUs and residual blocks (three 3x3 convolutions plus a
1x1 skip when channels change). The encoder downsamples with stride-2 convolutions; the decoder
first soft-clamps the latent to (-3, 3) with ``3 * tanh(x / 3)``, then upsamples (nearest, 2x) and
convolves. TAEF2 ("flux_2") adds, in the three blocks nearest the latent, a global branch
(1x1 conv to 4x channels, GroupNorm(4), ReLU, 1x1 conv back) added to the block's input.
TAESANA ("f32") uses a 32x encoder and a wider 32x decoder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# A layout is a list of steps: ("conv", c_in, c_out, stride, bias) | ("block", c_in, c_out, global_branch)
# | ("relu",) | ("clamp",) | ("up",). Positions in the list are the state-dict keys.
Step = tuple[Any, ...]


def _blocks(n: int, c: int, global_branch: bool = False) -> list[Step]:
    return [("block", c, c, global_branch)] * n


def _down(c: int) -> Step:
    return ("conv", c, c, 2, False)


def encoder_layout(latent_channels: int, arch: str) -> list[Step]:
    """The encoder's steps for ``arch`` (``plain``, ``flux_2`` or ``f32``)."""
    if arch == "f32":
        return [
            ("conv", 3, 32, 2, True),
            ("relu",),
            ("conv", 32, 64, 2, True),
            ("relu",),
            *_blocks(1, 64),
            *(step for _ in range(3) for step in (_down(64), *_blocks(3, 64))),
            ("conv", 64, latent_channels, 1, True),
        ]
    deep = arch == "flux_2"
    return [
        ("conv", 3, 64, 1, True),
        *_blocks(1, 64),
        _down(64),
        *_blocks(3, 64),
        _down(64),
        *_blocks(3, 64),
        _down(64),
        *_blocks(3, 64, deep),
        ("conv", 64, latent_channels, 1, True),
    ]


def decoder_layout(latent_channels: int, arch: str) -> list[Step]:
    """The decoder's steps for ``arch`` (``plain``, ``flux_2`` or ``f32``)."""
    if arch == "f32":
        widths = [256, 128, 64, 64, 64]  # block width at each of the five 2x stages
        steps: list[Step] = [("clamp",), ("conv", latent_channels, 256, 1, True), ("relu",)]
        for i, c in enumerate(widths):
            nxt = widths[i + 1] if i + 1 < len(widths) else 64
            steps += [*_blocks(3, c), ("up",), ("conv", c, nxt, 1, False)]
        return [*steps, *_blocks(1, 64), ("conv", 64, 3, 1, True)]
    deep = arch == "flux_2"
    up = [("up",), ("conv", 64, 64, 1, False)]
    return [
        ("clamp",),
        ("conv", latent_channels, 64, 1, True),
        ("relu",),
        *_blocks(3, 64, deep),
        *up,
        *_blocks(3, 64),
        *up,
        *_blocks(3, 64),
        *up,
        *_blocks(1, 64),
        ("conv", 64, 3, 1, True),
    ]


def _modules() -> tuple[type, type]:
    """The two module classes (defined on first use so importing this file needs no torch)."""
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES
    import torch
    from torch import nn

    class SoftClamp(nn.Module):
        """``3 * tanh(x / 3)``: keeps a latent inside (-3, 3) without a hard edge."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(x / 3) * 3

    class Block(nn.Module):
        """Residual block; with ``global_branch`` a GroupNorm branch is added to the input first."""

        def __init__(self, c_in: int, c_out: int, global_branch: bool) -> None:
            super().__init__()
            self.conv = nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(c_out, c_out, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(c_out, c_out, 3, padding=1),
            )
            self.skip = nn.Conv2d(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()
            self.fuse = nn.ReLU()
            self.pool = (
                nn.Sequential(
                    nn.Conv2d(c_in, 4 * c_in, 1, bias=False),
                    nn.GroupNorm(4, 4 * c_in),
                    nn.ReLU(),
                    nn.Conv2d(4 * c_in, c_in, 1, bias=False),
                )
                if global_branch
                else None
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.pool is not None:
                x = x + self.pool(x)
            return self.fuse(self.conv(x) + self.skip(x))

    _CLASSES = (SoftClamp, Block)
    return _CLASSES


_CLASSES: tuple[type, type] | None = None


def build_stack(layout: list[Step]) -> torch.nn.Sequential:
    """An ``nn.Sequential`` whose positions follow ``layout``."""
    from torch import nn

    soft_clamp, block = _modules()
    made: list[nn.Module] = []
    for step in layout:
        kind = step[0]
        if kind == "conv":
            _, c_in, c_out, stride, bias = step
            made.append(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias))
        elif kind == "block":
            made.append(block(*step[1:]))
        elif kind == "relu":
            made.append(nn.ReLU())
        elif kind == "clamp":
            made.append(soft_clamp())
        elif kind == "up":
            made.append(nn.Upsample(scale_factor=2))
        else:
            raise ValueError(f"unknown layout step {step!r}")
    return nn.Sequential(*made)


def load_stack(layout: list[Step], state: dict[str, Any], what: str) -> torch.nn.Sequential:
    """Build ``layout`` and load ``state`` into it, strictly; a mismatch names the keys that differ."""
    stack = build_stack(layout)
    want = stack.state_dict()
    missing = sorted(set(want) - set(state))
    unexpected = sorted(set(state) - set(want))
    wrong = sorted(k for k in set(want) & set(state) if tuple(want[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = [
            f"{label} {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        ]
        from tokbench.families.weights import CheckpointMismatch

        raise CheckpointMismatch(f"{what} does not fit this variant's layout: {'; '.join(parts)}")
    stack.load_state_dict(state, strict=True)
    return stack
