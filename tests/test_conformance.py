"""Conformance with the TokBench reference implementation on its own 36,087 per-instance outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tokbench.importers import BadImport, import_tokbench_outputs, read_tokbench_output
from tokbench.metrics.text import text_scores
from tokbench.results import read_instances, read_result

REF = Path(__file__).resolve().parents[2] / "shared" / "data" / "tokbench-reference-outputs"
pytestmark = pytest.mark.skipif(not REF.is_dir(), reason="../shared/data/tokbench-reference-outputs not present")


def ref_files() -> list[Path]:
    return sorted(REF.glob("*.json"))


def reference_algorithm(files: list[Path]) -> dict[str, tuple[int, float, float]]:
    """compute_all_metrics.py's logic written independently: pool, bucket at the 256 edges, means."""
    rows = []
    for f in files:
        for settings in json.loads(f.read_text()).values():
            for image in settings["256"]["details"].values():
                rows += [(r["ratio"], r["accuracy"], r["ned"]) for r in image["results"]]
    arr = np.array(rows, dtype=np.float64)
    out = {}
    for name, lo, hi in (("small", 0.02, 0.03), ("medium", 0.03, 0.04), ("large", 0.04, 1.0)):
        sel = arr[(arr[:, 0] >= lo) & (arr[:, 0] < hi)]
        out[name] = (len(sel), 100 * sel[:, 1].mean(), 100 * sel[:, 2].mean())
    return out


def test_scoring_matches_every_reference_instance() -> None:
    total = mismatched_acc = 0
    worst_ned = 0.0
    for f in ref_files():
        for records in read_tokbench_output(f).values():
            for r in records:
                s = text_scores(r["gt"], r["pred"])
                total += 1
                mismatched_acc += s["acc"] != r["ref_accuracy"]
                worst_ned = max(worst_ned, abs(s["ned"] - r["ref_ned"]))
    assert total == 36_087
    assert mismatched_acc == 0 and worst_ned <= 1e-9, (mismatched_acc, worst_ned)


def test_import_buckets_and_means_equal_the_reference_algorithm(tmp_path: Path) -> None:
    [path] = import_tokbench_outputs(ref_files(), tmp_path, model="tokenizer1")
    res = read_result(path)
    ref = reference_algorithm(ref_files())
    ours = {
        b: (res["buckets"][b]["n"], res["buckets"][b]["t_acc"], res["buckets"][b]["t_ned"])
        for b in ("small", "medium", "large")
    }
    message = f"ours {ours} vs reference {ref}"
    for b in ref:
        assert ours[b][0] == ref[b][0], message
        assert ours[b][1] == pytest.approx(ref[b][1], abs=1e-9) and ours[b][2] == pytest.approx(ref[b][2], abs=1e-9)
    assert (ref["small"][0], ref["medium"][0], ref["large"][0]) == (995, 406, 526)
    mean_acc = np.mean([ref[b][1] for b in ref])
    assert res["metrics"]["t_acc"] == pytest.approx(mean_acc, abs=1e-9), message
    assert res["extra"]["imported"]["files"][0]["sha256"]
    assert len(read_instances(path)) == 36_087


def test_imported_numbers_appear_unchanged_in_the_report(tmp_path: Path) -> None:
    from tokbench.report.commands import report_cmd

    [path] = import_tokbench_outputs(ref_files(), tmp_path / "runs", model="tokenizer1")
    res = read_result(path)
    assert report_cmd([str(path)], "json,md", tmp_path / "report") == 0
    text = (tmp_path / "report" / "report.md").read_text()
    for key in ("t_acc_small", "t_acc_medium", "t_acc_large", "t_acc"):
        assert f"{res['metrics'][key]:.2f}" in text, key


def test_malformed_file_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "ic13.json"
    bad.write_text(json.dumps({"m": {"256": {"details": {"a.jpg": {"results": [{"gt": "x", "pred": 3}]}}}}}))
    with pytest.raises(BadImport, match=r"ic13.json: m.256.details.a.jpg.results\[0\].pred: expected str"):
        read_tokbench_output(bad)
    bad.write_text(json.dumps({"m": {"256": {"results": {}}}}))
    with pytest.raises(BadImport, match="missing field 'details'"):
        read_tokbench_output(bad)
