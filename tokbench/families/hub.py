"""The Hugging Face hub: cache lookups, downloads that fail fast, and the commands that fetch files.

Offline mode (``offline=`` option, ``HF_HUB_OFFLINE`` or the runner's ``--offline``) reads the
local cache only. Every failure is a :class:`WeightsUnavailable` naming the file and the command
that fetches it, never a hub traceback.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from tokbench.families.catalog import Weights
from tokbench.tokenizer import WeightsUnavailable


def is_offline(option: Any = None) -> bool:
    """``offline=`` option, else ``HF_HUB_OFFLINE`` / ``TOKBENCH_OFFLINE`` (the runner's --offline)."""
    if option is not None:
        return bool(option)
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TOKBENCH_OFFLINE")
    )


def hub_file(
    name: str, weights: Weights, filename: str | None = None, revision: str | None = None, offline: bool = False
) -> Path:
    """One file of a hub repository: from the local cache, else downloaded (unless offline)."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise WeightsUnavailable(
            f"{name}: needs huggingface_hub to fetch {weights.describe()}. Fix: pip install huggingface_hub"
        ) from None
    fname = filename or weights.filename
    assert weights.repo and fname
    where = f"{weights.repo}/{'/'.join(p for p in (weights.subfolder, fname) if p)}"
    fix = f"Fix: {fetch_command(replace(weights, filename=fname), revision)} (or pass ckpt=PATH to a local copy)"
    cached = hub_cached(weights, fname, revision)
    if cached is not None:
        return cached
    if offline:
        raise WeightsUnavailable(f"{name}: {where} is not in the local Hugging Face cache (offline). {fix}")
    require_hub(name, where, fix)
    try:
        return Path(hf_hub_download(weights.repo, fname, subfolder=weights.subfolder, revision=revision))
    except Exception as e:  # hub errors are many (gated, 404, network); all mean "not here"
        raise WeightsUnavailable(f"{name}: {where} could not be downloaded ({short_error(e)}). {fix}") from None


def hub_cached(weights: Weights, filename: str, revision: str | None = None) -> Path | None:
    """The cached path of a hub file, or None; never touches the network."""
    if not weights.repo:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    inner = "/".join(p for p in (weights.subfolder, filename) if p)
    try:
        found = try_to_load_from_cache(weights.repo, inner, revision=revision)
    except Exception:
        return None
    return Path(found) if isinstance(found, str) else None


_reachable: dict[str, bool] = {}


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub endpoint accepts a TCP connection (cached; avoids minutes of retries offline)."""
    import socket
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    except Exception:
        endpoint = "https://huggingface.co"
    url = urlparse(endpoint)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    key = f"{host}:{port}"
    if key not in _reachable:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                _reachable[key] = True
        except OSError:
            _reachable[key] = False
    return _reachable[key]


def require_hub(name: str, what: str, fix: str) -> None:
    """Fail at once, with the fix, when the hub cannot be reached (instead of retrying for minutes)."""
    if not hub_reachable():
        raise WeightsUnavailable(
            f"{name}: {what} is not cached locally and the Hugging Face hub cannot be reached (no network?). {fix}"
        )


def short_error(e: BaseException, limit: int = 160) -> str:
    """The first line of an exception, shortened: enough to say why, without a hub traceback."""
    text = f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def hub_cli() -> str:
    """The Hugging Face CLI name of the installed huggingface_hub (``hf`` since 0.34)."""
    try:
        from importlib.metadata import version

        major, minor = (int(p) for p in version("huggingface_hub").split(".")[:2])
        return "hf" if (major, minor) >= (0, 34) else "huggingface-cli"
    except Exception:  # not installed or odd version string
        return "huggingface-cli"


def fetch_command(weights: Weights, revision: str | None = None) -> str:
    """The shell command that downloads ``weights`` into the Hugging Face cache."""
    if not weights.repo:
        return f"obtain {weights.filename} ({weights.manual}) and pass ckpt=PATH"
    rev = f" --revision {revision}" if revision else ""
    if weights.filename:
        inner = "/".join(p for p in (weights.subfolder, weights.filename) if p)
        cmd = f"{hub_cli()} download {weights.repo} --include '{inner}'{rev}"
    elif weights.include:
        files = " ".join(repr(i) for i in weights.include)
        cmd = f"{hub_cli()} download {weights.repo} --include {files}{rev}"
    elif weights.subfolder:
        cmd = f"{hub_cli()} download {weights.repo} --include '{weights.subfolder}/*'{rev}"
    else:
        cmd = f"{hub_cli()} download {weights.repo}{rev}"
    if weights.gated:
        cmd = f"accept the licence at https://huggingface.co/{weights.repo}, run `{hub_cli()} auth login`, then: {cmd}"
    return cmd
