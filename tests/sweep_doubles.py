"""Test doubles for the sweep's end-to-end tests, loaded by file spec (``sweep_doubles.py:Class``).

``TemplateOcr`` stands in for EasyOCR where the OCR model is not what a test is about: it reads a crop
as the word of the most similar clean rendering in the sweep set (correlation of luma), but only when
that similarity is high and the crop tall enough, so it has a size limit (the ceiling) and fails on
damaged text. ``SeamTokenizer`` is exact inside each p x p block except its bottom ``rows`` rows, which
it stores as their mean: text that fits in one block row from a grid line (``aligned`` in the sweep)
comes back exact, text that straddles a block boundary (``offset``) loses detail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tokbench.backends.ocr import Reading
from tokbench.data.crops import cut
from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo


def _luma(img: np.ndarray) -> np.ndarray:
    g = img.astype(np.float64).mean(axis=-1)
    return g - g.mean()


class TemplateOcr:
    name = "template"
    charset = None

    def __init__(self, set: str, min_height: int = 9, min_corr: float = 0.95, batch_size: int = 1) -> None:
        self.folder, self.min_height, self.min_corr = Path(set), int(min_height), float(min_corr)
        self.templates: list[tuple[np.ndarray, str]] = []

    def fingerprint(self) -> dict[str, Any]:
        return {"name": self.name, "set": str(self.folder), "min_height": self.min_height, "min_corr": self.min_corr}

    def setup(self, device: str) -> None:
        from PIL import Image

        desc = json.loads((self.folder / "set.json").read_text())
        for entry in desc["images"]:
            if entry["kind"] == "text":
                img = np.asarray(Image.open(self.folder / entry["file"]).convert("RGB"))
                crops = [(cut(img, a["bbox"]).image, a["rec"]) for a in entry["text"]]
                self.templates += [(_luma(c), word) for c, word in crops if c is not None]

    def recognize(self, crops: list[np.ndarray]) -> list[Reading]:
        out = []
        for crop in crops:
            f, best, word = _luma(crop), -1.0, ""
            for g, w in self.templates:
                if g.shape == f.shape:
                    corr = float((f * g).sum() / np.sqrt((f * f).sum() * (g * g).sum() + 1e-9))
                    best, word = (corr, w) if corr > best else (best, word)
            ok = best >= self.min_corr and crop.shape[0] >= self.min_height
            out.append(Reading(word if ok else "", best))
        return out


class SeamTokenizer(Tokenizer):
    def __init__(self, p: int = 16, rows: int = 3) -> None:
        self.p, self.rows = int(p), int(rows)
        self.info = TokenizerInfo(
            name="seam", family="test", kind="continuous", size_multiple=self.p, downsample=self.p, license="MIT"
        )

    def encode(self, images: torch.Tensor) -> Encoded:
        out = images.clone()
        for top in range(self.p - self.rows, images.shape[2], self.p):
            band = out[:, :, top : top + self.rows]
            band[:] = band.mean(dim=2, keepdim=True)
        return Encoded(latents=out)

    def decode(self, encoded: Encoded) -> torch.Tensor:
        return encoded.latents
