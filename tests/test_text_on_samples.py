"""EasyOCR on the embedded text samples: the Resize baseline reads large text; heavy JPEG reads less."""

from __future__ import annotations

import pytest

from tokbench.results import read_result
from tokbench.runner import RunConfig, run


@pytest.mark.slow
def test_identity_reads_large_text_and_heavy_jpeg_reads_less(tmp_path) -> None:
    def t_acc(model: str) -> dict:
        [path] = run(
            RunConfig(
                model=model,
                suites=["text"],
                dataset="samples",
                resolutions=[256],
                output_dir=str(tmp_path / "out"),
                cache_dir=str(tmp_path / "cache"),
            )
        )
        return read_result(path)

    identity, jpeg = t_acc("identity"), t_acc("jpeg:quality=5,down=4")
    assert identity["metrics"]["t_acc_large"] >= 95.0, identity["buckets"]
    for key in ("t_acc_large", "t_acc", "t_ned"):
        assert jpeg["metrics"][key] < identity["metrics"][key], key
    assert identity["extra"]["counts"]["below"] > 0  # counted, not dropped
    assert identity["counts"]["instances_used"] == 251
