"""Classical image codecs through Pillow, as honest baseline "tokenizers".

Each image may first be downscaled by ``down`` (LANCZOS) and upscaled back after decoding
(bicubic), so a codec can sit at tokenizer-like rates (0.01-0.1 bpp). ``bits`` is the real
encoded file size x 8, headers included. With ``bpp=`` the quality is searched per image for
the largest file not above that many bits per canvas pixel.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, features

from tokbench.errors import ConfigError
from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo

# codec -> (Pillow format, Pillow feature, quality range searched for a bpp target)
_CODECS: dict[str, tuple[str, str, tuple[int, int]]] = {
    "jpeg": ("JPEG", "jpg", (1, 95)),
    "webp": ("WEBP", "webp", (0, 100)),
    "avif": ("AVIF", "avif", (0, 100)),
    "jpeg2000": ("JPEG2000", "jpg_2000", (1, 200)),  # quality = compression ratio (rates), inverted
}
_DEFAULT_QUALITY = {"jpeg": 75, "webp": 75, "avif": 60, "jpeg2000": 181}  # jpeg2000 181 = 20:1


class PillowCodec(Tokenizer):
    """``jpeg``/``webp``/``avif``/``jpeg2000`` with ``quality=`` or ``bpp=``, and ``down=``."""

    def __init__(self, codec: str, quality: int | None = None, bpp: float | None = None, down: int = 1) -> None:
        if codec not in _CODECS:
            raise ConfigError(f"unknown codec {codec!r}; choose from {', '.join(_CODECS)}")
        fmt, feature, (lo, hi) = _CODECS[codec]
        if not features.check(feature):
            raise RuntimeError(
                f"this Pillow build has no {codec} support (features.check({feature!r}) is False); "
                "install a Pillow wheel from PyPI"
            )
        if quality is not None and bpp is not None:
            raise ConfigError(f"{codec}: give quality= or bpp=, not both")
        if bpp is not None and bpp <= 0:
            raise ConfigError(f"{codec}: bpp must be > 0, got {bpp}")
        if quality is not None and not lo <= int(quality) <= hi:
            raise ConfigError(f"{codec}: quality must be in [{lo}, {hi}], got {quality}")
        if int(down) < 1:
            raise ConfigError(f"{codec}: down must be an integer >= 1, got {down}")
        self.codec, self.format = codec, fmt
        self.quality = None if bpp is not None else int(quality if quality is not None else _DEFAULT_QUALITY[codec])
        self.bpp, self.down = bpp, int(down)
        options = {
            "quality": self.quality,
            "bpp": bpp,
            "down": self.down,
            "down_filter": "lanczos",
            "up_filter": "bicubic",
            "pillow": Image.__version__,
        }
        self.info = TokenizerInfo(
            name=codec,
            family="codec",
            kind="codec",
            size_multiple=self.down,
            license="n/a",
            weights_source="none",
            options=options,
        )

    def _encode_one(self, img: Image.Image, quality: int) -> bytes:
        buf = io.BytesIO()
        if self.codec == "jpeg2000":
            # Higher "quality" must mean better everywhere: map it to a smaller compression ratio.
            img.save(buf, self.format, quality_mode="rates", quality_layers=[float(201 - quality)], irreversible=True)
        elif self.codec == "jpeg":
            img.save(buf, self.format, quality=quality, subsampling=2)
        else:
            img.save(buf, self.format, quality=quality)
        return buf.getvalue()

    def _search(self, img: Image.Image, budget_bits: float) -> bytes:
        """Largest quality whose file fits the budget (the lowest quality if none does)."""
        lo, hi = _CODECS[self.codec][2]
        best = self._encode_one(img, lo)
        while lo <= hi:
            mid = (lo + hi) // 2
            data = self._encode_one(img, mid)
            if len(data) * 8 <= budget_bits:
                best, lo = data, mid + 1
            else:
                hi = mid - 1
        return best

    def encode(self, images: Any) -> Encoded:
        import torch

        arr = images.detach().mul(255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        payloads: list[bytes] = []
        h, w = arr.shape[1:3]
        for a in arr:
            img = Image.fromarray(a)
            if self.down > 1:
                img = img.resize((w // self.down, h // self.down), Image.Resampling.LANCZOS)
            if self.bpp is not None:
                payloads.append(self._search(img, self.bpp * h * w))
            else:
                assert self.quality is not None  # set whenever bpp is not
                payloads.append(self._encode_one(img, self.quality))
        bits = torch.tensor([len(p) * 8.0 for p in payloads], dtype=torch.float64)
        return Encoded(bits=bits, meta={"payloads": payloads, "size": (h, w)})

    def decode(self, encoded: Encoded) -> Any:
        import torch

        h, w = encoded.meta["size"]
        out = []
        for data in encoded.meta["payloads"]:
            img = Image.open(io.BytesIO(data)).convert("RGB")
            if img.size != (w, h):
                img = img.resize((w, h), Image.Resampling.BICUBIC)
            out.append(np.asarray(img))
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float().div(255.0)
