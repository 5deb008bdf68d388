"""A run killed with SIGKILL resumes and ends with exactly the numbers of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tokbench.results import read_instances, read_result

SLOW_ADAPTER = textwrap.dedent("""
    import time
    from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo

    class Slow(Tokenizer):
        def __init__(self, delay=0.0):
            self.delay = delay
            self.info = TokenizerInfo(name="slow", family="test", kind="continuous")

        def encode(self, images):
            time.sleep(self.delay)
            return Encoded(latents=(images * 15).round() / 15)

        def decode(self, enc):
            return enc.latents
""")


def cli(tmp: Path, images: Path, out: str, cache: str, delay: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tokbench",
        "run",
        "--model",
        f"{tmp / 'slow.py'}:Slow:delay={delay}",
        "--suite",
        "recon",
        "--dataset",
        "folder",
        "--images",
        str(images),
        "--batch-size",
        "1",
        "--output-dir",
        str(tmp / out),
        "--cache-dir",
        str(tmp / cache),
        "--workers",
        "1",
    ]


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path, image_folder: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW_ADAPTER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    subprocess.run(cli(tmp_path, image_folder, "ref", "ref-cache", 0.0), check=True, env=env, capture_output=True)
    reference = tmp_path / "ref" / "slow.Slow_delay=0.0"
    # delay is part of the model id, so give the resumed run the same id by killing a delay=0.6 run and
    # resuming it with the same delay
    cmd = cli(tmp_path, image_folder, "out", "cache", 0.6)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "cache" / "recon").rglob("*.npz"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((tmp_path / "cache" / "recon").rglob("*.npz")))
    assert 2 <= done_before < 4, "the kill must land mid-run"
    assert not list((tmp_path / "out").rglob("*.json")), "no result file may exist for an unfinished run"
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    [resumed] = list((tmp_path / "out").rglob("recon-256.json"))
    [ref] = list(reference.rglob("recon-256.json"))
    a, b = read_result(resumed), read_result(ref)
    assert a["metrics"] == b["metrics"]
    assert read_instances(resumed) == read_instances(ref)
    assert a["cache"]["recon"]["hits"] == done_before
    assert not list(tmp_path.rglob("*.tmp")), "no partial files left behind"
