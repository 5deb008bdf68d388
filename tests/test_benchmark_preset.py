"""Issue #14 items 4-6: ``--benchmark tokbench``, PARSeq's reference decode cap, ArcFace normalisation
recorded, and the report's reason for a blank Mean."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fakes import write_fake
from imaging import photo
from PIL import Image
from typer.testing import CliRunner

from tokbench.backends import BackendUnavailable
from tokbench.backends.face_onnx import Antelopev2, ArcFaceOnnx, graph_normalises_itself
from tokbench.backends.ocr_parseq import Parseq, reference_caps
from tokbench.cli import app
from tokbench.data.groups import TEXT_SETS
from tokbench.errors import ConfigError
from tokbench.report.commands import report_cmd
from tokbench.results import read_instances, read_result

ALL_SETS = (*TEXT_SETS, "wflw")
KPS = [[50, 60], [90, 60], [70, 80], [54, 100], [86, 100]]


class FakeParseqModel:
    """docTR PARSeq's surface: reads every crop as "Signpost", cut to the decode cap + 1 characters."""

    def __init__(self) -> None:
        self.caps: list[int] = []

    def feat_extractor(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"features": x.flatten(1)[:, None, :].repeat(1, 2, 1)}

    def decode_autoregressive(self, features: torch.Tensor, max_len: int) -> tuple[int, int]:
        self.caps.append(max_len)
        return features.shape[0], max_len

    def postprocessor(self, out: tuple[int, int]) -> list[tuple[str, float]]:
        n, cap = out
        return [("Signpost"[: cap + 1], 0.9)] * n

    def __call__(self, x: torch.Tensor, return_preds: bool = True) -> dict[str, Any]:
        return {"preds": [("Signpost", 0.9)] * x.shape[0]}


def _set(root: Path, name: str) -> None:
    """A registered set's layout under the data root: two images, annotations as TokBench's."""
    manifest = json.loads((Path(__file__).parents[1] / "data_manifests" / f"{name}.json").read_text())
    images = root / name / manifest["images"]
    images.mkdir(parents=True)
    records: list[dict[str, Any]] = []
    for i in range(2):
        Image.fromarray(photo(140, 140, 7 * i + len(name))).save(images / f"img{i}.jpg")
        if name == "wflw":
            faces = [{"kps": KPS, "ratio": 0.25, "box": [40, 40, 100, 110]}]
            records.append({"image_name": f"img{i}.jpg", "img_height": 140, "img_width": 140, "faces": faces})
        else:
            words = [
                {"rec": "Sign", "bbox": [5, 5, 60, 30], "ratio": 0.025},
                {"rec": "Signpost", "bbox": [40, 40, 130, 80], "ratio": 0.05},
            ]
            records.append({"file_name": f"img{i}.jpg", "height": 140, "width": 140, "annotations": words})
    ann = root / name / manifest["annotations"]["file"]
    ann.parent.mkdir(parents=True, exist_ok=True)
    ann.write_text(json.dumps(records))


@pytest.fixture
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with no docTR cache and no InsightFace packs."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCTR_CACHE_DIR", raising=False)
    return tmp_path


def test_offline_benchmark_fails_at_once_listing_every_missing_file_and_set(no_weights: Path) -> None:
    out = no_weights / "runs"
    args = ["run", "--model", "identity", "--benchmark", "tokbench", "--offline"]
    res = CliRunner().invoke(app, [*args, "--data-root", str(no_weights / "data"), "--output-dir", str(out)])
    assert res.exit_code == 1, res.output
    message = res.output
    assert "--benchmark tokbench cannot start; missing" in message
    assert "parseq-56125471.pt" in message and "glintr100.onnx" in message
    for name in ALL_SETS:
        assert f"`tokbench data fetch {name}`" in message
    assert not list(out.rglob("*.json"))  # nothing ran


def test_benchmark_refuses_options_it_sets_itself(no_weights: Path) -> None:
    res = CliRunner().invoke(app, ["run", "--model", "identity", "--benchmark", "tokbench", "--suite", "recon"])
    assert res.exit_code == 2 and "sets --suite itself" in res.output
    res = CliRunner().invoke(app, ["run", "--model", "identity", "--benchmark", "tokbench", "--ocr", "easyocr"])
    assert isinstance(res.exception, ConfigError) and "--benchmark uses --ocr parseq" in str(res.exception)
    res = CliRunner().invoke(app, ["run", "--model", "identity", "--benchmark", "nope"])
    assert isinstance(res.exception, ConfigError) and "unknown --benchmark 'nope'" in str(res.exception)


def test_benchmark_runs_the_whole_pipeline_and_joins_the_published_columns(
    no_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, out = no_weights / "data", no_weights / "runs"
    for name in ALL_SETS:
        _set(data, name)
    model = FakeParseqModel()

    def parseq_setup(self: Parseq, device: str) -> None:
        self._model, self._device = model, "cpu"

    def embed(blob: np.ndarray) -> np.ndarray:
        return blob.reshape(blob.shape[0], 3, 8, 14, 8, 14).mean(axis=(3, 5)).reshape(blob.shape[0], -1)

    monkeypatch.setattr(Parseq, "missing", lambda self: None)
    monkeypatch.setattr(Parseq, "setup", parseq_setup)
    monkeypatch.setattr(ArcFaceOnnx, "missing", lambda self: None)
    monkeypatch.setattr(ArcFaceOnnx, "find_model", lambda self: Path("glintr100.onnx"))
    original_init = ArcFaceOnnx.__init__
    monkeypatch.setattr(ArcFaceOnnx, "__init__", lambda self, **kw: original_init(self, **kw, session=embed))
    args = ["run", "--model", "identity", "--benchmark", "tokbench", "--resolution", "256", "--offline"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pack's licence warning
        res = CliRunner().invoke(
            app,
            [*args, "--data-root", str(data), "--output-dir", str(out), "--cache-dir", str(no_weights / "c")],
        )
    assert res.exit_code == 0, res.output
    text = read_result(out / "identity" / "tokbench-text" / "text-256.json")
    face = read_result(out / "identity" / "wflw" / "face-256.json")
    assert text["extra"]["pooled"]["sets"] == list(TEXT_SETS)
    for r in (text, face):
        assert r["run"]["benchmark"] == "tokbench"
        assert (r["protocol"]["name"], r["protocol"]["store"], r["protocol"]["read"]) == ("tokbench-paper",) + (
            "reference",
        ) * 2
    assert text["suite"]["options"]["ocr"] == "parseq:decode=reference" and text["extra"]["identity"]["ocr"] == "parseq"
    assert face["extra"]["face"]["input_norm"] == {"mean": 127.5, "std": 127.5, "source": "insightface default"}
    # 4 instances per set, one reference batch each: the cap is the set's longest label, "Signpost"
    records = read_instances(out / "identity" / "ic13" / "text-256.json")
    assert [r["decode_cap"] for r in records] == [8] * 4 and set(model.caps) == {8}
    assert {r["pred"] for r in records} == {"Signpost"}
    assert (out / "identity" / "ic13" / "text-512.json").exists() is False  # --resolution narrowed the preset
    paths = [str(out / "identity" / "tokbench-text"), str(out / "identity" / "wflw")]
    assert report_cmd(paths, "md", no_weights / "board", with_published=True) == 0
    md = (no_weights / "board" / "report.md").read_text()
    assert "published rows (different protocol)" not in md  # one table: the run beside the paper's rows
    block = md.split("## TokBench: text and faces by scale @256", 1)[1].split("\n## ", 1)[0]
    assert "| identity | run |" in block and "| Resize | published |" in block


def test_a_run_off_the_papers_pipeline_stays_apart_from_the_published_rows(tmp_path: Path) -> None:
    pooled = {"pooled": [{"name": n, "manifest": n} for n in TEXT_SETS]}
    metrics = {"t_acc_small": 80.0, "t_acc_medium": 90.0, "t_acc_large": 95.0, "t_acc": 88.33}
    for model, options in (("capped", {"ocr": "parseq"}), ("uncapped", {"ocr": "parseq:decode=uncapped"})):
        write_fake(
            tmp_path / model,
            model=model,
            suite="text",
            dataset="tokbench-text",
            identity=pooled,
            metrics=metrics,
            extra={"identity": options},
        )
    assert report_cmd([str(tmp_path / "capped")], "md", tmp_path / "a", with_published=True) == 0
    assert "published rows (different protocol)" not in (tmp_path / "a" / "report.md").read_text()
    assert report_cmd([str(tmp_path / "uncapped")], "md", tmp_path / "b", with_published=True) == 0
    apart = (tmp_path / "b" / "report.md").read_text()
    assert "published rows (different protocol)" in apart and "parseq:decode=uncapped" in apart


def test_reference_caps_are_the_longest_label_of_each_batch_of_64() -> None:
    labels = ["ab"] * 63 + ["abcdefg"] + ["x"] * 10
    assert reference_caps(labels) == [7] * 64 + [1] * 10


def test_parseq_decode_reference_caps_each_crop_and_is_recorded() -> None:
    crops = [np.full((20, 60, 3), v, np.uint8) for v in (10, 200, 90)]
    backend = Parseq(decode="reference")
    backend._model = FakeParseqModel()
    readings = backend.recognize(crops, caps=[2, 7, 2])
    assert [r.text for r in readings] == ["Sig", "Signpost", "Sig"] and sorted(backend._model.caps) == [2, 7]
    with pytest.raises(RuntimeError, match="one cap per crop"):
        backend.recognize(crops)
    assert backend.fingerprint()["decode"] == "reference" and backend.fingerprint()["decode_batch"] == 64
    default = Parseq()
    default._model = FakeParseqModel()
    assert [r.text for r in default.recognize(crops)] == ["Signpost"] * 3  # today's uncapped decode
    assert default.fingerprint()["decode"] == "uncapped" and default.identity() == "parseq:decode=uncapped"
    with pytest.raises(ConfigError, match="decode must be one of uncapped, reference"):
        Parseq(decode="greedy")


def test_arcface_normalisation_is_resolved_recorded_and_never_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = Antelopev2(session=lambda b: b.reshape(b.shape[0], -1), input_mean=0.0, input_std=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pack's licence warning
        given.setup("cpu")
    assert given.fingerprint()["input_norm"] == {"mean": 0.0, "std": 1.0, "source": "option"}
    assert given.identity() == "antelopev2:input_mean=0.0,input_std=1.0" and Antelopev2().identity() == "antelopev2"
    monkeypatch.setitem(sys.modules, "onnx", None)  # onnx absent: refuse, never assume 127.5
    with pytest.raises(BackendUnavailable, match="needs the onnx package"):
        graph_normalises_itself(tmp_path / "glintr100.onnx")


def test_a_blank_mean_says_why_in_md_and_html(tmp_path: Path) -> None:
    metrics = {"t_acc_small": 80.0, "t_acc_medium": 90.0, "t_acc_large": None, "t_acc": None}
    write_fake(tmp_path / "r", model="a", suite="text", metrics={**metrics, "t_acc_large": 1.0, "t_acc": 57.0})
    write_fake(tmp_path / "r", model="b", suite="text", metrics=metrics, extra={"empty_buckets": ["large"]})
    assert report_cmd([str(tmp_path / "r")], "md,html", tmp_path / "out") == 0
    for name in ("report.md", "report.html"):
        assert "b @256: Mean undefined: empty bucket large in ds (t_acc)" in (tmp_path / "out" / name).read_text()
