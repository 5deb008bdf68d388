"""The sweep suite end to end through ``tokbench.runner.run``: identity equals the ceiling, a block-seam
tokenizer shows a grid-phase gap, dlib scores the face sweep, and (slow, EasyOCR) the lossy offline
baselines need larger text than the OCR itself."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tokbench.results import read_result
from tokbench.runner import RunConfig, run
from tokbench.sweep.dataset import sweep_dataset
from tokbench.sweep.generate import SweepSpec

DOUBLES = Path(__file__).with_name("sweep_doubles.py")


@pytest.fixture(scope="module")
def text_cache(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A cache root holding the default 256 text sweep on a 16-pixel grid (what identity and the seam
    tokenizer get), and that set's folder (the template OCR's clean renderings)."""
    root = tmp_path_factory.mktemp("sweep-cache")
    _, folder = sweep_dataset(SweepSpec(256, 16, kinds=("text",)), root)
    return root, folder


def _sweep(model: str, out: Path, cache: Path, **options: Any) -> dict[str, Any]:
    config = RunConfig(
        model=model,
        suites=["sweep"],
        resolutions=[256],
        output_dir=str(out),
        cache_dir=str(cache),
        offline=True,
        suite_options={"sweep": {"resamples": 100, **options}},
    )
    [path] = run(config)
    return dict(read_result(path))


def _template_ocr(folder: Path) -> str:
    return f"{DOUBLES}:TemplateOcr:set={folder}"


def test_identity_threshold_equals_the_ceiling(text_cache: tuple[Path, Path], tmp_path: Path) -> None:
    cache, folder = text_cache
    result = _sweep("identity", tmp_path, cache, kinds="text", ocr=_template_ocr(folder))
    m, found = result["metrics"], result["extra"]["text"]["thresholds"]
    assert m["text_50_px"] is not None and 3.0 < m["text_50_px"] < 40.0  # a real threshold inside the sweep
    for level in ("50", "90"):
        assert found[f"model_{level}"] == found[f"ceiling_{level}"]
        assert m[f"text_{level}_rel"] == 1.0
    assert result["extra"]["text"]["counts"] == {"scored": 192, "skipped": 0}
    assert any((cache / "sweep-ceiling").rglob("*.npz"))  # the ceiling went to the cache for later models


def test_a_block_seam_tokenizer_shows_a_grid_phase_gap(text_cache: tuple[Path, Path], tmp_path: Path) -> None:
    cache, folder = text_cache
    result = _sweep(f"{DOUBLES}:SeamTokenizer:p=16,rows=3", tmp_path, cache, kinds="text", ocr=_template_ocr(folder))
    m, phase = result["metrics"], result["extra"]["text"]["phase"]
    assert result["dataset"]["identity"]["spec"]["grid"] == 16  # the set follows the tokenizer's grid
    assert m["text_phase_gap"] >= 10.0, phase
    aligned, offset = (phase["thresholds"][p]["model_50"]["value"] for p in ("aligned", "offset"))
    assert aligned is not None and offset is not None and offset > 1.15 * aligned, phase
    assert m["text_50_phase_ratio"] == pytest.approx(offset / aligned)


def test_faces_score_end_to_end_with_dlib(tmp_path: Path) -> None:
    pytest.importorskip("dlib")
    result = _sweep("identity", tmp_path / "out", tmp_path / "cache", kinds="face")
    m, face = result["metrics"], result["extra"]["face"]
    assert face["counts"]["scored"] == 96
    curves = face["curves"]
    assert len(curves) == 12 and curves[0]["size"] == pytest.approx(4.0, rel=0.05)
    # dlib tells the identities apart on large faces, not on 4-pixel ones
    assert curves[-1]["ceiling_same"] >= 0.75 > curves[0]["ceiling_same"]
    assert all(c["f_sim_pair"] == pytest.approx(1.0) for c in curves)  # identity: the very same embeddings
    assert m["face_50_px"] is not None and m["face_50_px"] == m["face_50_ceiling_px"]


def _low(entry: dict[str, Any]) -> float:
    """An interval's lower bound; None means every resample in the lower tail never reached the level."""
    return math.inf if entry["low"] is None else float(entry["low"])


@pytest.mark.slow
def test_lossy_baselines_need_larger_text_than_the_ceiling_with_easyocr(tmp_path: Path) -> None:
    """The real default OCR on the default text sweep (about 10 minutes of EasyOCR on a loaded 2-core
    machine). Identity's threshold is the ceiling (test above), so each model is compared with the
    ceiling of its own set (kmeans-vq's grid is 8, the others' 16)."""
    pytest.importorskip("easyocr")
    for model in ("jpeg:quality=5,down=4", "kmeans-vq:p=8,K=256"):
        result = _sweep(model, tmp_path / "out", tmp_path / "cache", kinds="text")
        found = result["extra"]["text"]["thresholds"]
        ceiling = found["ceiling_50"]
        assert ceiling["value"] is not None and ceiling["high"] is not None, (model, ceiling)
        assert _low(found["model_50"]) > ceiling["high"], (model, found)
        assert _low(found["rel_50"]) > 1.0, (model, found)
