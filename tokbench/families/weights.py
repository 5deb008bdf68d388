"""Checkpoints: finding the file, loading it safely, picking the state dict, and its cached sha256.

Weights are found in this order: ``ckpt=``, ``$TOKBENCH_WEIGHTS/<family>/<file>``, then the
Hugging Face cache or hub (:mod:`tokbench.families.hub`). Loading never unpickles Python objects
unless the user trusts the file; hashes are memoised by (path, inode, size, mtime, ctime).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

from tokbench import hashing
from tokbench.errors import TokbenchError
from tokbench.families.catalog import Weights
from tokbench.families.hub import fetch_command, hub_file
from tokbench.tokenizer import WeightsUnavailable


class CheckpointMismatch(TokbenchError, ValueError):
    """A checkpoint that does not hold the weights the variant needs; the message says which are missing."""


def resolve_weights(
    name: str,
    weights: Weights,
    ckpt: str | os.PathLike[str] | None = None,
    revision: str | None = None,
    offline: bool = False,
    family_dir: str | None = None,
) -> Path:
    """A local weights file: ``ckpt=``, else ``$TOKBENCH_WEIGHTS/<family>/<file>``, else the hub.

    Hub downloads honour ``offline`` (cache only). Failures raise :class:`WeightsUnavailable`
    naming the file and the command that fetches it, never a hub traceback.
    """
    if ckpt:
        path = Path(ckpt).expanduser()
        if not path.exists():
            raise WeightsUnavailable(
                f"{name}: ckpt {str(path)!r} does not exist. Fix: {fetch_command(weights, revision)}"
            )
        return path.resolve()
    if weights.filename and family_dir:
        from tokbench.paths import weights_dir

        local = weights_dir() / family_dir / weights.filename
        if local.exists():
            return local
    if weights.repo and weights.filename:
        return hub_file(name, weights, revision=revision, offline=offline)
    where = weights.manual or "see docs/models.md"
    raise WeightsUnavailable(
        f"{name}: needs the checkpoint {weights.filename or weights.describe()} "
        f"({where}). "
        f"Fix: download it and pass ckpt=PATH, or put it at "
        f"$TOKBENCH_WEIGHTS/{family_dir or name}/{weights.filename}"
    )


def load_checkpoint(path: str | os.PathLike[str], trust_pickle: bool = False) -> Any:
    """Load a checkpoint file onto the CPU (``.safetensors``, else ``torch.load``).

    ``torch.load`` runs with ``weights_only=True``, which reads tensors and plain containers only.
    A checkpoint that pickles Python objects (Lightning hyper-parameters, argparse namespaces) is
    refused with a message, unless ``trust_pickle`` is set: full unpickling runs code from the
    file, so it is never a silent fallback.
    """
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e) and "zip" not in str(e).lower():
                raise
            return torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) files: no mmap
    except pickle.UnpicklingError as e:
        if not trust_pickle:
            raise WeightsUnavailable(
                f"{path} pickles Python objects besides its weights{_pickled_global(e)}; loading it runs code from "
                "the file. If you trust the file, pass trust_pickle=true in the model options "
                "(e.g. --model NAME:trust_pickle=true,...)"
            ) from None
        return torch.load(path, map_location="cpu", weights_only=False)


def _pickled_global(e: BaseException) -> str:
    """`` (argparse.Namespace)`` from torch's refusal message, when it names the global."""
    import re

    found = re.search(r"GLOBAL ([\w.]+)", str(e))
    return f" ({found.group(1)})" if found else ""


DEFAULT_KEYS = ("ema", "model", "state_dict")


def select_state_dict(
    checkpoint: Any, keys: tuple[str, ...] = DEFAULT_KEYS, key: str | None = None, strip: tuple[str, ...] = ()
) -> tuple[dict[str, Any], str | None]:
    """Pick the weights out of a checkpoint: ``key`` if given, else the first of ``keys`` present.

    Nested keys use dots (``trainer.unitok``). A checkpoint that is already a flat state dict
    is returned as is (key None). Prefixes in ``strip`` (e.g. ``module.``) are removed.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatch(f"checkpoint is a {type(checkpoint).__name__}, not a dict of weights")
    top = ", ".join(map(str, checkpoint))
    chosen: str | None = None
    if key:
        sd, chosen = _nested(checkpoint, key), key
        if not isinstance(sd, dict):
            raise CheckpointMismatch(f"checkpoint has no weights under key {key!r}; top-level keys: {top}")
    else:
        sd = checkpoint
        for k in keys:
            node = _nested(checkpoint, k)
            if isinstance(node, dict) and node:
                sd, chosen = node, k
                break
        else:
            if not _looks_like_state_dict(checkpoint):
                raise CheckpointMismatch(f"no weights under {', '.join(keys)}; top-level keys: {top} (pass key=NAME)")
    for prefix in strip:
        # as upstream loaders do: when most keys carry the wrapper prefix, keep only those, stripped
        with_prefix = [k for k in sd if str(k).startswith(prefix)]
        if with_prefix and len(with_prefix) * 2 >= len(sd):
            sd = {k[len(prefix) :]: sd[k] for k in with_prefix}
    return dict(sd), chosen


def _nested(d: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _looks_like_state_dict(d: dict[str, Any]) -> bool:
    return bool(d) and all(hasattr(v, "shape") for v in d.values())


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, cached on :func:`tokbench.hashing.stat_key` in memory and under the cache dir
    (multi-GB checkpoints are hashed once per machine, not once per process)."""
    p = Path(path).resolve()
    key = hashing.stat_key(p)
    if key in _sha_memory:
        return _sha_memory[key]
    store = _sha_store()
    table = _read_json(store)
    if key not in table:
        table[key] = hashing.sha256_file(p)
        _write_json(store, table)
    _sha_memory[key] = table[key]
    return table[key]


def sha256_files(paths: list[Path]) -> str | None:
    """One hash for a set of weight files (the file's own hash when there is one)."""
    paths = sorted(p for p in paths if p.is_file())
    if not paths:
        return None
    if len(paths) == 1:
        return sha256_file(paths[0])
    lines = "".join(f"{p.name}:{sha256_file(p)}\n" for p in paths)
    return hashlib.sha256(lines.encode()).hexdigest()


_sha_memory: dict[str, str] = {}


def _sha_store() -> Path:
    from tokbench.paths import cache_dir

    return cache_dir() / "weights-sha256.json"


def _read_json(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, table: dict[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, indent=0, sort_keys=True))
        os.replace(tmp, path)
    except OSError:  # a read-only cache only costs a re-hash next time
        pass
