"""The code's git hash in results: dirty only when code changed, not when results/ did."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tokbench.record import git_hash


def test_results_written_into_the_checkout_do_not_make_it_dirty(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "r.json").write_text("{}\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    clean = git_hash(tmp_path)
    assert clean is not None and len(clean) == 40
    (tmp_path / "results" / "r.json").write_text('{"rfid": 1}\n')
    assert git_hash(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_hash(tmp_path) == clean + "-dirty"
