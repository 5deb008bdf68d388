"""benchmarks/rfid_papers.py: the dry run checks every command here; the check itself can fail."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "rfid_papers.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rfid_papers", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_dry_run_prints_checked_commands_and_expectations(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load()
    assert bench.main(["--dry-run", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "expect rFID 2.19 ± 3%" in out and "--protocol adm-crop" in out and "fid:preset=imagenet256-adm" in out
    assert "expect rFID 2.21 ± 5%" in out and "--protocol torchvision-crop" in out
    with pytest.raises(SystemExit):
        bench.main(["--dry-run", "--only", "nope"])


def test_check_refuses_a_broken_target() -> None:
    bench = _load()
    good = bench.TARGETS["llamagen-vq16"]
    for change in ({"protocol": "adm"}, {"fid_options": {"preset": "imagenet-256"}}, {"model": "llamagen:variant=X"}):
        with pytest.raises(ValueError):
            bench.check(dataclasses.replace(good, **change))


def test_tolerance_and_result_reading(tmp_path: Path) -> None:
    bench = _load()
    target = bench.TARGETS["llamagen-vq16"]
    assert target.met(2.19 * 1.029) and target.met(2.19 * 0.971) and not target.met(2.19 * 1.031)
    out = tmp_path / "llamagen-vq16" / "llamagen_variant=VQ-16" / "imagenet-val"
    out.mkdir(parents=True)
    (out / "fid-256.json").write_text(json.dumps({"metrics": {"rfid": 2.2}}))
    assert bench.rfid_of(tmp_path / "llamagen-vq16") == 2.2
