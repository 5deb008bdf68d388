"""``tokbench report``: tables from hand-made result files (numbers, rounding, ordering, refusal)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from fakes import write_fake

from tokbench.report.commands import report_cmd
from tokbench.report.published import DEFAULT_FILE, load_published

TEXT = {
    "t_acc_small": 10.004,
    "t_acc_medium": 30.0,
    "t_acc_large": 60.0,
    "t_acc": 100.0 / 3,
    "t_ned_small": 30.0,
    "t_ned_medium": 50.0,
    "t_ned_large": 70.0,
    "t_ned": 50.0,
}
FACE = {"f_sim_small": 0.2, "f_sim_medium": 0.4, "f_sim_large": 0.77, "f_sim": 0.4567}


def _scaled(metrics: dict[str, float], k: float) -> dict[str, float]:
    return {m: v * k for m, v in metrics.items()}


def _tokbench_set(root: Path, dataset: str = "tokbench-official", face_dataset: str = "wflw") -> None:
    for model, k, bpp in (("tok-a", 1.0, 0.125), ("tok-b:big", 1.5, 0.5), ("tok-c", 0.5, 0.03125)):
        write_fake(root, model=model, suite="text", dataset=dataset, metrics=_scaled(TEXT, k), bpp=bpp)
        write_fake(
            root,
            model=model,
            suite="face",
            dataset=face_dataset,
            metrics=_scaled(FACE, k),
            bpp=bpp,
            kind="continuous" if model == "tok-c" else "discrete",
            downsample=8 if model == "tok-c" else 16,
        )


def _md_rows(md: str, section: str) -> list[list[str]]:
    block = md.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in block.splitlines() if ln.startswith("| ") and not ln.startswith("| Model")]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]


def test_tokbench_table_numbers_rounding_and_order(tmp_path: Path) -> None:
    _tokbench_set(tmp_path / "runs")
    assert report_cmd([str(tmp_path / "runs")], "md,csv,json", tmp_path / "out") == 0
    md = (tmp_path / "out" / "report.md").read_text()
    rows = _md_rows(md, "TokBench: text and faces by scale @256")
    assert [r[0] for r in rows] == ["tok-b:big", "tok-a", "tok-c"]  # best T-ACC Mean first
    a = rows[1]
    assert a[1:5] == ["run", "discrete", "16×", "0.1250"]
    # T-ACC S/M/L/Mean, T-NED S/M/L/Mean, F-Sim S/M/L/Mean with 2 decimals
    assert a[5:] == [
        "10.00",
        "30.00",
        "60.00",
        "33.33",
        "30.00",
        "50.00",
        "70.00",
        "50.00",
        "0.20",
        "0.40",
        "0.77",
        "0.46",
    ]
    assert rows[2][2:4] == ["discrete", "16×"]  # kind/factor of the row's first (text) result
    with (tmp_path / "out" / "tokbench-256.csv").open() as f:
        recs = list(csv.DictReader(f))
    assert [r["Model"] for r in recs] == ["tok-b:big", "tok-a", "tok-c"]
    assert float(recs[1]["t_acc"]) == pytest.approx(100 / 3, abs=1e-9)  # CSV keeps full precision
    assert float(recs[1]["t_acc_small"]) == 10.004
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    table = next(t for t in doc["tables"] if t["name"] == "tokbench-256")
    assert table["rows"][0]["values"]["f_sim"] == pytest.approx(0.4567 * 1.5)
    assert table["rows"][0]["bpp"] == 0.5


def test_recon_table_directions_and_unknown_metrics(tmp_path: Path) -> None:
    write_fake(tmp_path / "r", model="good", suite="recon", metrics={"psnr": 30.123, "ssim": 0.91234})
    write_fake(tmp_path / "r", model="bad", suite="recon", metrics={"psnr": 20.0, "ssim": 0.5})
    write_fake(tmp_path / "r", model="good", suite="fid", metrics={"rfid": 1.234, "kid_mean": 0.00123})
    write_fake(tmp_path / "r", model="bad", suite="fid", metrics={"rfid": 9.5, "kid_mean": 0.01, "weird_x": 1234567.0})
    assert report_cmd([str(tmp_path / "r")], ["md"], tmp_path / "out") == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| PSNR ↑ | SSIM ↑ | rFID ↓ | KID ↓ |" in md
    rows = _md_rows(md, "Reconstruction @256")
    assert rows[0][0] == "good" and rows[0][5:] == ["30.12", "0.9123", "1.23", "0.0012"]
    other = _md_rows(md, "Other metrics @256")
    assert other == [["bad", "run", "discrete", "16×", "0.2500", "1.235e+06"]]
    assert "| weird_x |" in md  # unknown metric names shown as-is


def test_counts_and_skipped_json_are_reported(tmp_path: Path) -> None:
    write_fake(
        tmp_path / "r",
        model="m",
        suite="recon",
        metrics={"psnr": 25.0},
        buckets={"small": {"n": 12}, "medium": {"n": 5}, "large": 3},
    )
    (tmp_path / "r" / "settings.json").write_text('{"not": "a result"}')
    (tmp_path / "r" / "broken.json").write_text("{")
    assert report_cmd([str(tmp_path / "r")], "md", tmp_path / "out") == 0
    md = (tmp_path / "out" / "report.md").read_text()
    counts = _md_rows(md, "Counts used / skipped per result")
    assert counts[0][:10] == [
        "m",
        "recon",
        "ds",
        "256",
        "9",
        "10",
        "1 (unreadable image 1)",
        "40",
        "2 (out of vocabulary 2)",
        "S 12 / M 5 / L 3",
    ]
    assert "settings.json: not a tokbench result" in md and "broken.json: malformed JSON" in md


@pytest.mark.parametrize(
    ("change", "values"),
    [
        ({"protocol": "center-crop"}, ("tokbench-paper", "center-crop")),
        ({"suite_options": {"ocr": "easyocr"}}, ("parseq", "easyocr")),
        ({"identity": {"manifest_sha256": "other-hash"}}, ("sha-tokbench-official", "other-hash")),
        ({"suite_version": "2"}, ("1", "2")),
    ],
)
def test_refuses_to_mix_protocols_backends_and_datasets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict, values: tuple[str, str]
) -> None:
    write_fake(tmp_path / "r", model="a", suite="text", dataset="tokbench-official", metrics=TEXT)
    write_fake(tmp_path / "r", model="b", suite="text", dataset="tokbench-official", metrics=TEXT, **change)
    assert report_cmd([str(tmp_path / "r")], "md", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert f"{values[0]!r}" in err and f"{values[1]!r}" in err and "--mix-protocols" in err
    assert not (tmp_path / "out" / "report.md").exists()


def test_speed_options_do_not_count_as_protocol(tmp_path: Path) -> None:
    write_fake(tmp_path / "r", model="a", suite="text", metrics=TEXT, suite_options={"ocr": "parseq", "batch_size": 8})
    write_fake(tmp_path / "r", model="b", suite="text", metrics=TEXT, suite_options={"ocr": "parseq", "batch_size": 64})
    assert report_cmd([str(tmp_path / "r")], "md", tmp_path / "out") == 0


def test_mix_protocols_marks_the_odd_cells(tmp_path: Path) -> None:
    for model in ("a", "b"):
        write_fake(tmp_path / "r", model=model, suite="recon", metrics={"psnr": 25.0})
    write_fake(tmp_path / "r", model="c", suite="recon", metrics={"psnr": 27.0}, protocol="center-crop")
    assert report_cmd([str(tmp_path / "r")], "md,json", tmp_path / "out", mix_protocols=True) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    rows = _md_rows(md, "Reconstruction @256")
    assert rows[0][0] == "c" and rows[0][5] == "27.00†" and rows[1][5] == "25.00"
    assert "† made under a different protocol: protocol 'center-crop' (column has 'tokbench-paper')" in md
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert doc["tables"][0]["rows"][0]["markers"] == {"psnr": "†"}


def test_same_model_on_two_datasets_gets_two_rows_when_mixed(tmp_path: Path) -> None:
    write_fake(tmp_path / "r", model="a", suite="recon", dataset="d1", metrics={"psnr": 25.0})
    write_fake(tmp_path / "r", model="a", suite="recon", dataset="d2", metrics={"psnr": 21.0})
    assert report_cmd([str(tmp_path / "r")], "md", tmp_path / "out") == 2
    assert report_cmd([str(tmp_path / "r")], "md", tmp_path / "out", mix_protocols=True) == 0
    rows = _md_rows((tmp_path / "out" / "report.md").read_text(), "Reconstruction @256")
    assert sorted(r[0] for r in rows) == ["a", "a (2)"]


def test_duplicates_keep_the_newest(tmp_path: Path) -> None:
    write_fake(tmp_path / "old", model="a", suite="recon", metrics={"psnr": 20.0}, created="2026-01-01T00:00:00")
    write_fake(tmp_path / "new", model="a", suite="recon", metrics={"psnr": 22.0}, created="2026-02-01T00:00:00")
    assert report_cmd([str(tmp_path / "old"), str(tmp_path / "new")], "md", tmp_path / "out") == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert _md_rows(md, "Reconstruction @256")[0][5] == "22.00" and "duplicate result for a" in md


def test_published_rows_join_runs_under_the_same_protocol(tmp_path: Path) -> None:
    _tokbench_set(tmp_path / "runs", face_dataset="tokbench-official")
    assert report_cmd([str(tmp_path / "runs")], "md", tmp_path / "out", with_published=True) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    rows = _md_rows(md, "TokBench: text and faces by scale @256")
    by_model = {r[0]: r for r in rows}
    assert by_model["Resize"][1] == "published" and by_model["Resize"][8] == "93.02"
    assert by_model["tok-a"][1] == "run"
    assert len(rows) == 22 + 3
    assert "published, not re-measured" in md and "wjf5203/TokBench: home_page.html @1b5a415" in md
    assert "TokBench: text and faces by scale @512" in md  # published-only sections still shown


def test_published_rows_stay_apart_under_another_protocol(tmp_path: Path) -> None:
    _tokbench_set(tmp_path / "runs", dataset="ic13")
    assert report_cmd([str(tmp_path / "runs")], "md", tmp_path / "out", with_published=True) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    own = _md_rows(md, "TokBench: text and faces by scale @256\n")
    assert {r[0] for r in own} == {"tok-a", "tok-b:big", "tok-c"}
    apart = _md_rows(md, "TokBench: text and faces by scale @256 — published rows (different protocol)")
    assert len(apart) == 22 and all(r[1] == "published" for r in apart)
    assert "dataset differs: 'ic13'" in md
    assert report_cmd([str(tmp_path / "runs")], "md", tmp_path / "mixed", True, True) == 0
    mixed = (tmp_path / "mixed" / "report.md").read_text()
    assert "published rows (different protocol)" not in mixed and "made under a different protocol" in mixed


def test_published_file_is_complete_and_consistent() -> None:
    doc = json.loads(DEFAULT_FILE.read_text())
    assert doc["status"] == "published, not re-measured"
    assert doc["source"]["repo"] == "wjf5203/TokBench" and doc["source"]["commit"] == "1b5a415"
    # the reference stored JPEG and read without EXIF; the rows cover whole sets (no --limit)
    assert doc["protocol"] == {"name": "tokbench-paper", "store": "reference", "read": "reference"}
    assert doc["dataset"] == {"name": "tokbench-official", "limit": None}
    assert doc["suites"]["text"]["options"] == {"ocr": "parseq"}
    assert doc["suites"]["face"]["options"] == {"face": "antelopev2"}
    per_res = {r: [row for row in doc["rows"] if row["resolution"] == r] for r in (256, 512, 1024)}
    assert [len(v) for v in per_res.values()] == [22, 19, 19]
    for row in doc["rows"]:
        m = row["metrics"]
        for fam in ("t_acc", "t_ned", "f_sim"):
            buckets = [m[f"{fam}_{b}"] for b in ("small", "medium", "large")]
            assert abs(sum(buckets) / 3 - m[fam]) <= 0.011, (row["model"], row["resolution"], fam)
    flux = {r["resolution"]: r["metrics"] for r in doc["rows"] if r["model"] == "FLUX.1-dev"}
    assert (flux[256]["t_acc"], flux[512]["t_ned"], flux[1024]["f_sim"]) == (75.91, 93.86, 0.96)
    entries = load_published()
    assert {e.suite for e in entries} == {"text", "face"} and all(e.published for e in entries)


def test_bad_arguments_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_cmd([str(tmp_path / "nope")], "md", tmp_path / "out") == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert report_cmd([str(tmp_path / "empty")], "md", tmp_path / "out") == 2
    assert report_cmd([str(tmp_path / "empty")], "md,pdf", tmp_path / "out") == 2
    assert "pdf" in capsys.readouterr().err


def test_latex_is_escaped(tmp_path: Path) -> None:
    write_fake(tmp_path / "r", model="my_tok#1", suite="recon", metrics={"psnr": 25.0, "lpips_alex": 0.1})
    assert report_cmd([str(tmp_path / "r")], "latex", tmp_path / "out") == 0
    tex = (tmp_path / "out" / "report.tex").read_text()
    assert r"\toprule" in tex and r"my\_tok\#1" in tex and r"$\downarrow$" in tex and r"16$\times$" in tex
