"""Hand-made result files for the tests of the report, check and compare commands.

``make_result`` builds a valid ``tokbench.result/1`` dict with only what is asked for;
``write_fake`` writes it with ``tokbench.results.write_result`` where the runner would.
``write_examples`` adds an example-crops folder beside a result, as the runner will.
``write_ocr`` writes a stand-in OCR backend module that reads crops by a given expression.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokbench.results import SCHEMA, Result, result_path, write_result

SUITE_OPTIONS: dict[str, dict[str, Any]] = {
    "text": {"ocr": "parseq"},
    "face": {"face": "antelopev2"},
    "recon": {"where": "restored", "color": "rgb"},
    "fid": {"features": "inception-v3-compat"},
    "language": {"orders": [1, 2]},
}


def make_result(
    model: str = "tok-a",
    suite: str = "recon",
    dataset: str = "ds",
    resolution: int = 256,
    metrics: dict[str, float | None] | None = None,
    *,
    kind: str = "discrete",
    downsample: int | None = 16,
    bpp: float | None = 0.25,
    protocol: str = "tokbench-paper",
    suite_options: dict[str, Any] | None = None,
    suite_version: str = "1",
    identity: dict[str, Any] | None = None,
    counts: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    buckets: dict[str, Any] | None = None,
    created: str = "2026-01-01T00:00:00+00:00",
) -> Result:
    """A minimal but valid result dict."""
    return Result(
        schema=SCHEMA,
        created=created,
        tokbench={"version": "0.1.0", "git_hash": None},
        model={
            "spec": model,
            "id": model,
            "key": f"key-{model}",
            "info": {
                "name": model.split(":")[0],
                "kind": kind,
                "downsample": downsample,
                "token_layout": "2d",
                "codebook_sizes": [16384],
            },
        },
        suite={
            "name": suite,
            "version": suite_version,
            "options": dict(SUITE_OPTIONS.get(suite, {}) if suite_options is None else suite_options),
        },
        dataset={"name": dataset, "identity": identity or {"manifest_sha256": f"sha-{dataset}"}, "limit": None},
        resolution=resolution,
        canvas_size=resolution,
        protocol={"name": protocol, "resample": "lanczos", "quantize": "round"},
        metrics=dict(metrics or {}),
        buckets=dict(buckets or {}),
        extra=dict(extra or {}),
        counts=counts
        or {
            "images": 10,
            "images_used": 9,
            "images_skipped": {"unreadable image": 1},
            "instances_used": 40,
            "instances_skipped": {"out of vocabulary": 2},
        },
        skipped=[],
        rate={"bits_per_image_mean": (bpp or 0) * resolution * resolution if bpp else None, "bpp_mean": bpp},
    )


def write_fake(out_dir: Path, **kwargs: Any) -> Path:
    """Write ``make_result(**kwargs)`` where the runner would put it; return the result file."""
    result = make_result(**kwargs)
    path = result_path(
        out_dir, result["model"]["id"], result["dataset"]["name"], result["suite"]["name"], result["resolution"]
    )
    write_result(path, result, [])
    return path


def write_examples(
    result_file: Path,
    buckets: tuple[str, ...] = ("small", "medium", "large"),
    per_bucket: int = 2,
    size: tuple[int, int] = (96, 32),
) -> Path:
    """An ``<stem>.examples`` folder with index.json and PNG crop pairs (text drawn with PIL)."""
    from PIL import Image, ImageDraw, ImageFilter

    folder = result_file.parent / f"{result_file.stem}.examples"
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for b in buckets:
        for i in range(per_bucket):
            word = f"{b[:3].upper()}{i}"
            img = Image.new("RGB", size, "white")
            ImageDraw.Draw(img).text((6, 8), word, fill="black")
            blurred = img.filter(ImageFilter.GaussianBlur(1.2 if b == "small" else 0.6))
            names = (f"{b}-{i}-orig.png", f"{b}-{i}-recon.png")
            img.save(folder / names[0])
            blurred.save(folder / names[1])
            index.append(
                {
                    "bucket": b,
                    "image_id": f"img{i}",
                    "gt": word,
                    "pred": word if b != "small" else word[:-1],
                    "score": 1.0 if b != "small" else 0.0,
                    "original": names[0],
                    "reconstruction": names[1],
                }
            )
    (folder / "index.json").write_text(json.dumps(index, indent=1))
    return folder


_OCR_MODULE = """
import numpy as np
from tokbench.backends.ocr import Reading


class StubOcr:
    name = "{name}"
    charset = None
    wants_caps = {wants_caps}

    def __init__(self, batch_size=8):
        self.batch_size = batch_size

    def fingerprint(self):
        return {{"backend": "{name}"}}

    def setup(self, device):
        pass

    def recognize(self, crops, caps=None):
        if self.wants_caps:
            assert caps is not None and len(caps) == len(crops)
        return [Reading({reads}) for c in crops]
"""


def write_ocr(folder: Path, name: str, reads: str, wants_caps: bool = False) -> str:
    """A stand-in OCR backend written as ``folder/<name>_ocr.py`` that reads each crop ``c`` (uint8 RGB) as the
    Python expression ``reads``; returns its ``ocr`` spec (``FILE:StubOcr``). ``wants_caps``: it takes decode
    caps, as ``parseq:decode=reference`` does, and checks it gets one per crop."""
    path = folder / f"{name.replace('-', '_')}_ocr.py"
    path.write_text(_OCR_MODULE.format(name=name, reads=reads, wants_caps=wants_caps))
    return f"{path}:StubOcr"
