"""Lazy name -> factory registries for models, suites and OCR / face backends.

Entries are ``"module:attr"`` strings resolved on first use, so listing what exists never
imports torch or model code. Built-in names come from one table (:mod:`tokbench.plugins`) and
register through the same API users call; packages add theirs through entry points. Anything is
also reachable as ``path/to/file.py:Class``. Every object built is checked against its contract.
The registry imports no plugin module: plugins import it, never the other way round.
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

from tokbench.errors import ConfigError, ContractError


class UnknownName(ConfigError, KeyError):
    """An unknown registry name; the message lists close matches and what exists."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


@dataclass
class Entry:
    target: str | Callable[..., Any]
    summary: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)


class Registry:
    """A name -> lazy target map with helpful errors; ``contract`` says what a built object lacks (or None)."""

    def __init__(
        self, kind: str, entry_point_group: str | None = None, contract: Callable[[Any], str | None] | None = None
    ) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._group = entry_point_group
        self._entry_points_loaded = False
        self._contract = contract

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
            raise UnknownName(f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(sorted(self._entries))}")
        return self._entries[name]

    def resolve(self, name: str) -> Callable[..., Any]:
        target = self.entry(name).target
        return load_target(target) if isinstance(target, str) else target

    def build(self, name: str, **options: Any) -> Any:
        entry = self.entry(name)
        return self.construct(self.resolve(name), name, {**entry.defaults, **options})

    def build_spec(self, text: str, flag: str, **extra: Any) -> Any:
        """Build from ``name[:k=v,...]`` or ``file.py:Class[:k=v,...]``; ``extra`` options yield to the spec's."""
        spec = parse_model_spec(text, flag)
        options = {**extra, **spec.options}
        if spec.path_target:
            return self.construct(load_target(spec.path_target), spec.name, options)
        return self.build(spec.name, **options)

    def construct(self, factory: Callable[..., Any], name: str, options: dict[str, Any]) -> Any:
        """``factory(**options)``, with a wrong option named and the result checked against the contract."""
        try:
            obj = factory(**options)
        except TypeError:
            accepted = _accepted_options(factory)
            if accepted is None or set(options) <= accepted:
                raise  # not an option mistake: a bug inside the factory
            unknown = ", ".join(sorted(set(options) - accepted))
            raise ConfigError(
                f"{self.kind} {name!r}: unknown option(s) {unknown}; accepted: {', '.join(sorted(accepted)) or 'none'}"
            ) from None
        problem = self._contract(obj) if self._contract else None
        if problem:
            raise ContractError(
                f"{self.kind} {name!r} ({type(obj).__module__}.{type(obj).__qualname__}) does not "
                f"fulfil the {self.kind} contract: {problem}"
            )
        return obj


def _accepted_options(factory: Callable[..., Any]) -> set[str] | None:
    """Keyword names ``factory`` takes, or None when it takes any (``**kwargs``) or cannot be inspected."""
    import inspect

    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def load_target(spec: str) -> Any:
    """Import ``"package.module:attr"`` or ``"path/to/file.py:attr"``."""
    module_name, _, attr = spec.rpartition(":")
    if not module_name:
        raise ConfigError(f"target {spec!r} must look like 'module:attr' or 'file.py:attr'")
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
            raise ConfigError(f"model option {part!r} must look like key=value")
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


def parse_model_spec(text: str, flag: str = "--model") -> ModelSpec:
    """Parse ``jpeg:quality=5,down=4`` or ``my_tok.py:MyTok[:k=v,...]`` (also backends' and suites' specs)."""
    head, _, rest = text.partition(":")
    if head.endswith(".py"):
        cls, _, opts = rest.partition(":")
        if not cls:
            raise ConfigError(f"{flag} {text!r}: a file plugin needs a class, e.g. {head}:MyClass")
        return ModelSpec(f"{Path(head).stem}.{cls}", parse_options(opts), f"{head}:{cls}")
    return ModelSpec(head, parse_options(rest))


def _tokenizer_contract(obj: Any) -> str | None:
    from tokbench.tokenizer import TokenizerInfo

    if not isinstance(getattr(obj, "info", None), TokenizerInfo):
        return "it needs an `info` TokenizerInfo (subclass tokbench.tokenizer.Tokenizer)"
    missing = [m for m in ("encode", "decode", "load") if not callable(getattr(obj, m, None))]
    return f"it needs method(s) {', '.join(missing)}" if missing else None


def _suite_contract(obj: Any) -> str | None:
    from tokbench.suite import Suite

    if not isinstance(obj, Suite):
        return "it must subclass tokbench.suite.Suite"
    if not isinstance(getattr(obj, "name", None), str) or not obj.name:
        return "it needs a class attribute `name`"
    missing = [m for m in ("process", "aggregate") if getattr(type(obj), m) is getattr(Suite, m)]
    return f"it must implement {', '.join(missing)}" if missing else None


def _protocol_contract(module: str, protocol: str) -> Callable[[Any], str | None]:
    def check(obj: Any) -> str | None:
        proto = getattr(importlib.import_module(module), protocol)
        if isinstance(obj, proto):
            return None
        needed = [m for m in dir(proto) if not m.startswith("_") and not hasattr(obj, m)]
        return f"it lacks {', '.join(needed)} (see {module}.{protocol})"

    return check


MODELS = Registry("model", entry_point_group="tokbench.adapters", contract=_tokenizer_contract)
SUITES = Registry("suite", entry_point_group="tokbench.suites", contract=_suite_contract)
OCR_BACKENDS = Registry(
    "OCR backend", entry_point_group="tokbench.ocr", contract=_protocol_contract("tokbench.backends.ocr", "OcrBackend")
)
FACE_BACKENDS = Registry(
    "face backend",
    entry_point_group="tokbench.face",
    contract=_protocol_contract("tokbench.backends.face", "FaceBackend"),
)


def build_model(spec: ModelSpec) -> Any:
    """Instantiate (and check) the adapter a ``ModelSpec`` names."""
    if spec.path_target:
        return MODELS.construct(load_target(spec.path_target), spec.name, spec.options)
    return MODELS.build(spec.name, **spec.options)


def resolve_suite(name: str) -> Callable[..., Any]:
    """The suite class a ``--suite`` value names: a registered name, or ``path/to/file.py:Class`` for a
    suite kept in one file of its own (no package, no registration)."""
    head, _, attr = name.partition(":")
    if head.endswith(".py"):
        if not attr:
            raise ConfigError(f"--suite {name!r}: a file suite needs a class, e.g. {head}:MySuite")
        return load_target(name)
    return SUITES.resolve(name)


def builtin_tables() -> list[tuple[Registry, tuple[Any, ...]]]:
    """Each registry with its rows of the plugin table (:mod:`tokbench.plugins`)."""
    from tokbench import plugins

    return [
        (MODELS, plugins.MODELS),
        (SUITES, plugins.SUITES),
        (OCR_BACKENDS, plugins.OCR),
        (FACE_BACKENDS, plugins.FACE),
    ]


def _register_builtins() -> None:
    for registry, table in builtin_tables():
        for plugin in table:
            registry.register(plugin.name, plugin.target, plugin.summary, **plugin.defaults)

    from tokbench.families.catalog import register_families

    register_families(MODELS)


_register_builtins()
