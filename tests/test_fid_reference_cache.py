"""A second model on the same data computes no reference (original) features."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokbench.results import read_result
from tokbench.runner import RunConfig, run


def _fid(model: str, images: Path, cache: Path) -> dict:
    """One fid run at 64 on ``images`` with the cache (and results) under ``cache``."""
    config = RunConfig(
        model=model,
        suites=["fid"],
        dataset="folder",
        images=str(images),
        resolutions=[64],
        output_dir=str(cache / "out"),
        cache_dir=str(cache),
    )
    [path] = run(config)
    return dict(read_result(path))


@pytest.mark.slow
def test_second_model_reuses_reference_features(tmp_path, image_folder) -> None:
    first = _fid("jpeg:quality=90", image_folder, tmp_path / "c")
    second = _fid("jpeg:quality=5", image_folder, tmp_path / "c")
    assert first["extra"]["reference_features"] == {"computed": 4, "cached": 0, "damaged_recomputed": 0}
    assert second["extra"]["reference_features"] == {"computed": 0, "cached": 4, "damaged_recomputed": 0}
    assert second["metrics"]["rfid"] > first["metrics"]["rfid"]
    assert "biased" in second["extra"]["warning"] and second["extra"]["inception_sha256"]


@pytest.mark.slow
def test_a_flipped_bit_in_a_cached_feature_is_detected_and_recomputed(tmp_path, image_folder) -> None:
    # observed: one flipped bit in the feature cache gave rFID 2.6e75, silently

    _fid("jpeg:quality=90", image_folder, tmp_path / "c")
    features = sorted(p for p in (tmp_path / "c" / "fid-features").rglob("*") if p.is_file())
    assert len(features) == 4
    data = bytearray(features[0].read_bytes())
    data[len(data) // 2] ^= 0x40  # inside the feature values
    features[0].write_bytes(bytes(data))
    damaged = _fid("jpeg:quality=5", image_folder, tmp_path / "c")
    clean = _fid("jpeg:quality=5", image_folder, tmp_path / "fresh")
    assert damaged["metrics"]["rfid"] == clean["metrics"]["rfid"]
    assert damaged["extra"]["reference_features"] == {"computed": 1, "cached": 3, "damaged_recomputed": 1}
