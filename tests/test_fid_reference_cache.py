"""A second model on the same data computes no reference (original) features."""

from __future__ import annotations

import pytest

from tokbench.results import read_result
from tokbench.runner import RunConfig, run


@pytest.mark.slow
def test_second_model_reuses_reference_features(tmp_path, image_folder) -> None:
    def go(model: str):
        [path] = run(RunConfig(model=model, suites=["fid"], dataset="folder", images=str(image_folder),
                               resolutions=[64], output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "c")))
        return read_result(path)

    first = go("jpeg:quality=90")
    second = go("jpeg:quality=5")
    assert first["extra"]["reference_features"] == {"computed": 4, "cached": 0}
    assert second["extra"]["reference_features"] == {"computed": 0, "cached": 4}
    assert second["metrics"]["rfid"] > first["metrics"]["rfid"]
    assert "biased" in second["extra"]["warning"] and second["extra"]["inception_sha256"]
