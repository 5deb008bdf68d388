"""torchrun with 2 CPU processes (gloo) gives exactly the single-process result."""

from __future__ import annotations

import os
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
    args = [
        "run",
        "--model",
        "kmeans-vq:p=8,K=16,iters=3",
        "--suite",
        "recon",
        "--dataset",
        "folder",
        "--images",
        str(image_folder),
        "--batch-size",
        "1",
        "--resolution",
        "64",
    ]
    single = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokbench",
            *args,
            "--output-dir",
            str(tmp_path / "one"),
            "--cache-dir",
            str(tmp_path / "c1"),
        ],
        capture_output=True,
        text=True,
    )
    assert single.returncode == 0, single.stderr
    with socket.socket() as sock:  # a free port, so parallel test runs do not collide
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    multi = subprocess.run(
        [
            "torchrun",
            "--nproc-per-node",
            "2",
            "--master-port",
            port,
            "-m",
            "tokbench",
            *args,
            "--output-dir",
            str(tmp_path / "two"),
            "--cache-dir",
            str(tmp_path / "c2"),
        ],
        capture_output=True,
        text=True,
    )
    assert multi.returncode == 0, multi.stderr
    [a] = list((tmp_path / "one").rglob("recon-64.json"))
    [b] = list((tmp_path / "two").rglob("recon-64.json"))
    ra, rb = read_result(a), read_result(b)
    assert ra["metrics"] == rb["metrics"] and ra["counts"] == rb["counts"]
    assert read_instances(a) == read_instances(b)
    assert rb["run"]["world_size"] == 2


def _torchrun(args: list[str]) -> subprocess.CompletedProcess[str]:
    with socket.socket() as sock:  # a free port, so parallel test runs do not collide
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    return subprocess.run(
        ["torchrun", "--nproc-per-node", "2", "--master-port", port, "-m", "tokbench", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow
def test_two_ranks_on_samples_resume_and_equal_one(tmp_path: Path) -> None:
    """text, face, recon and fid on the samples: two ranks resuming a half-done cache give the 1-process result."""
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun not on PATH")
    args = [
        "run",
        "--model",
        "jpeg:quality=20",
        "--suite",
        "text,face,recon,fid",
        "--dataset",
        "samples",
        "--resolution",
        "256",
        "--suite-arg",
        "recon:lpips=none",
    ]
    # torchrun gives each rank one thread, and CPU convolutions round differently with other thread
    # counts (rFID moves by ~1e-9 relative): compare under the same numeric environment
    one_thread = {**os.environ, "OMP_NUM_THREADS": "1"}
    single = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokbench",
            *args,
            "--output-dir",
            str(tmp_path / "one"),
            "--cache-dir",
            str(tmp_path / "c1"),
        ],
        capture_output=True,
        text=True,
        env=one_thread,
    )
    assert single.returncode == 0, single.stderr
    n_images = len(list((tmp_path / "c1" / "recon").rglob("*.npz")))
    # an interrupted earlier run: the first 10 images are already reconstructed and scored
    partial = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokbench",
            *args,
            "--limit",
            "10",
            "--output-dir",
            str(tmp_path / "partial"),
            "--cache-dir",
            str(tmp_path / "c2"),
        ],
        capture_output=True,
        text=True,
        env=one_thread,
    )
    assert partial.returncode == 0, partial.stderr
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "c2" / "recon").rglob("*.npz")}
    assert len(before) == 10
    multi = _torchrun([*args, "--output-dir", str(tmp_path / "two"), "--cache-dir", str(tmp_path / "c2")])
    assert multi.returncode == 0, multi.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "c2" / "recon").rglob("*.npz")}
    assert len(after) == n_images == 30  # every image reconstructed once across the ranks
    assert all(after[name] == t for name, t in before.items())  # the finished ones were not redone
    for suite in ("text", "face", "recon", "fid"):
        [a] = list((tmp_path / "one").rglob(f"{suite}-256.json"))
        [b] = list((tmp_path / "two").rglob(f"{suite}-256.json"))
        ra, rb = read_result(a), read_result(b)
        assert ra["metrics"] == rb["metrics"], suite
        assert ra["counts"] == rb["counts"], suite
        assert read_instances(a) == read_instances(b), suite
        assert rb["run"]["world_size"] == 2
    # each original's Inception features computed once in all, whichever rank or earlier run did it
    ref = [
        read_result(next((tmp_path / d).rglob("fid-256.json")))["extra"]["reference_features"] for d in ("one", "two")
    ]
    assert ref[0] == ref[1] == {"computed": 30, "cached": 0, "damaged_recomputed": 0}
