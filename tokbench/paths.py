"""Where tokbench keeps data, caches and weights (never inside the installed package)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$TOKBENCH_HOME``, else the platform's user cache dir for tokbench."""
    env = os.environ.get("TOKBENCH_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tokbench"))


def data_root(override: str | os.PathLike[str] | None = None) -> Path:
    """Root under which datasets are fetched: ``--data-root``, else ``<home>/data``."""
    return Path(override).expanduser() if override else home() / "data"


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Root of content-keyed caches: ``--cache-dir``, else ``<home>/cache``."""
    return Path(override).expanduser() if override else home() / "cache"


def weights_dir() -> Path:
    """Where converted or user-supplied weights live: ``$TOKBENCH_WEIGHTS`` or ``<home>/weights``."""
    env = os.environ.get("TOKBENCH_WEIGHTS")
    return Path(env).expanduser() if env else home() / "weights"
