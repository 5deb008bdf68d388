"""Fault injection: concurrent runs, write failures, broken backends, fuzzed annotations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokbench import results as results_mod
from tokbench.data.annotations import BadAnnotations, read_annotations
from tokbench.registry import SUITES
from tokbench.results import read_result
from tokbench.runner import RunConfig, RunError, Runner, run
from tokbench.suite import Suite


def cfg(tmp_path: Path, images: Path, model: str = "jpeg:quality=30", **kw) -> RunConfig:
    kw = {"output_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "cache"), **kw}
    return RunConfig(model=model, suites=kw.pop("suites", ["recon"]), dataset="folder", images=str(images), **kw)


def test_result_write_failure_is_clear_and_keeps_earlier_results(tmp_path, image_folder, monkeypatch) -> None:
    [first] = run(cfg(tmp_path, image_folder))
    before = first.read_bytes()

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results_mod, "atomic_write_bytes", disk_full)
    with pytest.raises(RunError, match="cannot write the result .*No space left on device"):
        run(cfg(tmp_path, image_folder, suite_options={"recon": {"color": "y"}}))
    assert first.read_bytes() == before


def test_cache_write_failure_is_clear(tmp_path, image_folder, monkeypatch) -> None:
    from tokbench import cache

    def read_only(path: Path, data: bytes) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(cache, "atomic_write_bytes", read_only)
    with pytest.raises(RunError, match="cannot write to the cache .*Read-only file system"):
        run(cfg(tmp_path, image_folder))


class BrokenBackendSuite(Suite):
    name = "broken-backend"

    def setup(self, device: str) -> None:
        raise RuntimeError("OCR model file craft.pth is missing")


def test_backend_failing_to_load_stops_before_any_tokenizer_work(tmp_path, image_folder) -> None:
    SUITES._entries.pop("broken-backend", None)
    SUITES.register("broken-backend", BrokenBackendSuite)
    try:
        runner = Runner(cfg(tmp_path, image_folder, suites=["recon", "broken-backend"]))
        with pytest.raises(RuntimeError, match="craft.pth"):
            runner.run()
        assert runner.tokenizer_calls == 0 and not (tmp_path / "cache" / "recon").exists()
    finally:
        SUITES._entries.pop("broken-backend", None)


def test_impossible_resolution_is_refused_before_work(tmp_path, image_folder) -> None:
    adapter = tmp_path / "fixed.py"
    adapter.write_text(
        textwrap.dedent("""
        from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo
        class Fixed(Tokenizer):
            info = TokenizerInfo(name="fixed", family="t", kind="continuous", native_size=256)
            def encode(self, x): return Encoded(latents=x)
            def decode(self, e): return e.latents
    """)
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokbench",
            "run",
            "--model",
            f"{adapter}:Fixed",
            "--suite",
            "recon",
            "--dataset",
            "folder",
            "--images",
            str(image_folder),
            "--resolution",
            "512",
            "--output-dir",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and "only takes 256x256" in out.stderr and "Traceback" not in out.stderr


SLOW = textwrap.dedent("""
    import time
    from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo
    class Slow(Tokenizer):
        info = TokenizerInfo(name="slow", family="t", kind="continuous")
        def encode(self, x):
            time.sleep(0.4)
            return Encoded(latents=x)
        def decode(self, e): return e.latents
""")


def test_two_runs_on_one_output_folder_wait_for_each_other(tmp_path, image_folder) -> None:
    (tmp_path / "slow.py").write_text(SLOW)
    cmd = [
        sys.executable,
        "-m",
        "tokbench",
        "run",
        "--model",
        f"{tmp_path / 'slow.py'}:Slow",
        "--suite",
        "recon",
        "--dataset",
        "folder",
        "--images",
        str(image_folder),
        "--batch-size",
        "1",
        "--output-dir",
        str(tmp_path / "o"),
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline and not (tmp_path / "o" / ".tokbench.lock").exists():
        time.sleep(0.05)
    time.sleep(0.5)
    second = subprocess.run(cmd, capture_output=True, text=True)
    first.communicate()
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert "in use by another tokbench run" in second.stderr
    [path] = list((tmp_path / "o").rglob("recon-256.json"))
    json.loads(path.read_text())
    assert read_result(path)["counts"]["images_used"] == 4


record = st.fixed_dictionaries(
    {},
    optional={
        "file_name": st.one_of(st.text(max_size=8), st.integers(), st.none()),
        "height": st.one_of(st.integers(-5, 5000), st.floats(allow_nan=True), st.none()),
        "width": st.one_of(st.integers(-5, 5000), st.text(max_size=3)),
        "annotations": st.one_of(
            st.lists(
                st.dictionaries(
                    st.sampled_from(["rec", "bbox", "ratio"]),
                    st.one_of(st.text(max_size=5), st.floats(allow_nan=True), st.lists(st.integers(-9, 9), max_size=9)),
                ),
                max_size=3,
            ),
            st.text(max_size=3),
            st.none(),
        ),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(record, st.integers(), st.text(max_size=4)), max_size=6))
def test_annotation_reader_never_crashes(tmp_path_factory, data) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "ann.json"
    path.write_text(json.dumps(data))
    try:
        records, skipped = read_annotations(path, "tokbench-text")
    except BadAnnotations:
        return
    assert len(records) + len(skipped) == len(data)
    assert all(isinstance(r.file_name, str) and r.file_name for r in records)


@pytest.mark.parametrize("seed", [0, 1])
def test_sigkill_at_random_points_resumes_exactly(tmp_path, image_folder, seed) -> None:
    import random
    import signal

    (tmp_path / "slow.py").write_text(SLOW.replace("0.4", "0.25"))
    cmd = [
        sys.executable,
        "-m",
        "tokbench",
        "run",
        "--model",
        f"{tmp_path / 'slow.py'}:Slow",
        "--suite",
        "recon",
        "--dataset",
        "folder",
        "--images",
        str(image_folder),
        "--batch-size",
        "1",
        "--resolution",
        "64,128",
        "--output-dir",
        str(tmp_path / "o"),
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    ref = subprocess.run(
        [*cmd[:-4], "--output-dir", str(tmp_path / "ref"), "--cache-dir", str(tmp_path / "rc")],
        capture_output=True,
        text=True,
    )
    assert ref.returncode == 0, ref.stderr
    rng = random.Random(seed)
    kills = 0
    for _ in range(2):  # two kills at random moments, then a clean finish
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 6.0))  # python + torch start-up is about 3 s here
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    for res in (64, 128):
        [a] = list((tmp_path / "o").rglob(f"recon-{res}.json"))
        [b] = list((tmp_path / "ref").rglob(f"recon-{res}.json"))
        assert read_result(a)["metrics"] == read_result(b)["metrics"]
        assert a.with_suffix(".jsonl").read_text() == b.with_suffix(".jsonl").read_text()
    assert not list(tmp_path.rglob("*.tmp"))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 300),
    st.sampled_from([8, 64, 256]),
    st.sampled_from(["tokbench-paper", "center-crop"]),
)
def test_any_image_shape_round_trips_through_the_protocol(h: int, w: int, size: int, name: str) -> None:
    import numpy as np

    from tokbench.protocol import Protocol

    proto = Protocol(name)
    img = np.random.default_rng(h * 1000 + w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    canvas, placement = proto.prepare(img, size)
    assert canvas.shape == (size, size, 3) and canvas.dtype == np.uint8
    assert proto.restore(canvas, placement, img).shape == img.shape
