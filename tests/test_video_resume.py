"""A video run killed with SIGKILL part-way resumes to exactly the numbers of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_video import clip

from tokbench.results import read_instances, read_result
from tokbench.video.io import write_lossless

pytest.importorskip("av")

SLOW_VIDEO = textwrap.dedent("""
    import time
    from tokbench.tokenizer import Encoded
    from tokbench.video.contract import FrameRule, VideoTokenizer, VideoTokenizerInfo

    class SlowVideo(VideoTokenizer):
        def __init__(self, delay=0.0):
            self.delay = float(delay)
            self.info = VideoTokenizerInfo("slow-video", "test", "continuous", frames=FrameRule(4, 1))

        def encode(self, clips):
            time.sleep(self.delay)
            return Encoded(latents=(clips * 15).round() / 15)

        def decode(self, enc):
            return enc.latents
""")


def cli(tmp: Path, out: str, cache: str, delay: float) -> list[str]:
    return [
        sys.executable, "-m", "tokbench", "run",
        "--model", f"{tmp / 'slow_video.py'}:SlowVideo:delay={delay}",
        "--suite", "recon,temporal",
        "--dataset", "video-folder",
        "--images", str(tmp / "videos"),
        "--resolution", "64",
        "--protocol", "tokbench-video:store=lossless",
        "--output-dir", str(tmp / out),
        "--cache-dir", str(tmp / cache),
    ]  # fmt: skip


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    (tmp_path / "slow_video.py").write_text(SLOW_VIDEO)
    for k, frames in enumerate((7, 9, 5, 6)):  # padded to 9, 9, 5, 9 by the 1 + 4k rule
        write_lossless(tmp_path / "videos" / f"c{k}.mkv", clip(frames, 48, 64, seed=k), 16.0)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    subprocess.run(cli(tmp_path, "ref", "ref-cache", 0.0), check=True, env=env, capture_output=True)
    # the delay is part of the model id: kill a delay=1.0 run and resume it with the same delay
    cmd = cli(tmp_path, "out", "cache", 1.0)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clips = tmp_path / "cache" / "video-recon"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(clips.rglob("*.npz"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(clips.rglob("*.npz")))
    assert 2 <= done_before < 4, "the kill must land mid-run"
    assert not list((tmp_path / "out").rglob("*.json")), "no result file may exist for an unfinished run"
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    for suite in ("recon", "temporal"):
        [resumed] = list((tmp_path / "out").rglob(f"{suite}-64.json"))
        [ref] = list((tmp_path / "ref").rglob(f"{suite}-64.json"))
        a, b = read_result(resumed), read_result(ref)
        assert json.dumps(a["metrics"], sort_keys=True) == json.dumps(b["metrics"], sort_keys=True)
        assert a["counts"] == b["counts"] and read_instances(resumed) == read_instances(ref)
        assert a["cache"]["video_recon"]["hits"] == done_before  # the finished clips were not redone
        assert a["run"]["tokenizer_calls"] == 4 - done_before
        assert [c["padded_to"] for c in a["extra"]["video"]["per_clip"]] == [[9], [9], [5], [9]]
    assert not list(tmp_path.rglob("*.tmp")), "no partial files left behind"
