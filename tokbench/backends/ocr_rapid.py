"""RapidOCR (PP-OCRv4 recogniser, ONNX) on the crops: fast on CPU and offline (an optional extra).

``pip install rapidocr-onnxruntime`` ships its models. Only the recogniser is used (no detection, no
angle classifier). Crops go in as BGR, as PaddleOCR models expect. RapidOCR pads a batch to its widest
crop, so to keep a crop's reading independent of its batch-mates, crops no wider than the model's
320x48 input are batched together and wider ones run alone. RapidOCR often emits a leading or
trailing space; ``strip=True`` (default) removes surrounding whitespace, and says so in the identity.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tokbench.backends import BackendUnavailable, package_version
from tokbench.backends.ocr import Reading, chunks, is_cuda


class RapidOcr:
    name: ClassVar[str] = "rapidocr"

    def __init__(self, batch_size: int = 32, strip: bool = True) -> None:
        self.batch_size = int(batch_size)
        self.strip = bool(strip)
        self.charset: str | None = None
        self._rec: Any = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "rapidocr": package_version("rapidocr-onnxruntime"),
            "onnxruntime": package_version("onnxruntime") or package_version("onnxruntime-gpu"),
            "strip": self.strip,
        }

    def setup(self, device: str) -> None:
        if self._rec is not None:
            return
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise BackendUnavailable(
                "the rapidocr OCR backend needs rapidocr-onnxruntime (it ships its "
                "models): pip install rapidocr-onnxruntime"
            ) from None
        kwargs: dict[str, Any] = {"rec_batch_num": max(1, self.batch_size)}
        if is_cuda(device):
            kwargs["rec_use_cuda"] = True
        engine = RapidOCR(**kwargs)
        self._rec = engine.text_rec
        chars = getattr(getattr(self._rec, "postprocess_op", None), "character", None)
        if chars:
            self.charset = "".join(c for c in chars if isinstance(c, str) and len(c) == 1)

    def _run(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        result, _ = self._rec(images)
        return [(str(r[0]), float(r[1])) for r in result]

    def recognize(self, crops: list[np.ndarray]) -> list[Reading]:
        if self._rec is None:
            raise RuntimeError("RapidOcr.setup(device) must be called before recognize()")
        bgr = [np.ascontiguousarray(c[..., ::-1]) for c in crops]
        _, in_h, in_w = self._rec.rec_image_shape[:3]
        fits = [c.shape[1] / c.shape[0] <= in_w / in_h for c in bgr]
        narrow = [i for i, ok in enumerate(fits) if ok]
        wide = [i for i, ok in enumerate(fits) if not ok]
        out: list[tuple[str, float] | None] = [None] * len(bgr)
        for part in chunks(len(narrow), self.batch_size):
            chosen = [narrow[k] for k in part]
            for i, r in zip(chosen, self._run([bgr[i] for i in chosen]), strict=True):
                out[i] = r
        for i in wide:
            out[i] = self._run([bgr[i]])[0]
        readings = []
        for result in out:
            text, conf = result if result is not None else ("", 0.0)
            readings.append(Reading(text.strip() if self.strip else text, conf))
        return readings
