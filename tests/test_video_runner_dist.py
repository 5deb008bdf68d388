"""torchrun with 2 CPU processes (gloo) on a video dataset gives exactly the single-process result."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import write_ocr
from test_video import clip

from tokbench.results import read_instances, read_result
from tokbench.video.io import write_lossless
from tokbench.video.samples import _plate

pytest.importorskip("av")


def folder(root: Path) -> Path:
    """Three clips (an uneven split over two ranks), text on every other frame of two of them."""
    videos = root / "videos"
    records = []
    for k, (name, frames) in enumerate((("a", 9), ("b", 6), ("c", 5))):
        shown = clip(frames, 64, 96, seed=k)
        for t in range(0, frames, 2) if name != "c" else ():
            ann = _plate(shown[t], "Sign", 12, 8 + 4 * k, 6 + 3 * t)
            records.append({"file_name": f"{name}-frame{t + 1}.jpg", "video_name": name, "annotations": [ann]})
        write_lossless(videos / f"{name}.mkv", shown, 16.0)
    (root / "text_abc.json").write_text(json.dumps(records))
    return videos


@pytest.mark.slow
def test_two_ranks_equal_one(tmp_path: Path) -> None:
    videos = folder(tmp_path)
    ocr = write_ocr(tmp_path, "one-word", '"Sign"')
    args = [
        "run", "--model", "jpeg:quality=20", "--suite", "text,recon,temporal",
        "--dataset", str(tmp_path / "text_abc.json"), "--images", str(videos), "--resolution", "64",
        "--batch-size", "4", "--protocol", "tokbench-video:store=lossless",
        "--suite-arg", f"text:ocr={ocr},edges=0.01/0.02/0.03",
    ]  # fmt: skip
    # lossless storage: the test is about sharding; the reference store's H.264 step has its own
    # determinism test (test_video_io)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # torchrun's thread count in both runs
    one = [sys.executable, "-m", "tokbench", *args, "--output-dir", str(tmp_path / "one")]
    single = subprocess.run([*one, "--cache-dir", str(tmp_path / "c1")], capture_output=True, text=True, env=env)
    assert single.returncode == 0, single.stderr
    with socket.socket() as sock:  # a free port, so parallel test runs do not collide
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    # torch's own launcher module, so the ranks run this interpreter (the torchrun script may be another's)
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", port]
    two = [*launch, "-m", "tokbench", *args, "--output-dir", str(tmp_path / "two"), "--cache-dir", str(tmp_path / "c2")]
    multi = subprocess.run(two, capture_output=True, text=True, env=env)
    assert multi.returncode == 0, multi.stderr
    assert len(list((tmp_path / "c2" / "video-recon").rglob("*.npz"))) == 3  # each clip once, by one rank
    for suite in ("text", "recon", "temporal"):
        [a] = list((tmp_path / "one").rglob(f"{suite}-64.json"))
        [b] = list((tmp_path / "two").rglob(f"{suite}-64.json"))
        ra, rb = read_result(a), read_result(b)
        assert json.dumps(ra["metrics"], sort_keys=True) == json.dumps(rb["metrics"], sort_keys=True), suite
        assert ra["counts"] == rb["counts"], suite
        assert read_instances(a) == read_instances(b), suite
        assert ra["extra"]["video"]["per_clip"] == rb["extra"]["video"]["per_clip"], suite
        assert rb["run"]["world_size"] == 2
    text = read_result(next((tmp_path / "two").rglob("text-64.json")))
    assert text["counts"]["instances_used"] == 8  # a: frames 1,3,5,7,9; b: 1,3,5
    assert read_result(next((tmp_path / "two").rglob("recon-64.json")))["extra"]["video"]["frames_per_call"] == 4


def test_each_rank_runs_on_its_own_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Image and video runs choose the device alike: under torchrun, ``cuda`` is the rank's LOCAL_RANK GPU."""
    from tokbench.build import run_device
    from tokbench.video.config import VideoRunConfig

    def device(given: str) -> str:
        return run_device(VideoRunConfig(model="identity", suites=["recon"], dataset="video-samples", device=given))

    monkeypatch.setenv("LOCAL_RANK", "3")
    assert device("cuda") == "cuda:3" and device("cpu") == "cpu"
    monkeypatch.delenv("LOCAL_RANK")
    assert device("cuda") == "cuda"
