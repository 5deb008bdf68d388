"""torchrun with 2 CPU processes (gloo) gives exactly the single-process result."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tokbench.results import read_instances, read_result


@pytest.mark.slow
def test_two_ranks_equal_one(tmp_path: Path, image_folder: Path) -> None:
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun not on PATH")
    args = ["run", "--model", "kmeans-vq:p=8,K=16,iters=3", "--suite", "recon", "--dataset", "folder",
            "--images", str(image_folder), "--batch-size", "1", "--resolution", "64"]
    single = subprocess.run([sys.executable, "-m", "tokbench", *args, "--output-dir", str(tmp_path / "one"),
                             "--cache-dir", str(tmp_path / "c1")], capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    with socket.socket() as sock:  # a free port, so parallel test runs do not collide
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    multi = subprocess.run(["torchrun", "--nproc-per-node", "2", "--master-port", port, "-m", "tokbench", *args,
                            "--output-dir", str(tmp_path / "two"), "--cache-dir", str(tmp_path / "c2")],
                           capture_output=True, text=True)
    assert multi.returncode == 0, multi.stderr
    [a] = list((tmp_path / "one").rglob("recon-64.json"))
    [b] = list((tmp_path / "two").rglob("recon-64.json"))
    ra, rb = read_result(a), read_result(b)
    assert ra["metrics"] == rb["metrics"] and ra["counts"] == rb["counts"]
    assert read_instances(a) == read_instances(b)
    assert rb["run"]["world_size"] == 2
