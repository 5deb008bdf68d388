"""``tokbench rd``: run the models and every codec grid point as ordinary runs, then build the curves.

Every run is an ordinary :class:`tokbench.runner.Runner` run writing ordinary result files. A codec
grid point's summary (measured rate, metrics, declarations, where its results went) is also kept in
a codec-point cache under ``<cache>/rd/``, keyed by everything its numbers depend on: the runner's
own model key (codec options, Pillow version, code hashes), the suites' keys (options, backend
weights, code), the dataset's identity, the protocol and every run option that shapes a result.
A second ``rd`` run on the same data then costs no codec encode and no codec run at all; a
missed entry still reuses the runner's reconstruction and record caches. Codec encodes are counted
(the runner's tokenizer calls on grid points) and recorded in the rd file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tokbench.cache import atomic_write_bytes, content_key
from tokbench.config import RunConfig
from tokbench.errors import ConfigError
from tokbench.rd.grid import point_spec
from tokbench.rd.rate import split_latent_bits

RD_SCHEMA = "tokbench.rd/1"
_POINT_VERSION = "1"  # bump when a point summary's content changes
# run options that change speed or where things go, not a number: left out of the point key
_NOT_SHAPING = {"model", "output_dir", "cache_dir", "data_root", "device", "batch_size", "workers", "offline"}
_NOT_SHAPING |= {"shared_cache"}
LANGUAGE = "language"


@dataclass
class RdConfig:
    """What ``tokbench rd`` is asked: ``base`` holds data, suites and run options (its model is unused)."""

    base: RunConfig
    models: list[str]
    codecs: list[str]
    grid: list[float]
    downs: list[int]
    rd_file: str | None = None  # default: <output_dir>/rd/<dataset>-<resolutions>-<hash>.rd.json

    def __post_init__(self) -> None:
        if not self.codecs:
            raise ConfigError("--codecs names no codec")
        if not self.grid or not self.downs:
            raise ConfigError("--grid and --downs must name at least one value each")
        if not [s for s in self.base.suites if s != LANGUAGE]:
            raise ConfigError("--suite: rd needs a scoring suite (recon, text, face, fid), not only language")


@dataclass
class RdStats:
    codec_encodes: int = 0  # tokenizer calls (batches) made by codec grid points in this run
    codec_points_run: int = 0
    codec_points_cached: int = 0
    model_tokenizer_calls: int = 0

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class RdOutcome:
    path: Path
    data: dict[str, Any]
    stats: RdStats = field(default_factory=RdStats)


def _read(path: Path) -> dict[str, Any]:
    from tokbench.results import read_result

    return dict(read_result(path))


def _summaries(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """{resolution: {suite: {path, metrics, metric_specs, bpp_mean}}} of a run's result files."""
    from tokbench.results import metric_specs_of

    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        r = _read(path)
        out.setdefault(str(r["resolution"]), {})[r["suite"]["name"]] = {
            "path": str(path),
            "metrics": r.get("metrics") or {},
            "metric_specs": [s.to_dict() for s in metric_specs_of(r)],
            "bpp_mean": (r.get("rate") or {}).get("bpp_mean"),
            "canvas_size": r.get("canvas_size"),
        }
    return out


class _PointCache:
    """One JSON file per codec grid point, with a sha256 of its content checked on read."""

    def __init__(self, root: Path) -> None:
        self.root = root / "rd"

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            payload = entry["payload"]
            if entry["sha256"] != _sha(payload) or entry["key"] != key:
                raise ValueError("checksum mismatch")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # damaged: recomputed by the caller
            return None
        return dict(payload)

    def put(self, key: str, payload: dict[str, Any]) -> None:
        text = json.dumps({"key": key, "sha256": _sha(payload), "payload": payload}, sort_keys=True)
        atomic_write_bytes(self._path(key), text.encode("utf-8"))


def _sha(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def _shaping(cfg: RunConfig) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _NOT_SHAPING}


class RdRunner:
    """Runs one :class:`RdConfig`; :meth:`run` returns the rd file written and what it holds."""

    def __init__(self, config: RdConfig, progress: Callable[[str], None] | None = None) -> None:
        from tokbench.paths import cache_dir

        self.config = config
        self.progress = progress or (lambda message: print(f"rd: {message}", file=sys.stderr, flush=True))
        self.cache = _PointCache(cache_dir(config.base.cache_dir))
        self.stats = RdStats()

    def run(self) -> RdOutcome:
        from tokbench.rd.curves import build_sections

        cfg = self.config
        models = [self._model(spec) for spec in cfg.models]
        points = self._codec_points(models)
        sections = build_sections(cfg, models, points)
        data = {
            "schema": RD_SCHEMA,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "tokbench": _tokbench(),
            "config": {
                "models": cfg.models,
                "codecs": cfg.codecs,
                "grid_bpp": cfg.grid,
                "downs": cfg.downs,
                "suites": [s for s in cfg.base.suites if s != LANGUAGE],
                "run": {k: v for k, v in _shaping(cfg.base).items()},
                "dataset": cfg.base.dataset,
            },
            "stats": self.stats.to_dict(),
            "models": models,
            "codec_points": points,
            "sections": sections,
        }
        path = Path(cfg.rd_file) if cfg.rd_file else self._default_path()
        atomic_write_bytes(path, (json.dumps(_clean(data), indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
        return RdOutcome(path, data, self.stats)

    def _default_path(self) -> Path:
        from tokbench.results import slug

        cfg = self.config
        tag = content_key(cfg.models, cfg.codecs, cfg.grid, cfg.downs, _shaping(cfg.base))[:10]
        res = "-".join(str(r) for r in cfg.base.resolutions)
        return Path(cfg.base.output_dir) / "rd" / f"{slug(Path(cfg.base.dataset).stem)}-{res}-{tag}.rd.json"

    # -- models --------------------------------------------------------------------------------
    def _model(self, raw: str) -> dict[str, Any]:
        from tokbench.runner import Runner

        spec, latent_bits = split_latent_bits(raw)
        adapter_takes_bits = latent_bits is not None and _takes_latent_bits(spec)
        if adapter_takes_bits:
            spec = raw  # the adapter stores latents at that precision itself and counts their bits
        suites = list(dict.fromkeys([*self.config.base.suites, LANGUAGE]))
        runner = Runner(dataclasses.replace(self.config.base, model=spec, suites=suites))
        self.progress(f"model {spec}")
        paths = runner.run()
        self.stats.model_tokenizer_calls += runner.tokenizer_calls
        ctx = runner.ctx
        assert ctx is not None  # set by run()
        info = ctx.adapter.info
        latent_values = None
        if latent_bits is not None:
            if info.kind != "continuous":
                raise ConfigError(f"--model {raw!r}: latent_bits is for continuous models; {spec} is {info.kind}")
            if not adapter_takes_bits:
                latent_values = {str(r): _latent_values(ctx, info.canvas_size(r)) for r in self.config.base.resolutions}
        return {
            "spec": raw,
            "run_spec": spec,
            "id": ctx.spec.id,
            "name": ctx.spec.name,
            "kind": info.kind,
            "latent_bits": latent_bits,
            "latent_bits_in_adapter": adapter_takes_bits,
            "latent_values_per_image": latent_values,
            "tokenizer_calls": runner.tokenizer_calls,
            "results": _summaries(paths),
        }

    # -- codec points --------------------------------------------------------------------------
    def _codec_points(self, models: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from tokbench.build import Caches, RunContext, build, load
        from tokbench.reconstruct import CallStats
        from tokbench.registry import build_model, parse_model_spec
        from tokbench.runner import Runner

        cfg = self.config
        suites = [s for s in cfg.base.suites if s != LANGUAGE]
        specs = [(c, b, d) for c in cfg.codecs for b in cfg.grid for d in cfg.downs]
        base = dataclasses.replace(cfg.base, suites=suites)
        caches = Caches(self.cache.root.parent)
        # The suites' keys (options, backend weights, code) and the dataset identity, from one context:
        # suites that need no codes are built the same for every model, so a codec point has these keys.
        probe = build(dataclasses.replace(base, model=point_spec(*specs[0])), caches, CallStats())
        load(probe)
        suite_keys = {s: probe.suite_keys[s] for s in suites}
        dataset = {"name": probe.dataset.name, "identity": probe.dataset.identity}
        out = []
        for codec, bpp, down in specs:
            spec = point_spec(codec, bpp, down)
            point_cfg = dataclasses.replace(base, model=spec)
            model = parse_model_spec(spec)
            ctx = RunContext(
                point_cfg, model, build_model(model), probe.dataset, [], probe.protocol, caches, CallStats()
            )
            load(ctx)  # fixes the model key exactly as the runner will (no suite to set up)
            key = content_key(
                "rd-point",
                _POINT_VERSION,
                ctx.model_key,
                suite_keys,
                dataset,
                probe.protocol.to_dict(),
                _shaping(point_cfg),
            )
            payload = self.cache.get(key)
            if payload is None:
                self.progress(f"codec {spec}")
                runner = Runner(point_cfg)
                paths = runner.run()
                self.stats.codec_encodes += runner.tokenizer_calls
                self.stats.codec_points_run += 1
                payload = {"model_key": ctx.model_key, "results": _summaries(paths)}
                self.cache.put(key, payload)
                from_cache = False
            else:
                self.stats.codec_points_cached += 1
                from_cache = True
            out.append(
                {
                    "spec": spec,
                    "codec": codec,
                    "target_bpp": bpp,
                    "down": down,
                    "cache_key": key,
                    "from_cache": from_cache,
                    **payload,
                }
            )
        return out


def _takes_latent_bits(spec: str) -> bool:
    """Whether the adapter declares a ``latent_bits`` option of its own (diffusers VAEs, TAE)."""
    from tokbench.registry import MODELS, _accepted_options, load_target, parse_model_spec

    model = parse_model_spec(spec)
    factory = load_target(model.path_target) if model.path_target else MODELS.resolve(model.name)
    accepted = _accepted_options(factory)
    return accepted is not None and "latent_bits" in accepted


def _latent_values(ctx: Any, size: int) -> int:
    """Latent values per image: one encode of a blank canvas (a continuous model's latent shape)."""
    import torch

    with torch.no_grad():
        encoded = ctx.adapter.encode(torch.zeros(1, 3, size, size, device=ctx.device))
    if encoded.latents is None:
        raise ConfigError(f"{ctx.spec.id}: latent_bits given, but its encode returns no latents")
    latents = encoded.latents if isinstance(encoded.latents, (list, tuple)) else [encoded.latents]
    return int(sum(t.numel() for t in latents))


def _tokbench() -> dict[str, Any]:
    from tokbench import __version__
    from tokbench.record import git_hash

    return {"version": __version__, "git_hash": git_hash()}


def _clean(value: Any) -> Any:
    """Strict JSON: non-finite floats become null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_rd(config: RdConfig, progress: Callable[[str], None] | None = None) -> RdOutcome:
    """Run ``config``; return the rd file written."""
    return RdRunner(config, progress).run()
