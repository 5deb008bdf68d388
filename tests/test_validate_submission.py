"""``tokbench validate``: a submitted result passes only when its numbers follow from its records, it ran
on the registered data under a known protocol, its provenance is complete and its names are plain text
(issue #22). Fixtures are committed baselines made by the runner, copied and then edited like a forger would."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tokbench.cli import app
from tokbench.hashing import sha256_bytes

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "results" / "baselines" / "identity" / "samples"
RUNNER = CliRunner(env={"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TOKBENCH_DEBUG": None, "COLUMNS": "200"})
pytestmark = pytest.mark.skipif(not BASELINE.is_dir(), reason="no committed baseline results")


def cli(*args: str | Path) -> Any:
    return RUNNER.invoke(app, ["validate", *map(str, args)])


def _copy(tmp_path: Path, stem: str) -> Path:
    folder = tmp_path / "submission" / "identity" / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".json", ".jsonl"):
        shutil.copyfile(BASELINE / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    return folder / f"{stem}.json"


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=1))


def _edit_records(path: Path, change: Callable[[list[dict[str, Any]]], None], rebind: bool) -> None:
    """Edit the JSONL beside ``path``; with ``rebind`` also write its new sha256 into the result."""
    jsonl = path.with_suffix(".jsonl")
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    change(records)
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    jsonl.write_bytes(data)
    if rebind:
        _edit(path, lambda d: d.update(instances_sha256=sha256_bytes(data)))


def _upgrade_to_v3(path: Path) -> None:
    """The recon baseline as the runner writes ``tokbench.result/3``: declarations, the records' sha256 and
    intervals made by the runner's own function (100 resamples: fast)."""
    from tokbench.registry import SUITES
    from tokbench.results import read_instances
    from tokbench.stats.attach import intervals_for
    from tokbench.stats.intervals import IntervalSettings

    doc = json.loads(path.read_text())
    records = read_instances(path)
    suite = SUITES.resolve("recon")(**doc["suite"]["options"])
    intervals = intervals_for(suite, records, suite.aggregate(records, 256), IntervalSettings(resamples=100))
    doc.update(
        schema="tokbench.result/3",
        metric_specs=[s.to_dict() for s in suite.metric_specs()],
        intervals=json.loads(json.dumps(intervals)),
        instances_file=path.with_suffix(".jsonl").name,
        instances_sha256=sha256_bytes(path.with_suffix(".jsonl").read_bytes()),
    )
    path.write_text(json.dumps(doc, indent=1))


def _fails(path: Path, *needles: str) -> str:
    out = cli(path.parent)
    assert out.exit_code == 1, out.output
    errors = [line for line in out.stdout.splitlines() if " error [" in line]
    assert errors, out.stdout
    for needle in needles:
        assert any(needle in line for line in errors), (needle, errors)
    return out.stdout


def test_committed_baselines_are_valid(tmp_path: Path) -> None:
    text, recon = _copy(tmp_path, "text-256"), _copy(tmp_path, "recon-256")
    out = cli(tmp_path / "submission")
    assert out.exit_code == 0, out.output
    assert f"{text}: valid" in out.stdout and f"{recon}: valid" in out.stdout
    assert "2 result file(s): 2 valid, 0 invalid" in out.stderr


def test_a_v3_result_with_intervals_is_valid(tmp_path: Path) -> None:
    path = _copy(tmp_path, "recon-256")
    _upgrade_to_v3(path)
    out = cli(path)
    assert out.exit_code == 0, out.output
    assert "not bound" not in out.stdout  # /3 binds its records by sha256


def test_edited_aggregate_is_invalid_naming_the_metric(tmp_path: Path) -> None:
    path = _copy(tmp_path, "text-256")
    _edit(path, lambda d: d["metrics"].update(t_acc=d["metrics"]["t_acc"] + 0.01))
    _fails(path, "metric t_acc: the file states")


def test_edited_bucket_mean_is_invalid(tmp_path: Path) -> None:
    path = _copy(tmp_path, "text-256")
    _edit(path, lambda d: d["buckets"]["small"].update(n=57))
    _fails(path, "buckets small.n: the file states 57, its records give 56")


@pytest.mark.parametrize("rebind", [False, True], ids=["records-only", "sha256-rewritten-too"])
def test_edited_record_is_invalid(tmp_path: Path, rebind: bool) -> None:
    path = _copy(tmp_path, "recon-256")
    _upgrade_to_v3(path)
    _edit_records(path, lambda rs: rs[0].update(psnr=rs[0]["psnr"] + 5.0), rebind)
    # without the new sha256 the records are not the result's; with it, the mean no longer follows
    _fails(path, "sha256 differs" if not rebind else "metric psnr: the file states")


def _downgrade_to_v1(path: Path) -> None:
    """The baseline as a ``tokbench.result/1`` file: no declarations, no records' sha256, no intervals."""

    def strip(doc: dict[str, Any]) -> None:
        doc["schema"] = "tokbench.result/1"
        for key in ("metric_specs", "instances_sha256", "intervals"):
            doc.pop(key, None)

    _edit(path, strip)


def test_edited_record_in_a_v1_result_changes_the_first_bucket_metric(tmp_path: Path) -> None:
    path = _copy(tmp_path, "text-256")
    _downgrade_to_v1(path)
    _edit_records(path, lambda rs: rs[0].update(acc=0.0, ned=0.0), rebind=False)  # record 0 is a large-bucket hit
    _fails(path, "metric t_acc_large: the file states")


def test_edited_interval_is_invalid(tmp_path: Path) -> None:
    path = _copy(tmp_path, "recon-256")
    _upgrade_to_v3(path)
    _edit(
        path, lambda d: d["intervals"]["metrics"]["ssim"].update(high=d["intervals"]["metrics"]["ssim"]["high"] + 0.01)
    )
    _fails(path, "intervals.metrics.ssim.high: the file states")


def test_swapped_dataset_hash_is_invalid(tmp_path: Path) -> None:
    path = _copy(tmp_path, "text-256")
    _edit(path, lambda d: d["dataset"]["identity"].update(annotations_sha256="0" * 64))
    _fails(path, "dataset 'samples': identity annotations_sha256 is '000")


def test_custom_set_renamed_to_an_official_name_is_invalid(tmp_path: Path) -> None:
    path = _copy(tmp_path, "recon-256")
    _edit(path, lambda d: d["dataset"].update(name="ic13"))
    _fails(path, "dataset 'ic13': identity manifest is None, not the registered 'ic13'")


@pytest.mark.parametrize(
    ("field", "needle"),
    [
        ("tokbench.git_hash", "provenance: field tokbench.git_hash is missing"),
        ("tokbench.version", "provenance: field tokbench.version is missing"),
        ("environment.packages", "provenance: field environment.packages is missing"),
        ("suite.options", "provenance: field suite.options is missing"),
        ("protocol.resample", "provenance: field protocol.resample is missing"),
        ("model.info.weights_source", "model.info.weights_sha256 is missing"),
    ],
)
def test_missing_provenance_field_is_invalid(tmp_path: Path, field: str, needle: str) -> None:
    path = _copy(tmp_path, "recon-256")

    def drop(doc: dict[str, Any]) -> None:
        *parents, key = field.split(".")
        for p in parents:
            doc = doc[p]
        del doc[key]

    _edit(path, drop)
    _fails(path, needle)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("tok|v2", "'|'"),
        ("tok\nv2", "U+000A"),
        ('"><img src=x onerror=alert(1)>', "'<' '>'"),
        ("<script>alert(1)</script>", "'<' '>'"),
        ("tok\u202ev2", "U+202E"),
    ],
)
def test_hostile_model_name_is_invalid(tmp_path: Path, name: str, needle: str) -> None:
    path = _copy(tmp_path, "recon-256")
    _edit(path, lambda d: d["model"].update(id=name))
    out = _fails(path, "field model.id: holds", needle)
    assert "\n\n" not in out and "\u202e" not in out  # the name is not printed raw


def test_preset_needs_its_backends(tmp_path: Path) -> None:
    path = _copy(tmp_path, "text-256")  # tokbench-paper protocol, but EasyOCR
    assert cli(path).exit_code == 0
    out = cli(path, "--preset", "tokbench-paper")
    assert out.exit_code == 1 and "needs the text suite's ocr backend 'parseq', the result used 'easyocr'" in out.stdout


def test_protocol_option_that_is_not_the_protocols_is_invalid(tmp_path: Path) -> None:
    path = _copy(tmp_path, "recon-256")
    _edit(path, lambda d: d["protocol"].update(rounding="round"))
    _fails(path, "protocol 'tokbench-paper': option rounding is 'round', but 'tokbench-paper' records 'ceil'")


def test_unusable_input_is_exit_2(tmp_path: Path) -> None:
    assert cli(tmp_path / "nope").exit_code == 2
    (tmp_path / "empty").mkdir()
    out = cli(tmp_path / "empty")
    assert out.exit_code == 2 and "no tokbench result files" in out.stdout
    assert cli(tmp_path / "empty", "--format", "xml").exit_code == 2
    assert cli(tmp_path / "empty", "--preset", "nope").exit_code == 2


def test_json_and_github_formats(tmp_path: Path) -> None:
    path = _copy(tmp_path, "recon-256")
    _edit(path, lambda d: d["model"].update(id="a,b:%\nc"))
    out = cli(path, "--format", "json")
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    assert doc["schema"] == "tokbench.validation/1" and doc["exit_code"] == 1 and not doc["valid"]
    assert any(f["check"] == "names" for f in doc["results"][0]["findings"])
    out = cli(path, "--format", "github")
    assert out.exit_code == 1
    lines = out.stdout.splitlines()
    error = next(line for line in lines if line.startswith("::error file="))
    assert "title=tokbench validate (names)::" in error
    assert all(line.startswith("::") or "result file(s)" in line for line in lines)  # a name cannot start a line
