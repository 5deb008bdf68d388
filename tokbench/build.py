"""Room 1 of a run: names become objects. A :class:`RunContext` holds everything the other rooms
(reconstruct, score, record) work with; it is made here, then loaded onto the device."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokbench.cache import ReconCache, RecordCache, content_key
from tokbench.config import RunConfig
from tokbench.data.dataset import Dataset, DatasetUnavailable, resolve_dataset
from tokbench.data.groups import DatasetList, split_datasets
from tokbench.errors import RunFailed
from tokbench.fingerprint import code_fingerprint, reconstruction_path_fingerprint
from tokbench.protocol import Protocol, parse_protocol
from tokbench.reconstruct import CallStats
from tokbench.registry import ModelSpec, build_model, parse_model_spec, resolve_suite
from tokbench.suite import Suite
from tokbench.tokenizer import Tokenizer


class RunError(RunFailed):
    """A run that cannot start or go on; the message says why."""


@dataclass
class Caches:
    """The run's content-keyed caches under one root (``--cache-dir``)."""

    root: Path
    recon: ReconCache = field(init=False)
    records: RecordCache = field(init=False)

    def __post_init__(self) -> None:
        self.recon = ReconCache(self.root)
        self.records = RecordCache(self.root)

    def write(self, put: Callable[[str, Any], Any], key: str, value: Any) -> Any:
        """``put(key, value)``; a full or read-only disk becomes a RunError that says how to go on."""
        try:
            return put(key, value)
        except OSError as e:
            raise RunError(
                f"cannot write to the cache {self.root}: {e.strerror or e} "
                "(finished work is kept; free space or pass --cache-dir, then rerun to resume)"
            ) from e


@dataclass
class RunContext:
    """One run's objects, shared by the rooms: made by :func:`build`, loaded by :func:`load`."""

    config: RunConfig
    spec: ModelSpec
    adapter: Tokenizer
    dataset: Dataset
    suites: list[Suite]
    protocol: Protocol
    caches: Caches
    calls: CallStats
    device: str = "cpu"
    code: dict[str, Any] = field(default_factory=dict)
    model_key: str = ""
    suite_code: dict[str, dict[str, Any]] = field(default_factory=dict)  # each suite's code fingerprint
    suite_keys: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    # every set of --dataset, in order (``dataset`` is the one being walked), and the pooled result's name
    datasets: list[Dataset] = field(default_factory=list)
    pooled_name: str | None = None


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def build(config: RunConfig, caches: Caches, calls: CallStats) -> RunContext:
    """Model, dataset and suites from their names (every typo and impossible setting refused here)."""
    spec = parse_model_spec(config.model)
    for name in config.suites:
        resolve_suite(name)  # fail on a typo (or a missing suite file) before any work
    adapter = build_model(spec)  # checked against the Tokenizer contract by the registry
    # Options that only say where files are (their content is recorded as weights_sha256, which is in the
    # model key) stay out of the model's id, so a result's name does not depend on the machine's paths.
    where = set(getattr(adapter, "location_options", ()))
    spec = ModelSpec(spec.name, {k: v for k, v in spec.options.items() if k not in where}, spec.path_target)
    for resolution in config.resolutions:
        adapter.info.canvas_size(resolution)  # refuse an impossible resolution before any work
    listed = split_datasets(config.dataset, config.images)
    datasets = resolve_datasets(listed, config)
    suites = [_suite(config, name, adapter) for name in config.suites]
    for suite in suites:
        suite.cache_root = caches.root
    protocol = parse_protocol(config.protocol)
    ctx = RunContext(config, spec, adapter, datasets[0], suites, protocol, caches, calls)
    ctx.datasets, ctx.pooled_name = datasets, listed.pooled_name
    return ctx


def resolve_datasets(listed: DatasetList, config: RunConfig) -> list[Dataset]:
    """Every set of the list (``--limit`` applies to each); all missing sets are named in one error."""
    datasets, missing = [], []
    for entry, images in listed.entries:
        try:
            datasets.append(resolve_dataset(entry, images, config.data_root, config.offline, config.allow_partial))
        except DatasetUnavailable as e:
            missing.append(str(e))
    if missing:
        raise DatasetUnavailable("\n".join(missing))
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise RunError(f"--dataset {config.dataset!r}: two sets share a name ({', '.join(names)}); rename a file")
    if config.limit is not None:
        for d in datasets:
            d.samples = d.samples[: config.limit]
    return datasets


def _suite(config: RunConfig, name: str, adapter: Tokenizer) -> Suite:
    cls = resolve_suite(name)
    # a file suite ("my_suite.py:Sharpness") takes --suite-arg under its own name ("sharpness:where=canvas")
    options = dict(config.suite_options.get(name) or config.suite_options.get(getattr(cls, "name", ""), {}))
    if getattr(cls, "needs_codes", False):
        options.setdefault("codebook_sizes", list(adapter.info.codebook_sizes))
        options.setdefault("token_layout", adapter.info.token_layout)
    return cls(**options)


def run_device(config: RunConfig) -> str:
    """``--device`` (else the default); under torchrun, ``cuda`` is the rank's own GPU (``LOCAL_RANK``)."""
    device = config.device or default_device()
    if device == "cuda" and "LOCAL_RANK" in os.environ:
        device = f"cuda:{os.environ['LOCAL_RANK']}"
    return device


def load(ctx: RunContext) -> None:
    """Choose the device, load backends then the tokenizer, and fix the keys everything is cached under."""
    cfg = ctx.config
    device = run_device(cfg)
    ctx.device = device
    # Backends (OCR, face, Inception) load before the tokenizer does any work, so a missing
    # backend fails in seconds, not after hours of reconstruction.
    for suite in ctx.suites:
        suite.setup(device)
    ctx.adapter.load(device=device, dtype=cfg.precision)
    # after loading: the weights hash is known now
    ctx.code = {"adapter": code_fingerprint(type(ctx.adapter)), "reconstruction": reconstruction_path_fingerprint()}
    ctx.model_key = content_key(
        "model",
        ctx.spec.id,
        ctx.adapter.info.to_dict(),
        cfg.precision,
        ctx.code["adapter"]["sha256"],
        ctx.code["reconstruction"]["sha256"],
    )
    # after setup: a suite's identity names the models it loaded
    ctx.suite_code = {s.name: code_fingerprint(type(s)) for s in ctx.suites}
    ctx.suite_keys = {s.name: content_key(s.fingerprint(), ctx.suite_code[s.name]["sha256"]) for s in ctx.suites}
