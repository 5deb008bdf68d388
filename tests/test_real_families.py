"""benchmarks/real_families.py: the plan it prints (--dry-run), and its pooling of the 8 text sets."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokbench.metrics.buckets import bucket_of, edges_for
from tokbench.report.published import default_file
from tokbench.results import result_path, write_result

sys.path.insert(0, str(Path(__file__).parent))
from fakes import make_result  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "real_families.py"


def script() -> Any:
    """The script as a module (registered first: its dataclass needs to find its module)."""
    if "real_families" not in sys.modules:
        spec = importlib.util.spec_from_file_location("real_families", SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["real_families"] = module
        spec.loader.exec_module(module)
    return sys.modules["real_families"]


def test_dry_run_prints_every_run_and_the_published_rows(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--taesd-source", str(tmp_path / "taesd"), "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert not out.exists()  # nothing ran
    runs = [line for line in lines if line.startswith("tokbench run ")]
    specs = ["sdxl-vae:", "flux-vae:variant=dev", "llamagen:variant=VQ-16", "gigatok:variant=XLXXL"]
    specs.append(f"taef2:source={tmp_path / 'taesd'}")
    for spec in specs:
        mine = [r for r in runs if f"--model {spec}" in r]
        assert len(mine) == 9, spec  # 8 text sets + WFLW faces
        assert any(f"tokbench doctor --model {spec}" in line for line in lines)
        assert all("--benchmark tokbench" in r or "--protocol tokbench-paper" in r for r in mine)
        text = [r for r in mine if "--suite text" in r]
        assert {r.split("--dataset ")[1].split()[0] for r in text} == set(script().TEXT_SETS)
        if "--benchmark tokbench" not in mine[0]:
            assert all("--ocr parseq" in r for r in text) and "--face antelopev2" in mine[-1]
    gigatok = [r for r in runs if "gigatok" in r]
    assert all("--resolution 256 " in r for r in gigatok)  # fixed 256 input: not run at 512
    assert all("--resolution 256,512 " in r for r in runs if "sdxl-vae" in r)
    assert sum(line.startswith("tokbench data fetch ") for line in lines) == 9
    # each published row sits beside its family, as the published file gives it
    rows = {(r["model"], r["resolution"]): r["metrics"] for r in json.loads(default_file().read_text())["rows"]}
    for name, res in (("SD-XL", 256), ("FLUX.1-dev", 512), ("LlamaGen", 256)):
        line = next(row for row in lines if f"({name})" in row and f"| {res} |" in row)
        assert f"{rows[(name, res)]['t_acc']:.2f}" in line and f"{rows[(name, res)]['f_sim']:.2f}" in line
    assert any("gigatok (no published row)" in row for row in lines)


def test_unknown_family_is_named() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--families", "sdxl,nope"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "unknown family nope" in done.stderr and "sdxl" in done.stderr


def _text(out: Path, dataset: str, accs: dict[str, list[int]]) -> None:
    edges = edges_for("text", 256)
    ratio = {"small": edges[0], "medium": edges[1], "large": edges[2]}
    records: list[dict[str, Any]] = [
        {"acc": a, "ned": a, "ratio": ratio[bucket], "dataset": dataset, "bucket": bucket}
        for bucket, vs in accs.items()
        for a in vs
    ]
    assert all(bucket_of(r["ratio"], edges) == r["bucket"] for r in records)  # the edge itself opens its bucket
    records.append({"skip": "out of vocabulary", "ratio": edges[2], "dataset": dataset})  # not scored
    result = make_result("taef2", "text", dataset, 256)
    write_result(result_path(out, "taef2", dataset, "text", 256), result, records)


def test_text_sets_are_pooled_before_bucketing_as_tokbench_does(tmp_path: Path) -> None:
    mod = script()
    out = tmp_path / "taef2"
    sets = mod.TEXT_SETS
    _text(out, sets[0], {"small": [1, 0], "medium": [1], "large": [1]})
    _text(out, sets[1], {"small": [1], "medium": [0, 0], "large": [0]})
    for d in sets[2:]:
        _text(out, d, {})
    face = make_result("taef2", "face", mod.FACE_SET, 256, {"f_sim": 0.5})
    write_result(result_path(out, "taef2", mod.FACE_SET, "face", 256), face, [])
    row = mod.measured_row(out, 256)
    # pooled buckets: small 2/3, medium 1/3, large 1/2 -> mean 0.5 (averaging the two sets' means gives 0.583)
    assert row["t_acc"] == pytest.approx(50.0) and row["t_ned"] == pytest.approx(50.0)
    assert row["f_sim"] == 0.5
    with pytest.raises(SystemExit, match="expected one text result for ic13 at 512, found 0"):
        mod.measured_row(out, 512)
