"""The runner end to end in-process: invariants, cache, validation, skips."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tokbench.protocol import letterbox, unletterbox
from tokbench.results import read_instances, read_result
from tokbench.runner import RunConfig, Runner, run
from tokbench.validate import AdapterError

COUNTING_ADAPTER = textwrap.dedent('''
    from pathlib import Path
    from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo

    class Counting(Tokenizer):
        """Halves contrast; counts encode calls in a file so tests can read them."""
        def __init__(self, log="calls.txt", mode="ok"):
            self.log, self.mode = Path(log), mode
            self.info = TokenizerInfo(name="counting", family="test", kind="continuous")

        def encode(self, images):
            with self.log.open("a") as f:
                f.write(f"{images.shape[0]}\\n")
            return Encoded(latents=images)

        def decode(self, enc):
            x = enc.latents * 0.5 + 0.25
            if self.mode == "nan":
                x[0, 0, 0, 0] = float("nan")
            if self.mode == "shape":
                x = x[:, :, :-1]
            if self.mode == "range":
                x = x * 4
            if self.mode == "count":
                x = x[:-1]
            if self.mode == "raise":
                raise RuntimeError("boom")
            return x
''')


@pytest.fixture
def adapter_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_tok.py"
    path.write_text(COUNTING_ADAPTER)
    return path


def config(tmp_path: Path, images: Path, model: str, suites: list[str] | None = None, **kw) -> RunConfig:
    kw = {"output_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "cache"), "batch_size": 2, **kw}
    return RunConfig(model=model, suites=suites or ["recon"], dataset="folder", images=str(images), **kw)


def calls(log: Path) -> int:
    return sum(int(x) for x in log.read_text().split()) if log.exists() else 0


def test_identity_scores_perfectly_on_canvas_and_pure_resize_loss_after_restore(tmp_path, image_folder) -> None:
    canvas_cfg = config(tmp_path, image_folder, "identity", suite_options={"recon": {"where": "canvas"}})
    [path] = run(canvas_cfg)
    res = read_result(path)
    assert res["metrics"]["psnr"] == 100.0 and res["metrics"]["ssim"] == pytest.approx(1.0)
    [path] = run(config(tmp_path, image_folder, "identity", output_dir=str(tmp_path / "out2")))
    rows = {r["image_id"]: r for r in read_instances(path)}
    for file in sorted(image_folder.iterdir()):
        img = np.asarray(Image.open(file).convert("RGB"))
        canvas, p = letterbox(img, 256)
        back = unletterbox(canvas, p).astype(np.float64)
        mse = float(np.mean((back - img) ** 2))
        expected = 100.0 if mse == 0 else 10 * np.log10(255**2 / mse)
        assert rows[file.name]["psnr"] == pytest.approx(expected, abs=1e-9)


def test_second_suite_calls_the_tokenizer_zero_times(tmp_path, image_folder, adapter_file) -> None:
    log = tmp_path / "calls.txt"
    model = f"{adapter_file}:Counting:log={log}"
    run(config(tmp_path, image_folder, model))
    assert calls(log) == 4
    runner = Runner(config(tmp_path, image_folder, model, suites=["recon"], suite_options={"recon": {"color": "y"}}))
    runner.run()
    assert calls(log) == 4 and runner.tokenizer_calls == 0
    assert runner.recon_cache.stats.hits == 4


def test_corrupted_cache_entries_are_detected_and_redone(tmp_path, image_folder, adapter_file) -> None:
    log = tmp_path / "calls.txt"
    model = f"{adapter_file}:Counting:log={log}"
    [path] = run(config(tmp_path, image_folder, model))
    first = read_result(path)["metrics"]
    entries = sorted((tmp_path / "cache" / "recon").rglob("*.npz"))
    assert len(entries) == 4
    data = entries[0].read_bytes()
    entries[0].write_bytes(data[: len(data) // 2])  # truncated
    data = bytearray(entries[1].read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    entries[1].write_bytes(bytes(data))
    runner = Runner(config(tmp_path, image_folder, model))
    [path] = runner.run()
    assert len(runner.recon_cache.stats.corrupt) == 2 and calls(log) == 4 + 2
    res = read_result(path)
    assert res["metrics"] == first and res["cache"]["recon"]["corrupt_recomputed"] == 2


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("nan", "NaN/Inf"),
        ("shape", "shape"),
        ("range", "outside [0,1]"),
        ("count", "1 images for 2 inputs"),
        ("raise", "raised RuntimeError: boom"),
    ],
)
def test_broken_adapter_fails_with_a_clear_message(tmp_path, image_folder, adapter_file, mode, message) -> None:
    cfg = config(tmp_path, image_folder, f"{adapter_file}:Counting:log={tmp_path / 'c.txt'},mode={mode}")
    with pytest.raises(AdapterError) as err:
        run(cfg)
    text = str(err.value)
    assert "adapter 'counting' failed check" in text and message in text and "img0.png" in text


def test_on_error_skip_records_images_as_skipped(tmp_path, image_folder, adapter_file) -> None:
    cfg = config(tmp_path, image_folder, f"{adapter_file}:Counting:log={tmp_path / 'c.txt'},mode=nan", on_error="skip")
    [path] = run(cfg)
    res = read_result(path)
    assert res["counts"]["images_skipped"] == {"adapter error": 4}
    assert res["counts"]["images_used"] == 0 and res["metrics"]["psnr"] is None


def test_unreadable_images_are_skipped_by_name_and_the_rest_runs(tmp_path, image_folder) -> None:
    (image_folder / "zero.png").write_bytes(b"")
    (image_folder / "junk.jpg").write_bytes(b"not an image at all")
    good = (image_folder / "img0.png").read_bytes()
    (image_folder / "truncated.png").write_bytes(good[: len(good) // 3])
    [path] = run(config(tmp_path, image_folder, "jpeg:quality=50"))
    res = read_result(path)
    assert res["counts"]["images_used"] == 4
    assert res["counts"]["images_skipped"] == {"unreadable image": 3}
    reasons = {s["image"]: s["reason"] for s in res["skipped"]}
    assert "zero.png" in reasons["zero.png"] and "empty file" in reasons["zero.png"]
    assert "junk.jpg" in reasons["junk.jpg"] and "truncated.png" in reasons["truncated.png"]


def test_result_file_is_provenance_complete(tmp_path, image_folder) -> None:
    [path] = run(config(tmp_path, image_folder, "kmeans-vq:p=8,K=16,iters=3", resolutions=[64]))
    res = read_result(path)
    assert res["model"]["info"]["weights_sha256"] and res["model"]["info"]["codebook_sizes"] == [16]
    assert res["protocol"]["name"] == "tokbench-paper" and res["protocol"]["resample"] == "lanczos"
    assert res["dataset"]["identity"]["file_list_sha256"]
    assert res["environment"]["packages"]["torch"] and res["run"]["seed"] == 0
    assert res["rate"]["bpp_mean"] == pytest.approx(4.0 / 64)  # log2(16) bits per 8x8 patch
    assert res["canvas_size"] == 64 and res["counts"]["images"] == 4
    json.loads(path.read_text())  # strict JSON (no NaN)
    assert len(read_instances(path)) == 4


def test_batch_size_does_not_change_results(tmp_path, image_folder) -> None:
    a = read_result(
        run(
            config(
                tmp_path,
                image_folder,
                "kmeans-vq:p=8,K=16,iters=3",
                batch_size=1,
                cache_dir=str(tmp_path / "c1"),
                output_dir=str(tmp_path / "o1"),
            )
        )[0]
    )
    b = read_result(
        run(
            config(
                tmp_path,
                image_folder,
                "kmeans-vq:p=8,K=16,iters=3",
                batch_size=3,
                cache_dir=str(tmp_path / "c3"),
                output_dir=str(tmp_path / "o3"),
            )
        )[0]
    )
    assert a["metrics"] == b["metrics"]


def test_an_object_outside_the_contract_is_refused(tmp_path, image_folder) -> None:
    from tokbench.errors import ContractError

    path = tmp_path / "bad.py"
    path.write_text("class NotATokenizer:\n    info = {'name': 'x'}\n    def encode(self, x): return x\n")
    with pytest.raises(ContractError, match="model contract.*TokenizerInfo"):
        run(config(tmp_path, image_folder, f"{path}:NotATokenizer"))
