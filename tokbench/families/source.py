"""Clones of upstream repositories: finding one, and importing model code from it in isolation.

Families whose model code is not on PyPI run from the user's clone (``source=PATH`` or
``$TOKBENCH_SRC_<FAMILY>``); tokbench never copies that code.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tokbench.families.catalog import Family
from tokbench.tokenizer import WeightsUnavailable


def resolve_source(fam: Family, source: str | os.PathLike[str] | None) -> Path:
    """The clone for ``fam``: ``source=`` option, else ``$TOKBENCH_SRC_<FAMILY>``."""
    given = source or os.environ.get(fam.env)
    clone = f"git clone https://github.com/{fam.repo}"
    if not given:
        raise WeightsUnavailable(
            f"{fam.name}: needs a local clone of {fam.repo} (its model code is not on PyPI). "
            f"Fix: `{clone}` and pass source=PATH (e.g. --model {fam.name}:source=PATH) "
            f"or set {fam.env}=PATH"
        )
    path = Path(given).expanduser()
    if not path.is_dir():
        raise WeightsUnavailable(
            f"{fam.name}: source {str(path)!r} is not a directory. "
            f"Fix: `{clone} {path}` or point source=/{fam.env} at an existing clone"
        )
    return path.resolve()


def _top_level_names(root: Path) -> set[str]:
    """Importable top-level names a clone defines (packages and modules at its root)."""
    names: set[str] = set()
    for entry in root.iterdir():
        if entry.suffix == ".py" and entry.stem.isidentifier():
            names.add(entry.stem)
        elif (
            entry.is_dir()
            and entry.name.isidentifier()
            and ((entry / "__init__.py").exists() or any(entry.glob("*.py")) or any(entry.glob("*/*.py")))
        ):
            names.add(entry.name)
    return names


def _module_root(module: Any) -> str | None:
    path = getattr(module, "__file__", None)
    if path:
        return os.path.realpath(path)
    search = getattr(module, "__path__", None)
    if search:
        for entry in list(search):
            return os.path.realpath(entry)
    return None


class SourceTree:
    """A clone imported in isolation.

    Upstream repos use generic top-level names (``models``, ``utils``, ``tokenizer``,
    ``modeling``) that collide between families. Inside :meth:`active` the clone is first on
    ``sys.path`` and ``sys.modules`` holds only its own modules under those names; on exit the
    previous modules come back and the clone's are kept aside for the next entry. Re-entering is
    cheap and nested entries of the same tree are no-ops.
    """

    _registry: dict[Path, SourceTree] = {}

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.names = _top_level_names(self.root)
        self._modules: dict[str, Any] = {}
        self._depth = 0

    @classmethod
    def get(cls, root: Path) -> SourceTree:
        """The one tree of a clone (its modules are kept between entries)."""
        root = root.resolve()
        if root not in cls._registry:
            cls._registry[root] = cls(root)
        return cls._registry[root]

    def _ours(self, name: str) -> bool:
        return name.split(".", 1)[0] in self.names

    def _inside(self, module: Any) -> bool:
        where = _module_root(module)
        return where is not None and (where + os.sep).startswith(str(self.root) + os.sep)

    @contextlib.contextmanager
    def active(self) -> Iterator[SourceTree]:
        """Make the clone's modules the importable ones for the duration of the block."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        saved = {n: m for n, m in sys.modules.items() if self._ours(n) and not self._inside(m)}
        for n in saved:
            del sys.modules[n]
        sys.modules.update(self._modules)
        root = str(self.root)
        inserted = root not in sys.path
        if inserted:
            sys.path.insert(0, root)
        self._depth = 1
        try:
            yield self
        finally:
            self._depth = 0
            self._modules = {n: m for n, m in sys.modules.items() if self._ours(n)}
            for n in self._modules:
                del sys.modules[n]
            sys.modules.update(saved)
            if inserted and root in sys.path:
                sys.path.remove(root)

    def import_module(self, name: str) -> Any:
        """Import ``name`` from the clone, with a fix-it message when its dependencies are missing."""
        import importlib

        with self.active():
            try:
                return importlib.import_module(name)
            except ModuleNotFoundError as e:
                missing = e.name or str(e)
                if missing.split(".", 1)[0] in self.names or name.startswith(missing):
                    raise WeightsUnavailable(
                        f"{self.root} has no module {missing!r}: is it a clone of the right repository "
                        f"(and of a recent revision)?"
                    ) from None
                raise WeightsUnavailable(
                    f"importing {name} from {self.root} needs the package {missing!r}. "
                    f"Fix: pip install {pip_name(missing)} (or the clone's requirements.txt)"
                ) from None


_PIP_NAMES = {
    "yaml": "pyyaml",
    "tap": "typed-argument-parser",
    "cv2": "opencv-python",
    "pytorch_lightning": "pytorch-lightning",
    "lightning": "lightning",
    "PIL": "pillow",
    "sklearn": "scikit-learn",
}


def pip_name(module: str) -> str:
    """The pip package that provides an importable module (``yaml`` -> ``pyyaml``)."""
    top = module.split(".", 1)[0]
    return _PIP_NAMES.get(top, top.replace("_", "-"))
