"""A record depends on its image's annotations, id and set: editing an annotation file, or the same pixels in
another set, must never bring back another's cached records (the reconstruction itself is reused)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from fakes import write_ocr  # noqa: E402
from imaging import photo  # noqa: E402

from tokbench.config import RunConfig  # noqa: E402
from tokbench.results import read_result  # noqa: E402
from tokbench.runner import run  # noqa: E402


def _run(tmp_path: Path, ann: Path, folder: Path, ocr: str, out: str) -> dict:
    cfg = RunConfig(
        model="identity", suites=["text"], dataset=str(ann), images=str(folder), resolutions=[256],
        output_dir=str(tmp_path / out), cache_dir=str(tmp_path / "cache"),
        suite_options={"text": {"ocr": ocr}},
    )  # fmt: skip
    [path] = run(cfg)
    return read_result(path)


def test_an_edited_annotation_is_scored_again_and_the_reconstruction_reused(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(photo(128, 192, 0)).save(folder / "a.png")
    ocr = write_ocr(tmp_path, "one-word", '"Sign"')  # reads "Sign" in every crop
    ann = tmp_path / "text_x.json"

    def write(rec: str) -> None:
        box = {"rec": rec, "bbox": [10, 10, 90, 40], "ratio": 0.1}
        ann.write_text(json.dumps([{"file_name": "a.png", "height": 128, "width": 192, "annotations": [box]}]))

    write("Sign")
    first = _run(tmp_path, ann, folder, ocr, "one")
    write("Word")  # the ground truth changes, the pixels do not
    second = _run(tmp_path, ann, folder, ocr, "two")
    assert first["metrics"]["t_acc_pooled"] == 100.0
    assert second["metrics"]["t_acc_pooled"] == 0.0  # not the cached record of "Sign"
    assert second["cache"]["recon"]["hits"] == 1  # the reconstruction is content: it is reused
    assert second["cache"]["records"] == {"hits": 0, "misses": 1, "corrupt_recomputed": 0}
