"""The family catalog: what a tokenizer family is (rows), where rows live, and licence warnings.

Each family's row is a module-level constant of its adapter file (``FAMILY = Family(...)``, or
``FAMILIES = (...)`` when one adapter class serves several families). The catalog reads the rows
of the modules in :data:`tokbench.plugins.FAMILY_MODULES` and of those named by the ``tokbench.families`` entry
point group, so adding a family is one file. Adapter modules therefore import nothing heavy at
module level (torch and model code are imported inside methods): ``tokbench list`` and
``tokbench models`` import them to read their rows.
"""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any

from tokbench.errors import ConfigError
from tokbench.tokenizer import Kind, Layout

ENTRY_POINT_GROUP = "tokbench.families"  # name = anything, value = a module that declares FAMILY


@dataclass(frozen=True)
class Weights:
    """Where one variant's weights come from.

    ``repo`` + ``filename`` is a file on the Hugging Face hub; ``repo`` alone a whole hub
    repository loaded with ``from_pretrained`` (``subfolder`` inside it). ``manual`` says how to
    obtain files that are not on the hub (Google Drive, Box): the user passes ``ckpt=PATH``.
    """

    repo: str | None = None
    filename: str | None = None
    subfolder: str | None = None
    manual: str | None = None
    gated: bool = False
    include: tuple[str, ...] = ()  # the files of a whole-repo download that are needed

    def describe(self) -> str:
        """``repo:subfolder/file`` (or the bare file name when it is not on the hub)."""
        if self.repo:
            inner = "/".join(p for p in (self.subfolder, self.filename) if p)
            return f"{self.repo}:{inner}" if inner else self.repo
        return self.filename or "?"


@dataclass(frozen=True)
class Variant:
    """One released model of a family: its weights, config and code geometry."""

    name: str
    weights: Weights
    native_size: int | None = 256  # None: any size that is a multiple of size_multiple
    size_multiple: int = 16
    downsample: int | None = 16
    codebook_sizes: tuple[int, ...] = ()
    tokens: tuple[int, ...] = ()  # tokens per level at the reference size (native, else 256)
    latent_channels: int | None = None  # continuous models
    config: str | None = None  # upstream config file, relative to the clone
    license: str | None = None  # overrides the family's
    params: str = "?"  # as published, e.g. "622M"
    extra: dict[str, Any] = field(default_factory=dict)

    def bits_per_image(self) -> float | None:
        """Nominal bits of one image at the reference size (None for continuous variants)."""
        if not self.codebook_sizes:
            return None
        return float(sum(n * math.log2(k) for k, n in zip(self.codebook_sizes, self.tokens, strict=True)))

    def bpp(self) -> float | None:
        """Nominal bits per pixel at the reference size."""
        bits = self.bits_per_image()
        return None if bits is None else bits / float((self.native_size or 256) ** 2)


@dataclass(frozen=True)
class Family:
    """A tokenizer family: how its code is obtained and which variants exist."""

    name: str
    target: str  # "package.module:Class", the adapter that builds it
    summary: str
    source: str  # "pypi:<package>" or "clone"
    kind: str  # "discrete" | "continuous"
    layout: Layout
    input_range: str
    license: str
    variants: dict[str, Variant]
    default: str
    repo: str | None = None  # GitHub owner/name of the upstream code
    packages: tuple[str, ...] = ()  # importable modules the code needs
    noncommercial: bool = False
    # version bounds the upstream code needs, as pip specifiers ("timm<=1.0.12"); doctor checks them
    requirements: tuple[str, ...] = ()
    clone_files: tuple[str, ...] = ()  # files the clone must hold besides code (e.g. a vocab read at import)
    checked_commit: str | None = None  # the upstream commit the adapter was last checked against

    def __post_init__(self) -> None:
        # a variant is named by its key in the family's table
        named = {k: v if v.name == k else replace(v, name=k) for k, v in self.variants.items()}
        object.__setattr__(self, "variants", named)
        if self.default not in named:
            raise ValueError(f"{self.name}: default variant {self.default!r} is not one of {', '.join(named)}")

    @property
    def env(self) -> str:
        """The environment variable that points at the clone."""
        return "TOKBENCH_SRC_" + self.name.upper().replace("-", "_").replace(".", "_")

    @property
    def route(self) -> str:
        """How the model code is reached: ``diffusers hub``, ``transformers hub`` or ``clone``."""
        return "clone" if self.source == "clone" else self.source.split(":", 1)[-1] + " hub"

    def variant(self, name: str | None) -> Variant:
        """The named variant (the default for None or "")."""
        key = self.default if name in (None, "") else str(name)
        if key not in self.variants:
            raise ConfigError(f"{self.name}: unknown variant {key!r}; choose from {', '.join(self.variants)}")
        return self.variants[key]

    def license_of(self, variant: Variant) -> str:
        return variant.license or self.license

    def kind_of(self, variant: Variant) -> Kind:
        """Discrete when the variant has a codebook (Cosmos CI and TiTok VAE variants do not)."""
        return "discrete" if variant.codebook_sizes else "continuous"

    def layout_of(self, variant: Variant) -> Layout:
        return self.layout if variant.codebook_sizes else "latent"


def grid_tokens(downsample: int, size: int = 256) -> int:
    """Tokens of a square grid at ``size`` pixels (rows count tokens at 256x256)."""
    return (size // downsample) ** 2


def rows_of(module: Any) -> tuple[Family, ...]:
    """The catalog rows a module declares: ``FAMILIES`` or ``FAMILY``."""
    rows = getattr(module, "FAMILIES", None) or ((module.FAMILY,) if hasattr(module, "FAMILY") else ())
    if not rows or not all(isinstance(r, Family) for r in rows):
        raise TypeError(f"{module.__name__} declares no FAMILY = Family(...)")
    return tuple(rows)


_catalog: dict[str, Family] = {}


def families() -> dict[str, Family]:
    """Every family, by name: built-in rows first, then those of installed plugins (read once)."""
    if _catalog:
        return _catalog
    found: dict[str, Family] = {}
    from tokbench.plugins import FAMILY_MODULES

    for name in FAMILY_MODULES:
        for row in rows_of(importlib.import_module(name)):
            if row.name in found:
                raise ValueError(f"family {row.name!r} is declared twice")
            found[row.name] = row
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        # a broken plugin must not break every tokbench command: it is named and left out
        try:
            rows = rows_of(importlib.import_module(ep.value))
        except Exception as e:
            warnings.warn(
                f"tokenizer family plugin {ep.name} ({ep.value}) left out: {type(e).__name__}: {e}", stacklevel=2
            )
            continue
        for row in rows:
            if row.name in found:
                warnings.warn(
                    f"tokenizer family plugin {ep.value}: {row.name!r} is already taken; left out", stacklevel=2
                )
                continue
            found[row.name] = row
    _catalog.update(found)
    return _catalog


def family(name: str) -> Family:
    """The family called ``name``."""
    table = families()
    if name not in table:
        raise ConfigError(f"unknown tokenizer family {name!r}; known: {', '.join(table)}")
    return table[name]


def register_families(models: Any) -> None:
    """Register every family on the model registry as a lazy ``module:Class`` target."""
    for name, fam in families().items():
        variants = "|".join(fam.variants)
        where = "clone: source=PATH" if fam.source == "clone" else fam.source
        summary = f"{fam.summary} [variant={variants}; default {fam.default}; {where}]"
        models.register(name, fam.target, summary, family_name=name)


_warned: set[str] = set()


def warn_license_once(name: str, license: str, noncommercial: bool) -> None:
    """Warn once per process when weights come under a non-commercial or restricted licence."""
    words = ("non-commercial", "research", "community")
    restricted = noncommercial or any(w in license.lower() for w in words)
    if restricted and name not in _warned:
        _warned.add(name)
        warnings.warn(f"{name}: weights are under '{license}' - check it allows your use", stacklevel=3)
