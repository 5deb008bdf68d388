"""The command line as a user meets it (subprocesses, like a shell)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tokbench.results import read_result


def tokbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tokbench", *args], capture_output=True, text=True, cwd=cwd)


def test_help_is_instant() -> None:
    tokbench("--help")  # warm the filesystem cache
    t = time.perf_counter()
    out = tokbench("--help")
    assert time.perf_counter() - t < 1.0
    assert out.returncode == 0 and "run" in out.stdout


def test_list_shows_builtins() -> None:
    out = tokbench("list")
    assert out.returncode == 0
    for name in ("identity", "jpeg", "webp", "avif", "jpeg2000", "kmeans-vq", "recon", "samples", "ic13", "taef2"):
        assert name in out.stdout
    for name in ("h264", "wan2.1", "temporal", "video-samples"):  # video-only names, marked as such
        assert name in out.stdout


def test_typo_in_model_name_suggests_the_right_one(tmp_path: Path) -> None:
    out = tokbench("run", "--model", "jpge", "--suite", "recon", "--output-dir", str(tmp_path))
    assert out.returncode == 1
    assert "Did you mean 'jpeg'" in out.stderr and "Traceback" not in out.stderr


def test_unknown_suite_and_bad_values_are_one_line_errors(tmp_path: Path) -> None:
    for args in (["--suite", "recno"], ["--resolution", "abc"], ["--precision", "fp8"], ["--protocol", "x"]):
        out = tokbench("run", "--model", "jpeg", *args, "--output-dir", str(tmp_path))
        assert out.returncode != 0, args
        assert "Traceback" not in out.stderr and "error" in out.stderr.lower(), (args, out.stderr)


def test_run_on_a_folder_writes_a_valid_result(tmp_path: Path, image_folder: Path) -> None:
    out = tokbench(
        "run",
        "--model",
        "jpeg:quality=5,down=4",
        "--suite",
        "recon",
        "--dataset",
        "folder",
        "--images",
        str(image_folder),
        "--output-dir",
        str(tmp_path / "out"),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    [summary] = json.loads(out.stdout)
    res = read_result(Path(summary["file"]))
    assert res["model"]["id"] == "jpeg:down=4,quality=5" and res["counts"]["images_used"] == 4
    assert 10 < res["metrics"]["psnr"] < 40


def test_readme_adapter_example_runs(tmp_path: Path, image_folder: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("```python\n# my_tok.py", 1)[1].split("```", 1)[0]
    (tmp_path / "my_tok.py").write_text("# my_tok.py" + block)
    out = tokbench(
        "run",
        "--model",
        f"{tmp_path / 'my_tok.py'}:AvgPoolTokenizer:factor=8",
        "--suite",
        "recon",
        "--dataset",
        "folder",
        "--images",
        str(image_folder),
        "--output-dir",
        str(tmp_path / "o"),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    [summary] = json.loads(out.stdout)
    assert summary["model"] == "my_tok.AvgPoolTokenizer:factor=8" and summary["metrics"]["psnr"] > 10


def test_run_on_the_embedded_samples(tmp_path: Path) -> None:
    out = tokbench(
        "run",
        "--model",
        "jpeg",
        "--suite",
        "recon",
        "--limit",
        "3",
        "--output-dir",
        str(tmp_path),
        "--suite-arg",
        "recon:lpips=none",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    [summary] = json.loads(out.stdout)
    assert summary["dataset"] == "samples" and summary["counts"]["images_used"] == 3
