"""``--benchmark tokbench``: the TokBench paper's whole image pipeline as one preset.

The preset fixes the protocol (``tokbench-paper``: letterbox, JPEG storage, reference reading), the paper's
backends (docTR PARSeq decoding as ``eval_text.py`` does, ``parseq:decode=reference``; InsightFace
``antelopev2``), the resolutions 256/512/1024 and the data: the text suite on the ``tokbench-text`` group (8
sets, pooled) and the face suite on ``tokbench-face`` (WFLW). Before any work it checks that every weight file,
package and data set is here and, if not, fails with one message listing each and the command that gets it
(it never downloads). Every result records ``run.benchmark``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tokbench.config import RunConfig
from tokbench.errors import ConfigError, ResourceUnavailable


@dataclass(frozen=True)
class Preset:
    """What a benchmark fixes: protocol, backends, resolutions and (suite, dataset group) passes."""

    protocol: str
    backends: dict[str, tuple[str, str]]  # suite -> (suite option, backend spec)
    resolutions: tuple[int, ...]
    passes: tuple[tuple[str, str], ...]  # (suite, dataset group), run in this order


PRESETS = {
    "tokbench": Preset(
        protocol="tokbench-paper",
        backends={"text": ("ocr", "parseq:decode=reference"), "face": ("face", "antelopev2")},
        resolutions=(256, 512, 1024),
        passes=(("text", "tokbench-text"), ("face", "tokbench-face")),
    )
}


class BenchmarkUnavailable(ResourceUnavailable):
    """Weights, packages or data the preset needs are missing; the message lists each and how to get it."""


def _backend_spec(preset: Preset, suite: str, given: str | None) -> str:
    """The preset's backend spec; a given one must name the same backend and may add options (weights=...)."""
    option, spec = preset.backends[suite]
    if given is None:
        return spec
    name, _, rest = given.partition(":")
    want, _, defaults = spec.partition(":")
    if name != want:
        raise ConfigError(f"--benchmark uses --{option} {want}; got --{option} {given!r} (drop it, or add options)")
    return ":".join([name, ",".join(p for p in (defaults, rest) if p)])


def configs(
    name: str, base: RunConfig, ocr: str | None = None, face: str | None = None, resolutions: list[int] | None = None
) -> list[RunConfig]:
    """One configuration per pass of preset ``name``, the rest (device, output, limit, ...) from ``base``."""
    preset = PRESETS.get(name)
    if preset is None:
        raise ConfigError(f"unknown --benchmark {name!r}; choose from {', '.join(PRESETS)}")
    given = {"text": ocr, "face": face}
    out = []
    for suite, group in preset.passes:
        option, _ = preset.backends[suite]
        out.append(
            replace(
                base,
                suites=[suite],
                dataset=group,
                images=None,
                protocol=preset.protocol,
                resolutions=list(resolutions or preset.resolutions),
                suite_options={suite: {option: _backend_spec(preset, suite, given[suite])}},
                benchmark=name,
            )
        )
    return out


def missing(plans: list[RunConfig]) -> list[str]:
    """Every weight file, package and data set the plans need that is not here, each with how to get it."""
    from tokbench.backends import build_face, build_ocr
    from tokbench.data.dataset import DatasetUnavailable, PartialDataset, resolve_dataset
    from tokbench.data.groups import split_datasets
    from tokbench.runner import offline_environment

    lines: list[str] = []
    for cfg in plans:
        for suite, options in cfg.suite_options.items():
            build = build_ocr if suite == "text" else build_face
            backend: Any = build(str(next(iter(options.values()))))
            lack = backend.missing() if hasattr(backend, "missing") else None
            if lack:
                lines.append(f"{suite} backend {backend.name}: {lack}")
        with offline_environment(True):  # a data set that is not here is reported, never fetched
            for entry, images in split_datasets(cfg.dataset, None).entries:
                try:
                    resolve_dataset(entry, images, cfg.data_root, True, cfg.allow_partial)
                except (DatasetUnavailable, PartialDataset) as e:
                    lines.append(f"data set {entry}: {e}")
    return lines


def check(plans: list[RunConfig]) -> None:
    """Raise :class:`BenchmarkUnavailable` listing everything missing, before any work."""
    lines = missing(plans)
    if lines:
        name = plans[0].benchmark if plans else "?"
        raise BenchmarkUnavailable(
            f"--benchmark {name} cannot start; missing ({len(lines)}):\n" + "\n".join(f"  - {x}" for x in lines)
        )
