"""The one base class of every catalogued family, whichever route reaches its code.

A route (diffusers hub, transformers hub, a clone) subclasses :class:`FamilyTokenizer` and
implements three hooks: ``_build`` (the model and the weight files it read, as :class:`Built`),
``_encode`` (model-range tensor -> :class:`Encoded`) and ``_decode`` (:class:`Encoded` ->
model-range tensor). The base holds the rest: the family row and variant, the options every
route takes (``variant``, ``revision``, ``offline``) and the unknown-option error, the model's
input range, device and dtype, the lazy load with its bookkeeping (parameter count, weights
sha256 and source, state-dict key, licence warning), size checks, range conversion and bits.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tokbench.errors import ConfigError
from tokbench.families.catalog import Family, Variant, family, warn_license_once
from tokbench.families.hub import is_offline
from tokbench.families.tensors import count_params, torch_dtype
from tokbench.families.weights import sha256_files
from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo, from_model_range, to_model_range

if TYPE_CHECKING:
    import torch


@dataclass
class Built:
    """What ``_build`` returns: the model, the weight files it read and the state-dict key used."""

    model: Any
    files: list[Path] = field(default_factory=list)
    key: str | None = None
    source: str = ""  # where the weights came from, for the result file (default: the variant's)
    random_init: bool = False  # random weights (a config only) carry no licence to warn about


def reject_unknown(adapter: str, unknown: dict[str, Any], accepted: list[str]) -> None:
    """Refuse options an adapter does not take, listing those it does."""
    if unknown:
        raise ConfigError(f"{adapter}: unknown option(s) {', '.join(sorted(unknown))}; accepted: {', '.join(accepted)}")


class FamilyTokenizer(Tokenizer):
    """A tokenizer of a catalogued family (``family_name`` picks the row when a class serves several).

    A family whose options are the common ones needs no ``__init__``: the info follows from its row.
    """

    family_name: ClassVar[str] = ""
    options: ClassVar[tuple[str, ...]] = ("variant", "revision", "offline")  # named when one is unknown

    def __init__(
        self,
        family_name: str | None = None,
        variant: str | None = None,
        revision: str | int | None = None,
        offline: bool | None = None,
        **unknown: Any,
    ) -> None:
        self.fam: Family = self._own_row(family_name or self.family_name)
        reject_unknown(self.fam.name, unknown, self.accepted_options())
        self.variant: Variant = self.fam.variant(variant)
        self.revision = None if revision is None else str(revision)  # "1234" arrives as an int
        self._offline = offline
        self.model_range = self.fam.input_range
        self.info = self._row_info({"variant": self.variant.name, "input_range": self.model_range})
        self._model: Any = None
        self._device = "cpu"
        self._dtype: Any = None

    @classmethod
    def _own_row(cls, name: str) -> Family:
        """The family's catalog row: registered, or declared beside the class (a family tried as
        ``--model my_family.py:MyTokenizer`` before it is listed anywhere)."""
        import sys

        from tokbench.families.catalog import families, rows_of

        if name in families():
            return family(name)
        try:
            beside = {row.name: row for row in rows_of(sys.modules[cls.__module__])}
        except (KeyError, TypeError):
            beside = {}
        return beside[name] if name in beside else family(name)

    def accepted_options(self) -> list[str]:
        """Every option the adapter takes."""
        return list(self.options)

    @property
    def offline(self) -> bool:
        """Hub access from the local cache only (the option, else the environment at call time)."""
        return is_offline(self._offline)

    def _row_info(self, options: dict[str, Any], weights_source: str | None = None) -> TokenizerInfo:
        """The TokenizerInfo the catalog row gives the variant, recording ``options``."""
        v, fam = self.variant, self.fam
        return TokenizerInfo(
            name=f"{fam.name}-{v.name}",
            family=fam.name,
            kind=fam.kind_of(v),
            native_size=v.native_size,
            size_multiple=v.size_multiple if v.native_size is None else 1,
            codebook_sizes=v.codebook_sizes,
            token_layout=fam.layout_of(v),
            downsample=v.downsample,
            license=fam.license_of(v),
            weights_source=weights_source or v.weights.describe(),
            options=options,
        )

    # -- loading ------------------------------------------------------------------------------
    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        """Build on first use (recording params, sha256, source, key; licence warning), then place."""
        self._device, self._dtype = device, torch_dtype(dtype)
        if self._model is None:
            built = self._build()
            model = built.model
            if hasattr(model, "eval"):
                model.eval()
            if hasattr(model, "requires_grad_"):
                model.requires_grad_(False)
            self._model = model
            self.info = replace(
                self.info,
                params=count_params(model),
                weights_sha256=sha256_files(built.files),
                weights_source=built.source or self.info.weights_source,
                **self._built_info(built),
            )
            if built.key:
                self.info = replace(self.info, options={**self.info.options, "state_dict_key": built.key})
            if not built.random_init:
                warn_license_once(self.info.name, self.info.license, self.fam.noncommercial)
        self._place()

    def _place(self) -> None:
        """Move the model to the chosen device and dtype."""
        import torch

        if isinstance(self._model, torch.nn.Module):
            self._model.to(device=self._device, dtype=self._dtype)

    def _ensure_loaded(self) -> None:
        if self._model is None:
            self.load(self._device, "fp32")

    def _built_info(self, built: Built) -> dict[str, Any]:
        """TokenizerInfo fields that only the built model knows (e.g. its real downsampling)."""
        return {}

    def _running(self) -> contextlib.AbstractContextManager[Any]:
        """The context the model runs in (a clone's modules, for clone families)."""
        return contextlib.nullcontext()

    # -- the contract ---------------------------------------------------------------------------
    def encode(self, images: torch.Tensor) -> Encoded:
        import torch

        self._ensure_loaded()
        self._check_size(images)
        x = to_model_range(images, self.model_range).to(self._device, self._dtype)
        with torch.no_grad(), self._running():
            enc = self._encode(x)
        if enc.bits is None and self.info.kind == "discrete":
            enc.bits = self.code_bits(enc, images.shape[0])
        return enc

    def decode(self, encoded: Encoded) -> torch.Tensor:
        import torch

        self._ensure_loaded()
        with torch.no_grad(), self._running():
            out = self._decode(encoded)
        return from_model_range(out.float(), self.model_range)

    def code_bits(self, enc: Encoded, batch: int) -> torch.Tensor:
        """Nominal bits of each image: sum over code positions of log2(codebook size)."""
        import torch

        levels = enc.code_levels()
        sizes = list(self.info.codebook_sizes)
        if len(sizes) != len(levels):
            sizes = [sizes[0]] * len(levels)  # one codebook shared by every level or sub-codebook
        bits = sum(lv[0].numel() * math.log2(k) for lv, k in zip(levels, sizes, strict=True))
        return torch.full((batch,), float(bits), dtype=torch.float64)

    def _check_size(self, images: torch.Tensor) -> None:
        h, w = images.shape[-2:]
        n = self.info.native_size
        if n is not None and (h, w) != (n, n):
            raise ValueError(f"{self.info.name} takes {n}x{n} images, got {h}x{w}")
        m = self.info.size_multiple
        if n is None and (h % m or w % m):
            raise ValueError(f"{self.info.name} needs sides that are multiples of {m}, got {h}x{w}")

    # -- hooks ----------------------------------------------------------------------------------
    def _build(self) -> Built:
        raise NotImplementedError

    def _encode(self, x: torch.Tensor) -> Encoded:
        raise NotImplementedError

    def _decode(self, encoded: Encoded) -> torch.Tensor:
        raise NotImplementedError
