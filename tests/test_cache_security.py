"""Caches that cannot go stale or run code (issue #23, items 1-3 and 11): each test reproduces an observation."""

from __future__ import annotations

import hashlib
import importlib
import os
import pickle
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tokbench.cache import decode_records, encode_records, sweep_stale_temp_files, temp_path
from tokbench.families import weights
from tokbench.fingerprint import code_fingerprint
from tokbench.results import read_result
from tokbench.runner import RunConfig, RunError, Runner, run
from tokbench.tokenizer import WeightsUnavailable

AVGPOOL = textwrap.dedent("""
    import torch.nn.functional as F
    from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo

    class AvgPoolTokenizer(Tokenizer):
        def __init__(self, factor=8):
            self.factor = int(factor)
            self.info = TokenizerInfo(name="avgpool", family="example", kind="continuous", size_multiple=8)

        def encode(self, images):
            return Encoded(latents=F.avg_pool2d(images, self.factor))

        def decode(self, encoded):
            return F.interpolate(encoded.latents, scale_factor=self.factor, mode="{mode}").clamp(0, 1)
""")


def _config(tmp_path: Path, images: Path, model: str, suites: list[str] | None = None, **kw) -> RunConfig:
    kw = {"output_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "cache"), "batch_size": 2, **kw}
    return RunConfig(model=model, suites=suites or ["recon"], dataset="folder", images=str(images), **kw)


def _psnr_and_calls(cfg: RunConfig) -> tuple[float, int, dict]:
    runner = Runner(cfg)
    [path] = runner.run()
    res = read_result(path)
    return res["metrics"]["psnr"], runner.tokenizer_calls, res


def test_editing_a_file_adapter_is_never_scored_from_the_old_cache(tmp_path: Path, image_folder: Path) -> None:
    # observed: after editing decode, the same cache gave the old PSNR with no tokenizer call
    tok = tmp_path / "my_tok.py"
    tok.write_text(AVGPOOL.format(mode="bilinear"))
    cfg = _config(tmp_path, image_folder, f"{tok}:AvgPoolTokenizer", suite_options={"recon": {"lpips": "none"}})
    before, calls, res = _psnr_and_calls(cfg)
    assert calls > 0 and "my_tok.py" in res["model"]["code"]["adapter"]["files"]
    assert res["model"]["code"]["reconstruction"]["files"]["tokbench.reconstruct"]
    again, calls_again, _ = _psnr_and_calls(cfg)
    assert (again, calls_again) == (before, 0)  # unchanged code: all cache hits
    tok.write_text(AVGPOOL.format(mode="nearest"))
    after, calls_after, res_after = _psnr_and_calls(cfg)
    fresh, _, _ = _psnr_and_calls(
        _config(
            tmp_path,
            image_folder,
            cfg.model,
            cache_dir=str(tmp_path / "fresh"),
            output_dir=str(tmp_path / "o2"),
            suite_options=cfg.suite_options,
        )
    )
    assert calls_after > 0 and after == fresh != before
    assert res_after["model"]["key"] != res["model"]["key"]


def test_code_fingerprint_follows_an_edit_that_keeps_size_and_mtime(tmp_path: Path, monkeypatch) -> None:
    pkg = tmp_path / "tokpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text("SCALE = 1.0\n")
    (pkg / "tok.py").write_text(
        "from tokbench.tokenizer import Tokenizer\nfrom tokpkg.helpers import SCALE\n\n\n"
        "class Tok(Tokenizer):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("tokpkg.tok")
    first = code_fingerprint(mod.Tok)
    assert set(first["files"]) >= {"tokpkg.tok", "tokpkg.helpers", "tokbench.tokenizer"}
    helper = pkg / "helpers.py"
    st = helper.stat()
    helper.write_text("SCALE = 2.0\n")  # same size
    os.utime(helper, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime put back
    second = code_fingerprint(mod.Tok)
    assert second["sha256"] != first["sha256"]
    assert second["files"]["tokpkg.tok"] == first["files"]["tokpkg.tok"]
    for name in ("tokpkg.tok", "tokpkg.helpers", "tokpkg"):
        sys.modules.pop(name, None)


def test_weights_hash_memo_follows_an_edit_that_keeps_size_and_mtime(tmp_path: Path) -> None:
    f = tmp_path / "w.bin"
    f.write_bytes(b"a" * 64)
    first = weights.sha256_file(f)
    st = f.stat()
    f.write_bytes(b"b" * 64)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert weights.sha256_file(f) == hashlib.sha256(b"b" * 64).hexdigest() != first


class _Marker:
    """Unpickling this writes a file: the proof that a cache entry ran code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path(self.path).write_text, ("pwned",))


def test_crafted_record_cache_entries_never_run_code(tmp_path: Path, image_folder: Path) -> None:
    # observed: a crafted pickle in the record cache ran code and set PSNR from 23.54 to 60.68
    cfg = _config(tmp_path, image_folder, "jpeg:quality=20", suite_options={"recon": {"lpips": "none"}})
    honest, _, _ = _psnr_and_calls(cfg)
    entries = [p for p in (tmp_path / "cache" / "records").rglob("*") if p.is_file()]
    assert entries
    marker = tmp_path / "marker.txt"
    payload = pickle.dumps(
        [{"image_id": "x", "psnr": 60.68, "mse": 0.0, "n_values": 1, "ssim": 1.0, "hook": _Marker(str(marker))}]
    )
    for p in entries:
        p.write_bytes(hashlib.sha256(payload).digest() + payload)  # the old format's checksum, made to match
    runner = Runner(cfg)
    [path] = runner.run()
    assert not marker.exists()
    assert read_result(path)["metrics"]["psnr"] == honest
    assert runner.record_cache.stats.to_dict()["corrupt_recomputed"] == len(entries)


def test_record_arrays_holding_objects_are_refused() -> None:
    import io

    buf = io.BytesIO()
    np.savez(buf, records=np.frombuffer(b"[]", dtype=np.uint8), a0=np.array([_Marker("/nonexistent")], dtype=object))
    with pytest.raises(ValueError):
        decode_records(buf.getvalue())
    with pytest.raises(TypeError):
        encode_records([{"x": np.array([object()], dtype=object)}])


def test_records_round_trip_as_data() -> None:
    records = [
        {
            "image_id": "a",
            "v": np.float32(0.1),
            "t": (1, 2),
            "arr": np.arange(5, dtype=np.float32),
            "nested": {"n": None, "ok": True, "s": "é"},
        }
    ]
    back = decode_records(encode_records(records))
    assert back[0]["v"] == float(np.float32(0.1)) and back[0]["t"] == [1, 2] and back[0]["nested"]["s"] == "é"
    np.testing.assert_array_equal(back[0]["arr"], records[0]["arr"])
    data = bytearray(encode_records(records))
    data[len(data) // 2] ^= 1
    with pytest.raises(ValueError):
        decode_records(bytes(data))


def test_a_cache_folder_others_can_write_is_refused_unless_shared(tmp_path: Path, image_folder: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    cfg = _config(tmp_path, image_folder, "identity", suite_options={"recon": {"lpips": "none"}}, limit=1)
    with pytest.raises(RunError, match="--shared-cache"):
        run(cfg)
    cache.chmod(0o700)
    open_parent = tmp_path / "open"
    open_parent.mkdir()
    open_parent.chmod(0o777)  # anyone could rename the cache folder away and put their own in its place
    with pytest.raises(RunError, match="writable by anyone"):
        run(_config(tmp_path, image_folder, "identity", cache_dir=str(open_parent / "c"), limit=1))
    cfg.shared_cache = True
    cache.chmod(0o777)
    [path] = run(cfg)
    assert read_result(path)["run"]["shared_cache"] is True


def test_checkpoints_with_pickled_objects_need_trust(tmp_path: Path) -> None:
    import argparse

    import torch

    f = tmp_path / "ckpt.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "args": argparse.Namespace(lr=1)}, f)
    with pytest.raises(WeightsUnavailable, match="trust_pickle=true"):
        weights.load_checkpoint(f)
    assert set(weights.load_checkpoint(f, trust_pickle=True)) == {"model", "args"}
    plain = tmp_path / "plain.pt"
    torch.save({"model": {"w": torch.ones(2)}}, plain)
    assert weights.load_checkpoint(plain)["model"]["w"].sum() == 2


def test_the_temp_sweep_only_removes_tokbench_temp_files_of_dead_writers(tmp_path: Path) -> None:
    # observed: the sweep deleted unrelated `*.<pid>.tmp` files anywhere under --output-dir
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    theirs = [tmp_path / f"notes.{dead}.tmp", tmp_path / "sub" / f".draft.{dead}.tmp"]
    for p in theirs:
        p.parent.mkdir(exist_ok=True)
        p.write_text("user data")
    ours_dead = tmp_path / f".recon-256.json.tokbench-{dead}.tmp"
    ours_dead.write_text("partial")
    ours_alive = temp_path(tmp_path / "x.json")
    ours_alive.write_text("being written")
    assert sweep_stale_temp_files(tmp_path) == 1
    assert all(p.exists() for p in theirs) and ours_alive.exists() and not ours_dead.exists()


def test_an_instances_file_from_another_run_is_flagged(tmp_path: Path, image_folder: Path) -> None:
    # observed: after an interrupted rerun an old result file sat beside new per-instance records, unflagged
    from tokbench.results import BadResult, read_instances
    from tokbench.results import write_result as real_write

    cfg = _config(tmp_path, image_folder, "jpeg:quality=20", suite_options={"recon": {"lpips": "none"}})
    [path] = run(cfg)
    assert len(read_instances(path)) == 4
    jsonl = path.with_suffix(".jsonl")

    def killed_between(p: Path, result, records) -> None:  # the JSONL lands, then the process dies
        from tokbench.cache import atomic_write_bytes
        from tokbench.results import instances_bytes

        atomic_write_bytes(p.with_suffix(".jsonl"), instances_bytes(records))
        raise KeyboardInterrupt

    import tokbench.record as record_mod

    cfg2 = _config(tmp_path, image_folder, "jpeg:quality=20", limit=2, suite_options=cfg.suite_options)
    record_mod.write_result = killed_between
    try:
        with pytest.raises(KeyboardInterrupt):
            run(cfg2)
    finally:
        record_mod.write_result = real_write
    assert len(jsonl.read_text().splitlines()) == 2  # the new records beside the old result
    with pytest.raises(BadResult, match="interrupted"):
        read_instances(path)


def test_example_crops_of_another_run_are_not_embedded(tmp_path: Path) -> None:
    import json

    from tokbench.report.collect import Entry
    from tokbench.report.embedded_examples import load_examples

    result = tmp_path / "text-256.json"
    folder = tmp_path / "text-256.examples"
    folder.mkdir()
    (folder / "index.json").write_text(json.dumps({"instances_sha256": "a" * 64, "examples": []}))
    entry = Entry(
        {"suite": {"name": "text"}, "model": {"id": "m"}, "resolution": 256, "instances_sha256": "b" * 64}, result
    )
    examples, notes = load_examples(entry)
    assert examples == [] and "another run" in notes[0]
