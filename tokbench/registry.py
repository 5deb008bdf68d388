"""Lazy name -> factory registries for models, suites, datasets and backends.

Entries are ``"module:attr"`` strings resolved on first use, so listing what exists never
imports torch or model code. Built-ins register through the same API users call.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any


class UnknownName(KeyError):
    """An unknown registry name; the message lists close matches and what exists."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


@dataclass
class Entry:
    target: str | Callable[..., Any]
    summary: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)


class Registry:
    """A name -> lazy target map with helpful errors."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._group = entry_point_group
        self._entry_points_loaded = False

    def register(self, name: str, target: str | Callable[..., Any], summary: str = "", **defaults: Any) -> None:
        if not name or name != name.strip() or "/" in name or ":" in name:
            raise ValueError(f"invalid {self.kind} name {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = Entry(target, summary, defaults)

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded or self._group is None:
            return
        self._entry_points_loaded = True
        for ep in metadata.entry_points(group=self._group):
            if ep.name not in self._entries:
                self._entries[ep.name] = Entry(ep.value, f"from package {ep.dist.name if ep.dist else '?'}")

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def entry(self, name: str) -> Entry:
        self._load_entry_points()
        if name not in self._entries:
            close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownName(
                f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(sorted(self._entries))}"
            )
        return self._entries[name]

    def resolve(self, name: str) -> Callable[..., Any]:
        target = self.entry(name).target
        return load_target(target) if isinstance(target, str) else target

    def build(self, name: str, **options: Any) -> Any:
        entry = self.entry(name)
        return self.resolve(name)(**{**entry.defaults, **options})


def load_target(spec: str) -> Any:
    """Import ``"package.module:attr"`` or ``"path/to/file.py:attr"``."""
    module_name, _, attr = spec.rpartition(":")
    if not module_name:
        raise ValueError(f"target {spec!r} must look like 'module:attr' or 'file.py:attr'")
    if module_name.endswith(".py"):
        module = _import_file(Path(module_name))
    else:
        module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UnknownName(f"{module_name} has no attribute {attr!r}") from None


def _import_file(path: Path) -> Any:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"adapter file not found: {path}")
    # named by content: an edited file is imported afresh, never served from an earlier import
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    stem = re.sub(r"\W", "_", path.stem)
    name = f"tokbench_user_{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def parse_options(text: str) -> dict[str, Any]:
    """``"quality=5,down=4"`` -> ``{"quality": 5, "down": 4}`` (ints, floats, bools typed)."""
    options: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"model option {part!r} must look like key=value")
        options[key.strip()] = _typed(value.strip())
    return options


def _typed(value: str) -> Any:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    # a plain number only: "nan" or "inf" stay strings (they are mode names, not values)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?", value):
        return float(value)
    return value


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``--model`` value: a registered name or ``file.py:Class``, plus options."""

    name: str
    options: dict[str, Any]
    path_target: str | None = None

    @property
    def id(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.name}:{opts}" if opts else self.name


def parse_model_spec(text: str) -> ModelSpec:
    """Parse ``jpeg:quality=5,down=4`` or ``my_tok.py:MyTok[:k=v,...]``."""
    head, _, rest = text.partition(":")
    if head.endswith(".py"):
        cls, _, opts = rest.partition(":")
        if not cls:
            raise ValueError(f"--model {text!r}: a file adapter needs a class, e.g. {head}:MyTokenizer")
        return ModelSpec(f"{Path(head).stem}.{cls}", parse_options(opts), f"{head}:{cls}")
    return ModelSpec(head, parse_options(rest))


MODELS = Registry("model", entry_point_group="tokbench.adapters")
SUITES = Registry("suite", entry_point_group="tokbench.suites")
DATASETS = Registry("dataset")
OCR_BACKENDS = Registry("OCR backend")
FACE_BACKENDS = Registry("face backend")


def build_model(spec: ModelSpec) -> Any:
    """Instantiate the adapter a ``ModelSpec`` names."""
    if spec.path_target:
        return load_target(spec.path_target)(**spec.options)
    return MODELS.build(spec.name, **spec.options)


def _register_builtins() -> None:
    m = "tokbench.adapters"
    MODELS.register("identity", f"{m}.identity:Identity", "no tokenizer: pure letterbox resize loss ('Resize')")
    MODELS.register("resize", f"{m}.identity:Identity", "alias of identity (TokBench's 'Resize' row)")
    for codec in ("jpeg", "webp", "avif", "jpeg2000"):
        MODELS.register(codec, f"{m}.codecs:PillowCodec", f"{codec} via Pillow (quality=, bpp=, down=)",
                        codec=codec)
    MODELS.register("kmeans-vq", f"{m}.kmeans_vq:KMeansVQ", "patch k-means VQ tokenizer (p=, K=), trained offline")
    from tokbench.adapters.catalog import register_real_families
    from tokbench.backends import register_backends

    register_real_families(MODELS)
    register_backends(OCR_BACKENDS, FACE_BACKENDS)
    s = "tokbench.suites"
    SUITES.register("recon", f"{s}.recon:ReconSuite", "PSNR, SSIM (+ MS-SSIM, LPIPS) per image")
    SUITES.register("fid", f"{s}.fid:FidSuite", "rFID and KID between originals and reconstructions")
    SUITES.register("text", f"{s}.text:TextSuite", "OCR accuracy T-ACC / T-NED on text crops, by scale")
    SUITES.register("face", f"{s}.face:FaceSuite", "identity similarity F-Sim on aligned faces, by scale")
    SUITES.register("language", f"{s}.language:LanguageSuite", "statistics of the token language")


_register_builtins()
