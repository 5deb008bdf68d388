"""Names on a video dataset: video models and clip suites from :mod:`tokbench.plugins`, and the rest.

A ``--model`` that is no video model is built as an image model and run frame by frame
(:class:`~tokbench.video.contract.FrameByFrame`); ``text`` and ``face`` are the image suites, scored on
annotated frames with TokBench's video bucket edges (recorded as their ``edges`` option).
"""

from __future__ import annotations

from typing import Any

from tokbench.errors import ConfigError
from tokbench.registry import ModelSpec, Registry, build_model, resolve_suite

# TokBench-video's bucket edges (compute_all_metrics.py, video branch, @855802d; docs/video.md)
VIDEO_EDGES: dict[str, dict[int, tuple[float, float, float]]] = {
    "text": {256: (0.01, 0.02, 0.03), 480: (0.005, 0.01, 0.02)},
    "face": {256: (0.05, 0.10, 0.20), 480: (0.02, 0.05, 0.10)},
}


def _video_contract(obj: Any) -> str | None:
    from tokbench.video.contract import VideoTokenizerInfo

    if not isinstance(getattr(obj, "info", None), VideoTokenizerInfo):
        return "it needs an `info` VideoTokenizerInfo (subclass tokbench.video.contract.VideoTokenizer)"
    missing = [m for m in ("encode", "decode", "load") if not callable(getattr(obj, m, None))]
    return f"it needs method(s) {', '.join(missing)}" if missing else None


VIDEO_MODELS = Registry("video model", contract=_video_contract)
VIDEO_SUITES = Registry("video suite")


def _register() -> None:
    from tokbench import plugins

    for registry, table in ((VIDEO_MODELS, plugins.VIDEO_MODELS), (VIDEO_SUITES, plugins.VIDEO_SUITES)):
        for p in table:
            registry.register(p.name, p.target, p.summary, **p.defaults)


_register()


def build_video_model(spec: ModelSpec) -> Any:
    """A video model by name, else the image model of that spec wrapped to run frame by frame."""
    from tokbench.video.contract import FrameByFrame, VideoTokenizer

    if spec.path_target is None and spec.name in VIDEO_MODELS.names():
        return VIDEO_MODELS.build(spec.name, **spec.options)
    if spec.path_target is not None:
        from tokbench.registry import load_target

        factory = load_target(spec.path_target)
        if isinstance(factory, type) and issubclass(factory, VideoTokenizer):
            return VIDEO_MODELS.construct(factory, spec.name, spec.options)
    return FrameByFrame(build_model(spec))


def video_suite_class(name: str) -> Any:
    if ":" not in name and name in VIDEO_SUITES.names():
        return VIDEO_SUITES.resolve(name)
    return resolve_suite(name)


def video_edges(kind: str, resolution: int) -> tuple[float, float, float]:
    table = VIDEO_EDGES[kind]
    if resolution not in table:
        raise ConfigError(
            f"TokBench-video defines {kind} buckets at short side {', '.join(map(str, table))}, not {resolution}; "
            f"pass --suite-arg {kind}:edges=e0/e1/e2"
        )
    return table[resolution]
