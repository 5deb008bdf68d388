"""OCR and face-recognition backends used by the ``text`` and ``face`` suites.

Backends are registered lazily (``"module:Class"`` strings), so listing them imports nothing heavy;
each backend imports its model library inside ``setup``. A backend that cannot run (package or
weights missing) raises :class:`BackendUnavailable`, whose message names what is missing and how to
get it.
"""

from __future__ import annotations

from typing import Any

from tokbench.tokenizer import WeightsUnavailable


class BackendUnavailable(WeightsUnavailable):
    """A backend's package or weights are missing; the message says what and how to get it."""


def build_ocr(spec: str, **defaults: Any) -> Any:
    """An OCR backend (not yet set up) from ``name[:k=v,...]`` or ``file.py:Class[:k=v,...]``;
    ``defaults`` (e.g. the suite's batch size) yield to options in the spec."""
    from tokbench.registry import OCR_BACKENDS

    return OCR_BACKENDS.build_spec(spec, "--ocr", **defaults)


def build_face(spec: str, **defaults: Any) -> Any:
    """A face backend (not yet set up) from ``name[:k=v,...]`` or ``file.py:Class[:k=v,...]``."""
    from tokbench.registry import FACE_BACKENDS

    return FACE_BACKENDS.build_spec(spec, "--face", **defaults)


def package_version(dist: str) -> str | None:
    """Installed version of a distribution, or None; cheap (no import)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
