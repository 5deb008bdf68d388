"""Find result files, read them, and say what makes two numbers comparable.

A result's *aspects* are everything a number depends on besides the model: the named protocol
and its options, the suite version and options (OCR / face backend …), the dataset name, its
identity hashes and any ``--limit``. Two results may share a table column only when no aspect
known to both differs. Published rows know fewer aspects (no hashes), so they match any run
that agrees on the aspects they do state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tokbench.errors import ResultError
from tokbench.metric_spec import MetricSpecs
from tokbench.results import BadResult, NotAResult, metric_specs_of, read_result

# dataset identity fields that name a local place rather than content: never compared
_PATH_KEYS = {"folder", "root", "path", "dir", "images", "image_dir"}
# suite options that change speed or write a side file, not numbers: never compared
_COSMETIC = {"batch_size", "device", "workers", "num_workers", "verbose", "progress", "export"}


class CollectError(ResultError):
    """A path that does not exist or holds no result at all."""


@dataclass
class Entry:
    """One result (or one published row set for one suite and resolution)."""

    result: dict[str, Any]
    path: Path | None = None
    published: dict[str, Any] | None = None  # {"source": ..., "status": ...} for transcribed rows

    @property
    def model(self) -> str:
        return str(self.result["model"].get("id") or self.result["model"].get("spec") or "?")

    @property
    def suite(self) -> str:
        return str(self.result["suite"]["name"])

    @property
    def dataset(self) -> str:
        return str(self.result["dataset"]["name"])

    @property
    def resolution(self) -> int:
        return int(self.result["resolution"])

    @property
    def metrics(self) -> dict[str, Any]:
        return self.result.get("metrics") or {}

    @cached_property
    def declarations(self) -> MetricSpecs:
        """The result's metric declarations (a ``/1`` file's from the built-in suites)."""
        return MetricSpecs(metric_specs_of(self.result))

    @property
    def info(self) -> dict[str, Any]:
        return self.result["model"].get("info") or {}

    @property
    def kind(self) -> str:
        return str(self.info.get("kind") or "–")

    @property
    def factor(self) -> str:
        """Spatial down-sampling factor as the TokBench tables write it: ``16×``, ``1D`` or ``–``."""
        if self.info.get("factor"):
            return str(self.info["factor"])
        if str(self.info.get("token_layout", "")).lower() == "1d":
            return "1D"
        down = self.info.get("downsample")
        return f"{down}×" if down else "–"

    @property
    def bpp(self) -> float | None:
        value = (self.result.get("rate") or {}).get("bpp_mean")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def created(self) -> str:
        return str(self.result.get("created") or "")

    @property
    def where(self) -> str:
        """How the entry is named in messages: its file, or its published source."""
        if self.published:
            return f"published: {self.published.get('source', '?')}"
        return str(self.path) if self.path else "?"

    def aspects(self) -> dict[str, str]:
        """Everything a number depends on besides the model, as comparable strings."""
        r = self.result
        out: dict[str, str] = {}
        protocol = dict(r.get("protocol") or {})
        if "name" in protocol:
            out["protocol"] = _text(protocol.pop("name"))
        for k, v in sorted(protocol.items()):
            if k == "image_read" and isinstance(v, dict):  # older files kept the size limits here: not a value
                v = {kk: vv for kk, vv in v.items() if kk not in _LIMITS}
            out[f"protocol option {k}"] = _text(v)
        suite = r["suite"]
        if suite.get("version") is not None:
            out[f"{self.suite} suite version"] = _text(suite["version"])
        # a suite's extra.identity says what an option stands for (a file's sha256, not its path): compared instead
        identity = (r.get("extra") or {}).get("identity")
        identity = identity if isinstance(identity, dict) else {}
        for k, v in sorted({**(suite.get("options") or {}), **identity}.items()):
            if k in ("codebook_sizes", "token_layout") or k in _COSMETIC:  # the model's (set by the runner) / speed
                continue
            out[f"{self.suite} option {k}"] = _text(v)
        ds = r["dataset"]
        out["dataset"] = _text(official_name(self.suite, ds))
        for k, v in sorted((ds.get("identity") or {}).items()):
            if k not in _PATH_KEYS and not k.endswith(("_path", "_dir")):
                out[f"dataset identity {k}"] = _text(v)
        if "limit" in ds:
            out["dataset limit"] = _text(ds.get("limit"))
        return out


def official_name(suite: str, dataset: dict[str, Any]) -> Any:
    """A pooled run over the whole group the paper pooled for ``suite`` (``tokbench-text`` for text,
    ``tokbench-face`` for face) is the paper's data: it takes the name published and imported rows use."""
    from tokbench.data.groups import GROUPS, OFFICIAL, OFFICIAL_GROUPS

    name, identity = dataset.get("name"), dataset.get("identity") or {}
    group = OFFICIAL_GROUPS.get(suite)
    if group is None:
        return name
    # a one-set group (WFLW) writes no pooled result: the set's own result is the group's
    parts = identity.get("pooled") if name == group else [identity] if [name] == list(GROUPS[group]) else None
    if not isinstance(parts, list) or not all(isinstance(p, dict) and not p.get("partial") for p in parts):
        return name
    return OFFICIAL if [p.get("manifest") for p in parts] == list(GROUPS[group]) else name


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# limits on which images are read (they skip images, counted, but change no value)
_LIMITS = ("max_pixels", "max_file_bytes")
# aspects that differ even when only one side has them: a run on a partial dataset
_ONE_SIDED = ("dataset identity partial",)


def differences(a: Entry, b: Entry) -> list[tuple[str, str, str]]:
    """(aspect, value in a, value in b) for every aspect both know and that differs, and for a
    one-sided aspect (a partial dataset) that only one of them has."""
    x, y = a.aspects(), b.aspects()
    out = [(k, x[k], y[k]) for k in x if k in y and x[k] != y[k]]
    for k in _ONE_SIDED:
        if (k in x) != (k in y):
            out.append((k, x.get(k, "(none)"), y.get(k, "(none)")))
    return out


@dataclass
class Collection:
    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def collect(paths: list[str | Path]) -> Collection:
    """Result files named directly or found (``*.json``, recursively) under folders.

    Files found in a folder that are not results (other JSON, unparsable) are skipped with a note.
    A path that does not exist, a file named directly that is no usable result, or any file that
    says it is a result but breaks the schema raises ``CollectError``: a gate that quietly skips
    a damaged result checks less than it claims.
    """
    out = Collection()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise CollectError(f"{path}: no such file or folder")
        direct = not path.is_dir()
        files = (
            ([] if _companion(path) else [path])
            if direct
            else sorted(p for p in path.rglob("*.json") if not _companion(p))
        )
        for file in files:
            real = file.resolve()
            if real in seen:
                continue
            seen.add(real)
            try:
                out.entries.append(Entry(dict(read_result(file)), file))
            except NotAResult as e:
                if direct:
                    raise CollectError(str(e)) from None
                out.notes.append(f"skipped {e}")
            except BadResult as e:
                raise CollectError(str(e)) from None
    return out


def _companion(path: Path) -> bool:
    """Files the runner writes beside results (example folders) are not results: skip silently. rd files
    (``tokbench rd``) are read by the report on their own (:mod:`tokbench.rd.board`)."""
    return any(part.endswith(".examples") for part in path.parts) or path.name.endswith(".rd.json")


def dedupe(entries: list[Entry], notes: list[str]) -> list[Entry]:
    """Keep the newest of results with the same model, suite, dataset, resolution and aspects."""
    best: dict[tuple[Any, ...], Entry] = {}
    for e in entries:
        key = (e.model, e.suite, e.resolution, bool(e.published), json.dumps(e.aspects(), sort_keys=True))
        old = best.get(key)
        if old is None:
            best[key] = e
            continue
        keep, drop = (e, old) if e.created > old.created else (old, e)
        best[key] = keep
        notes.append(
            f"duplicate result for {e.model} / {e.suite} @{e.resolution}: kept {keep.where}, ignored {drop.where}"
        )
    return [e for e in entries if any(e is v for v in best.values())]
