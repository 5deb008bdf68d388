"""Hashes of the code that shapes an output, so a cache entry made by other code is never reused.

An adapter's (or suite's) code identity covers the module its class is defined in, the modules of
its tokbench base classes, and every module those import, directly or not, anywhere in the file
(lazy imports inside functions included), that belongs to the same package (or, for a ``file.py``
adapter, sits in the same folder); each by the sha256 of its source file. Plus the version of the
distribution the class comes from. Editing ``my_tok.py``, a helper beside it or a built-in adapter,
or upgrading the package that registers one, changes the identity and with it every cache key.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from tokbench.hashing import sha256_file_memo

# What turns a dataset image into a cached canvas reconstruction, whatever the adapter.
RECONSTRUCTION_PATH = (
    "tokbench.tokenizer",
    "tokbench.data.images",
    "tokbench.protocol",
    "tokbench.reconstruct",
    "tokbench.validate",
)

_imports_memo: dict[tuple[str, str], set[str]] = {}


def _module_file(name: str) -> Path | None:
    """The source file of module ``name`` (without importing it when it is not imported yet)."""
    module = sys.modules.get(name)
    if module is not None:
        try:
            found = inspect.getsourcefile(module) or getattr(module, "__file__", None)
        except TypeError:  # built-in module
            return None
        return Path(found).resolve() if found else None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None
    origin = getattr(spec, "origin", None)
    return Path(origin).resolve() if origin and origin.endswith(".py") else None


def _imports(path: Path, name: str) -> set[str]:
    """Module names ``path`` imports anywhere (``from a import b`` gives ``a`` and ``a.b``)."""
    key = (name, sha256_file_memo(path))
    if key in _imports_memo:
        return _imports_memo[key]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            try:
                base = (
                    importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                    if node.level
                    else (node.module or "")
                )
            except (ImportError, ValueError):
                continue
            if base:
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    _imports_memo[key] = found
    return found


def _related(name: str, home: str, home_dir: Path | None) -> bool:
    """Same top-level package as ``home``; or, for a file adapter (no package), a module beside it."""
    if name.split(".")[0] == home.split(".")[0]:
        return True
    if home_dir is None or "." in home or home in sys.builtin_module_names:
        return False
    found = _module_file(name.split(".")[0])
    return found is not None and found.parent == home_dir


def _closure(roots: set[str], home: str) -> dict[str, Path]:
    """``roots`` and every related module they import, transitively: name -> source file."""
    home_file = _module_file(home)
    home_dir = home_file.parent if home_file is not None and "." not in home else None
    files: dict[str, Path] = {}
    todo = sorted(roots)
    while todo:
        name = todo.pop()
        if name in files:
            continue
        parent = name.rpartition(".")[0]
        if parent and not _is_package(parent):
            continue  # ``from module import function`` names no submodule (and looking would import it)
        path = _module_file(name)
        if path is None or not path.is_file():
            continue
        files[name] = path
        todo.extend(
            sorted(
                m
                for m in _imports(path, name) - set(files)
                if _related(m, home, home_dir) or m.startswith("tokbench.") and name.startswith("tokbench")
            )
        )
    return files


def _is_package(name: str) -> bool:
    module = sys.modules.get(name)
    if module is not None:
        return hasattr(module, "__path__")
    found = _module_file(name)
    return found is not None and found.name == "__init__.py"


@functools.lru_cache(maxsize=1)
def _packages() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()  # scans every installed distribution: once per process


def _distribution(module_name: str) -> dict[str, str] | None:
    top = module_name.split(".")[0]
    if top == "tokbench":  # the common case, without scanning every installed distribution
        from tokbench import __version__

        return {"name": "tokbench", "version": __version__}
    if top.startswith("tokbench_user_"):  # a file adapter: its file's hash is its version
        return None
    names = _packages().get(top) or []
    for dist in names:
        try:
            return {"name": dist, "version": metadata.version(dist)}
        except metadata.PackageNotFoundError:
            continue
    return None


def code_fingerprint(cls: type) -> dict[str, Any]:
    """``{"files": {module: sha256}, "package": {...} | None, "sha256": <one hash of it all>}``."""
    home = cls.__module__
    roots = {home}
    for klass in cls.__mro__[1:]:
        # base classes from tokbench (the Tokenizer contract) count too: they run in encode/decode
        if klass is not object and (
            klass.__module__.split(".")[0] == home.split(".")[0] or klass.__module__.startswith("tokbench")
        ):
            roots.add(klass.__module__)
    files = {_stable_name(name, path): sha256_file_memo(path) for name, path in sorted(_closure(roots, home).items())}
    package = _distribution(home)
    return {"files": files, "package": package, "sha256": _combine(files, package)}


def reconstruction_path_fingerprint() -> dict[str, Any]:
    """The tokbench modules every reconstruction goes through, hashed."""
    files = {}
    for name in RECONSTRUCTION_PATH:
        path = _module_file(name)
        if path is not None:
            files[name] = sha256_file_memo(path)
    return {"files": files, "sha256": _combine(files, None)}


def _stable_name(name: str, path: Path) -> str:
    # a file adapter's module name carries a hash of its content; record the file name instead
    return path.name if name.startswith("tokbench_user_") else name


def _combine(files: dict[str, str], package: dict[str, str] | None) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps([files, package], sort_keys=True).encode()).hexdigest()
