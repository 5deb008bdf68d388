"""Capped decoding on video (``parseq:decode=reference``): the text suite's ``begin`` sees the set's
annotated frames in the annotation file's order, as TokBench's video loader reads them, and every crop
gets the cap of its place in that order."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fakes import write_ocr

pytest.importorskip("av")
sys.path.insert(0, str(Path(__file__).parent))
from test_video_run import go, text_folder  # noqa: E402

import tokbench.backends.ocr_parseq as ocr_parseq  # noqa: E402


def test_caps_follow_the_annotation_files_order_across_clips(tmp_path: Path, monkeypatch) -> None:
    ann, folder = text_folder(tmp_path)
    records = json.loads(ann.read_text())
    records = [r for r in records if r["video_name"] == "beta"] + [r for r in records if r["video_name"] == "alpha"]
    ann.write_text(json.dumps(records))  # beta's frames first: not the clips' (sorted) file order
    seen: list[list[str]] = []

    def numbered_caps(labels: list[str], batch: int = 0) -> list[int]:
        seen.append(list(labels))
        return list(range(len(labels)))  # each instance's place in the order, as its "cap"

    monkeypatch.setattr(ocr_parseq, "reference_caps", numbered_caps)
    opts = {"text": {"ocr": write_ocr(tmp_path, "capped", '"Sign"', wants_caps=True)}}
    text = go(tmp_path, "identity", "text", str(ann), folder, suite_options=opts)["text"]
    # 2 clips x 9 frames x 1 box, and beta's frame 12: past the clip's end, it keeps its place in the order
    # (it is counted as skipped once the clip is read)
    assert seen and len(seen[0]) == 19
    out = tmp_path / "out" / "run"
    [jsonl] = list(out.rglob("text-256.jsonl"))
    caps = {
        r["image_id"]: r["decode_cap"] for r in map(json.loads, jsonl.read_text().splitlines()) if "decode_cap" in r
    }
    assert caps["beta#frame1"] == 0 and caps["beta#frame9"] == 8  # first in the file, first in the order
    assert caps["alpha#frame1"] == 10 and caps["alpha#frame9"] == 18
    assert text["counts"]["instances_used"] == 18
