"""The generated sweep set: bit-reproducible from its seed, sizes and grid phases as specified."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tokbench.errors import ConfigError
from tokbench.sweep.dataset import sweep_dataset
from tokbench.sweep.generate import SweepSpec, build, sizes


def _pixels(folder: Path) -> dict[str, bytes]:
    return {p.name: np.asarray(Image.open(p)).tobytes() for p in sorted(folder.glob("*.png"))}


def test_text_set_is_bit_reproducible_and_seeded(tmp_path: Path) -> None:
    spec = SweepSpec(256, 16, seed=0, kinds=("text",))
    a, b = build(spec, tmp_path / "a"), build(spec, tmp_path / "b")
    assert a["set_sha256"] == b["set_sha256"]
    assert _pixels(tmp_path / "a") == _pixels(tmp_path / "b")
    other = build(SweepSpec(256, 16, seed=1, kinds=("text",)), tmp_path / "c")
    assert other["set_sha256"] != a["set_sha256"]
    assert a["instances"]["text"] == 12 * 2 * 8


def test_text_sizes_phases_and_boxes(tmp_path: Path) -> None:
    desc = build(SweepSpec(256, 8, kinds=("text",)), tmp_path)
    steps = sizes("text", "default")
    assert len(steps) == 12 and steps[0] == 3.0 and steps[-1] == 40.0
    assert np.allclose(np.diff(np.log(steps)), np.log(40 / 3) / 11, atol=1e-3)
    anns = [a for img in desc["images"] for a in img["text"]]
    aligned = [a for a in anns if a["phase"] == "aligned"]
    offset = [a for a in anns if a["phase"] == "offset"]
    assert len(aligned) == len(offset) and all(a["offset"] == [0, 0] for a in aligned)
    assert all(1 <= o <= 7 for a in offset for o in a["offset"])
    assert {a["font"] for a in anns} == {"sans", "serif"}
    assert {a["background"] for a in anns} == {"flat-light", "flat-dark", "photo-light", "photo-dark"}
    for a in anns:  # the box holds the ink: from x-height (lowercase) to cap height plus descenders
        x0, y0, x1, y1 = a["bbox"]
        assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256
        assert a["size"] * 0.6 <= y1 - y0 <= a["size"] * 1.7 + 4


def test_faces_have_exact_keypoints_at_the_requested_distance(tmp_path: Path) -> None:
    pytest.importorskip("dlib")
    spec = SweepSpec(256, 16, kinds=("face",))
    desc = build(spec, tmp_path / "a")
    anns = [a for img in desc["images"] for a in img["faces"]]
    assert len(anns) == 12 * 2 * 4
    for a in anns:
        kps = np.asarray(a["kps"])
        assert np.hypot(*(kps[1] - kps[0])) == pytest.approx(a["size"], abs=1e-3)
        assert a["size"] == pytest.approx(a["nominal_size"], rel=0.03, abs=0.1)
        assert np.all((kps >= 0) & (kps < 256))
    assert {r["identity"] for r in desc["references"]} == {a["identity"] for a in anns}
    assert build(spec, tmp_path / "b")["set_sha256"] == desc["set_sha256"]


def test_dataset_reuses_a_verified_set_and_rebuilds_a_damaged_one(tmp_path: Path) -> None:
    spec = SweepSpec(128, 8, kinds=("text",))
    first, folder = sweep_dataset(spec, tmp_path)
    assert first.identity["images"] == len(first.samples) and first.samples[0].annotations["sweep"]["kind"] == "text"
    victim = first.samples[0].path
    Image.fromarray(np.zeros((128, 128, 3), np.uint8)).save(victim)
    again, same = sweep_dataset(spec, tmp_path)
    assert same == folder and again.identity["set_sha256"] == first.identity["set_sha256"]
    assert np.asarray(Image.open(victim)).any()


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ConfigError, match="density"):
        SweepSpec(256, 16, density="huge")
    with pytest.raises(ConfigError, match="kinds"):
        SweepSpec(256, 16, kinds=("logos",))
    with pytest.raises(ConfigError, match="too small"):
        SweepSpec(64, 16)
