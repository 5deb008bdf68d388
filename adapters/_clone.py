"""Base class of adapters that run model code from the user's clone of an upstream repository.

A subclass names its family (a row of :data:`tokbench.upstream.FAMILIES`) and implements three
hooks: ``_build`` (import from the clone, build from the upstream config, load the checkpoint),
``_encode`` (model-range tensor -> :class:`Encoded` with codes in their real layout) and
``_decode`` (:class:`Encoded` -> model-range tensor). The base class does the rest: options,
finding the clone, weights, ranges, dtype/device, bits, sha256, licence warnings.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from tokbench.adapter import (
    Encoded,
    Tokenizer,
    TokenizerInfo,
    WeightsUnavailable,
    from_model_range,
    to_model_range,
)
from tokbench.upstream import (
    Family,
    SourceTree,
    Variant,
    check_latent,
    count_params,
    family,
    is_offline,
    load_checkpoint,
    reject_unknown,
    resolve_source,
    resolve_weights,
    sha256_files,
    torch_dtype,
    warn_license_once,
)

COMMON_OPTIONS = ["variant", "source", "ckpt", "config", "key", "revision", "offline", "trust_pickle"]


@dataclass
class Built:
    """What ``_build`` returns: the model, the weight files it read and the state-dict key used."""

    model: Any
    files: list[Path] = field(default_factory=list)
    key: str | None = None
    source: str = ""  # where the weights came from, for the result file


class CloneTokenizer(Tokenizer):
    """A tokenizer built from an upstream clone (``source=`` or ``$TOKBENCH_SRC_<FAMILY>``).

    Options: ``variant``, ``source`` (clone), ``ckpt`` (weights file or directory; default: the
    hub file of the variant, or ``$TOKBENCH_WEIGHTS/<family>/<file>``), ``config`` (upstream
    config file; default: the one in the clone), ``key`` (state-dict key; default: the first
    of ``ema``/``model``/``state_dict``), ``revision`` (hub revision), ``offline``, ``trust_pickle``
    (load a checkpoint that pickles Python objects, which runs code from the file; off by default).
    """

    family_name: ClassVar[str]
    extra_options: ClassVar[dict[str, Any]] = {}  # family-specific options and their defaults

    def __init__(
        self,
        variant: str | None = None,
        source: str | None = None,
        ckpt: str | None = None,
        config: str | None = None,
        key: str | None = None,
        revision: str | None = None,
        offline: bool | None = None,
        trust_pickle: bool = False,
        family_name: str | None = None,
        **options: Any,
    ) -> None:
        self.fam: Family = family(family_name or self.family_name)
        extra = {k: options.pop(k, v) for k, v in self.extra_options.items()}
        reject_unknown(self.fam.name, options, COMMON_OPTIONS + list(self.extra_options))
        self.variant: Variant = self.fam.variant(variant)
        if "latent" in extra:
            check_latent(self.fam.name, extra["latent"])
        self.opts: dict[str, Any] = {
            "source": source,
            "ckpt": ckpt,
            "config": config,
            "key": key,
            "revision": None if revision is None else str(revision),  # "1234" arrives as an int
            "offline": offline,
            "trust_pickle": bool(trust_pickle),
            **extra,
        }
        self.model_range = self.fam.input_range
        self.info = self._static_info()
        self._model: Any = None
        self._tree: SourceTree | None = None
        self._device = "cpu"
        self._dtype: Any = None

    # -- description ------------------------------------------------------------------------
    def _static_info(self) -> TokenizerInfo:
        v, fam = self.variant, self.fam
        recorded = {k: self.opts[k] for k in ("config", "key", "revision", "trust_pickle") if self.opts.get(k)}
        recorded.update({k: self.opts[k] for k in self.extra_options})
        return TokenizerInfo(
            name=f"{fam.name}-{v.name}",
            family=fam.name,
            kind=fam.kind_of(v),  # type: ignore[arg-type]
            native_size=v.native_size,
            size_multiple=v.size_multiple if v.native_size is None else 1,
            codebook_sizes=v.codebook_sizes,
            token_layout=fam.layout_of(v),  # type: ignore[arg-type]
            downsample=v.downsample,
            license=fam.license_of(v),
            weights_source=v.weights.describe(),
            options={"variant": v.name, "input_range": self.model_range, **recorded},
        )

    # -- loading ------------------------------------------------------------------------------
    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        """Import from the clone, build, load weights, move to ``device``/``dtype``."""
        import torch

        self._device, self._dtype = device, torch_dtype(dtype)
        if self._model is None:
            root = resolve_source(self.fam, self.opts["source"])
            self._tree = SourceTree.get(root)
            with self._tree.active(), quiet():
                built = self._build(self._tree)
            self._model = built.model
            self.info = replace(
                self.info,
                params=count_params(built.model),
                weights_sha256=sha256_files(built.files),
                weights_source=built.source or self.info.weights_source,
                options={
                    **self.info.options,
                    "input_range": self.model_range,
                    **({"state_dict_key": built.key} if built.key else {}),
                },
            )
            warn_license_once(self.info.name, self.info.license, self.fam.noncommercial)
        model = self._model
        if hasattr(model, "eval"):
            model.eval()
        if hasattr(model, "requires_grad_"):
            model.requires_grad_(False)
        if isinstance(model, torch.nn.Module):
            model.to(device=device, dtype=self._dtype)

    def _ensure_loaded(self) -> None:
        if self._model is None:
            self.load(self._device, "fp32")

    def checkpoint(self, path: Path) -> Any:
        """The checkpoint at ``path``, unpickling Python objects only with ``trust_pickle=true``."""
        return load_checkpoint(path, trust_pickle=bool(self.opts["trust_pickle"]))

    def weights_path(self) -> Path:
        """The variant's checkpoint file (``ckpt=``, ``$TOKBENCH_WEIGHTS``, hub or cache)."""
        return resolve_weights(
            self.info.name,
            self.variant.weights,
            self.opts["ckpt"],
            self.opts["revision"],
            is_offline(self.opts["offline"]),
            family_dir=self.fam.name,
        )

    def config_path(self, tree: SourceTree, default: str | None = None) -> Path:
        """``config=`` if given, else the variant's upstream config inside the clone."""
        given = self.opts["config"]
        rel = default or self.variant.config
        path = Path(given).expanduser() if given else tree.root / (rel or "")
        if not path.is_file():
            raise WeightsUnavailable(
                f"{self.info.name}: config {str(path)!r} not found. Fix: use a current clone of "
                f"{self.fam.repo} or pass config=PATH"
            )
        return path

    # -- the contract ---------------------------------------------------------------------------
    def encode(self, images: Any) -> Encoded:
        import torch

        self._ensure_loaded()
        self._check_size(images)
        x = to_model_range(images, self.model_range).to(self._device, self._dtype)
        assert self._tree is not None
        with torch.no_grad(), self._tree.active():
            enc = self._encode(x)
        if enc.bits is None and self.info.kind == "discrete":
            enc.bits = self.code_bits(enc, images.shape[0])
        return enc

    def decode(self, encoded: Encoded) -> Any:
        import torch

        self._ensure_loaded()
        assert self._tree is not None
        with torch.no_grad(), self._tree.active():
            out = self._decode(encoded)
        return from_model_range(out.float(), self.model_range)

    def code_bits(self, enc: Encoded, batch: int) -> Any:
        """Nominal bits of each image: sum over code positions of log2(codebook size)."""
        import torch

        levels = enc.code_levels()
        sizes = list(self.info.codebook_sizes)
        if len(sizes) != len(levels):
            sizes = [sizes[0]] * len(levels)  # one codebook shared by every level or sub-codebook
        bits = sum(lv[0].numel() * math.log2(k) for lv, k in zip(levels, sizes, strict=True))
        return torch.full((batch,), float(bits), dtype=torch.float64)

    def _check_size(self, images: Any) -> None:
        h, w = images.shape[-2:]
        n = self.info.native_size
        if n is not None and (h, w) != (n, n):
            raise ValueError(f"{self.info.name} takes {n}x{n} images, got {h}x{w}")
        m = self.info.size_multiple
        if n is None and (h % m or w % m):
            raise ValueError(f"{self.info.name} needs sides that are multiples of {m}, got {h}x{w}")

    # -- hooks ----------------------------------------------------------------------------------
    def _build(self, tree: SourceTree) -> Built:
        raise NotImplementedError

    def _encode(self, x: Any) -> Encoded:
        raise NotImplementedError

    def _decode(self, encoded: Encoded) -> Any:
        raise NotImplementedError


def load_weights(
    name: str, model: Any, state_dict: dict[str, Any], source: Path, ignore_missing: tuple[str, ...] = ()
) -> None:
    """``load_state_dict`` that tolerates extra keys (losses, EMA copies) but not missing ones."""
    result = model.load_state_dict(state_dict, strict=False)
    missing = [k for k in getattr(result, "missing_keys", []) if not k.startswith(ignore_missing or ("\0",))]
    if missing:
        raise ValueError(
            f"{name}: {len(missing)} weights are missing from {source} (e.g. {missing[0]}); "
            f"does the checkpoint match the variant and config?"
        )


@contextlib.contextmanager
def quiet() -> Any:
    """Silence upstream build code that prints (model args, 'loaded' lines) unless TOKBENCH_VERBOSE."""
    if os.environ.get("TOKBENCH_VERBOSE"):
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield
