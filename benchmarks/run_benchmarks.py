"""tokbench's speed and memory benchmarks; every number is a ratio measured in this one run.

    python benchmarks/run_benchmarks.py [--quick]

1. harness overhead: wall time of a ``text,face,recon`` run on the samples vs the unavoidable model work
   done in isolation on the same images (tokenizer encode+decode, OCR of the crops, face chips + embeddings,
   model loading); target <= 1.15x on CPU; ``overhead-taef2`` does the same with a real network (TAEF2's
   weights from ../shared/upstream/taesd) as the tokenizer;
2. reconstruct once: tokenizer calls of a second suite on the same model, and reference (original) FID
   features recomputed by a second model;
3. memory: peak RSS of ``text,face`` on the samples (target <= 2 GB) and on a 4x larger copy (target flat
   within 10 %);
4. cost growth: time vs N for N..8N, fitted exponent (target ~1);
5. 2 torchrun ranks vs 1 on CPU;
6. one large image: peak RSS of ``recon,text`` on one 25-megapixel PNG (5000 x 5000, 20 text boxes and one box
   over the whole image), target <= 2 GB; beside it the same run on a 1-megapixel image, so the ratio shows
   what the large image itself costs;
7. ``rd``: the full codec curve of ``tokbench rd`` on the samples (recon; 4 codecs x 4 rates x 2 down factors)
   for one model, then a second model against the cached curve (codec encodes counted).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODEL = "jpeg:quality=30"
# a real network as the tokenizer: TAEF2's weights, kept beside the project (see ../shared/upstream/taesd)
TAEF2 = f"taef2:source={Path(__file__).resolve().parents[2] / 'shared' / 'upstream' / 'taesd'}"


def _fresh(tmp: Path, name: str) -> dict[str, str]:
    return {"output_dir": str(tmp / name / "out"), "cache_dir": str(tmp / name / "cache")}


OVERHEAD_REPEATS = 3


def overhead(tmp: Path, model: str = MODEL) -> dict[str, object]:
    """Harness wall time vs isolated model work, on the samples at 256: medians of alternating repeats."""
    from tokbench.data.dataset import samples_dataset

    # one-time costs that both sides would otherwise count unequally: building the sample faces (data
    # preparation, done once per machine) and importing the model libraries
    samples_dataset()
    import dlib  # noqa: F401
    import easyocr  # noqa: F401

    runs = []
    for k in range(OVERHEAD_REPEATS):  # alternating, so a drift in machine speed hits both sides
        runs.append({**_harness_once(tmp, k, model), **_isolated_once(model)})
    med = {key: float(np.median([r[key] for r in runs])) for key in runs[0]}
    harness, alone, recon = med["harness_s"], med["isolated_model_work_s"], med["recon_metrics_s"]
    return {
        **med,
        "overhead_s": harness - alone,
        "overhead_ratio": harness / alone,
        "overhead_ratio_each_repeat": [r["harness_s"] / r["isolated_model_work_s"] for r in runs],
        "overhead_ratio_model_work_only": (harness - recon) / (alone - recon),
    }


def _harness_once(tmp: Path, k: int, model: str) -> dict[str, float]:
    """One ``tokbench run`` of text,face,recon on the samples with fresh caches: wall and suite times."""
    from tokbench.runner import RunConfig, run

    config = RunConfig(
        model=model,
        suites=["text", "face", "recon"],
        dataset="samples",
        **_fresh(tmp, f"overhead{k}"),
        suite_options={"recon": {"lpips": "none"}},
    )
    t0 = time.perf_counter()
    paths = run(config)
    harness = time.perf_counter() - t0
    parts = {f"harness_{p.stem.split('-')[0]}_s": json.loads(p.read_text())["timings"]["suite_s"] for p in paths}
    return {"harness_s": harness, **parts}


def _isolated_once(model: str) -> dict[str, float]:
    """The same model work alone: tokenizer, OCR of all crops in one call, face embeddings, recon arithmetic."""
    import torch

    from tokbench.backends import build_face, build_ocr
    from tokbench.data.crops import cut
    from tokbench.data.dataset import samples_dataset
    from tokbench.data.images import load_rgb
    from tokbench.metrics.image import psnr_from_mse, ssim_and_ms_ssim
    from tokbench.protocol import Protocol, to_uint8
    from tokbench.registry import build_model, parse_model_spec

    proto = Protocol()
    ds = samples_dataset()
    images = [load_rgb(s.path).pixels for s in ds.samples]
    t = time.perf_counter()
    adapter = build_model(parse_model_spec(model))
    adapter.load("cpu", "fp32")
    ocr = build_ocr("easyocr")
    ocr.setup("cpu")
    face = build_face("dlib")
    face.setup("cpu")
    ocr.recognize([np.zeros((32, 64, 3), np.uint8)])  # EasyOCR finishes loading on its first call
    load = time.perf_counter() - t
    canvases = [proto.prepare(img, 256) for img in images]
    t = time.perf_counter()
    restored = []
    for i in range(0, len(canvases), 8):
        chunk = canvases[i : i + 8]
        x = torch.from_numpy(np.stack([c for c, _ in chunk])).permute(0, 3, 1, 2).float() / 255
        out = to_uint8(adapter.decode(adapter.encode(x)))
        restored += [proto.restore(o, p, images[i + j]) for j, (o, (_, p)) in enumerate(zip(out, chunk, strict=True))]
    tokenizer = time.perf_counter() - t
    crops = [
        c.image
        for s, r in zip(ds.samples, restored, strict=True)
        for a in s.annotations.get("text", [])
        if (c := cut(r, a["bbox"])).image is not None
    ]
    t = time.perf_counter()
    ocr.recognize(crops)
    ocr_s = time.perf_counter() - t
    t = time.perf_counter()
    chips = []
    for s, img, r in zip(ds.samples, images, restored, strict=True):
        for f in s.annotations.get("faces", []):
            al = face.prepare(img, f)
            chips += [face.chip(img, al), face.chip(r, al)]
    face.embed(chips)
    face_s = time.perf_counter() - t
    t = time.perf_counter()
    for img, r in zip(images, restored, strict=True):  # the recon suite's arithmetic, alone
        a, b = img.astype(np.float64), r.astype(np.float64)
        diff = (a - b).ravel()
        psnr_from_mse(float(diff @ diff) / diff.size, 255, 100)
        ssim_and_ms_ssim(a, b, 255)
    recon_s = time.perf_counter() - t
    return {
        "images": len(images),
        "text_crops": len(crops),
        "faces": len(chips) // 2,
        "isolated_model_work_s": load + tokenizer + ocr_s + face_s + recon_s,
        "model_load_s": load,
        "tokenizer_s": tokenizer,
        "ocr_s": ocr_s,
        "face_s": face_s,
        "recon_metrics_s": recon_s,
    }


def reconstruct_once(tmp: Path) -> dict[str, int]:
    from tokbench.results import read_result
    from tokbench.runner import RunConfig, Runner

    paths = _fresh(tmp, "once")
    Runner(RunConfig(model=MODEL, suites=["recon"], dataset="samples", **paths)).run()
    second = Runner(RunConfig(model=MODEL, suites=["text"], dataset="samples", **paths))
    second.run()
    fid = {}
    for model in ("jpeg:quality=90", "jpeg:quality=10"):
        [p] = Runner(RunConfig(model=model, suites=["fid"], dataset="samples", limit=8, **paths)).run()
        fid[model] = read_result(p)["extra"]["reference_features"]
    return {
        "second_suite_tokenizer_calls": second.tokenizer_calls,
        "second_model_reference_features_computed": fid["jpeg:quality=10"]["computed"],
        "first_model_reference_features_computed": fid["jpeg:quality=90"]["computed"],
    }


def _cli(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run tokbench in a child; return (wall seconds, peak RSS bytes of that child alone)."""
    # stderr to a file, not a pipe: nobody reads a pipe until the child ends, and a long run's
    # progress output would fill it and block the child
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "tokbench", *args], stdout=subprocess.DEVNULL, stderr=err, env=env
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        if child.returncode:
            err.seek(0)
            raise RuntimeError(f"tokbench {' '.join(args)} failed:\n{err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss * 1024  # Linux reports KiB


def _shifted(src: Path, dst: Path, c: int) -> None:
    """``src`` with every value raised by ``c`` grey levels: same layout, distinct content."""
    from PIL import Image

    img = np.asarray(Image.open(src).convert("RGB"))
    Image.fromarray(np.clip(img.astype(int) + c, 0, 255).astype(np.uint8)).save(dst)


def replicated_samples(tmp: Path, copies: int) -> tuple[Path, Path]:
    """The text samples copied ``copies`` times, each copy one grey level apart (distinct content)."""
    from tokbench.data.dataset import samples_dataset

    folder = tmp / f"rep{copies}"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    records = []
    text_samples = [s for s in samples_dataset().samples if "text" in s.annotations]
    for c in range(copies):  # copy-major, so ``--limit k * n`` takes k whole copies
        for s in text_samples:
            name = f"c{c}_{s.image_id}"
            _shifted(s.path, folder / "images" / name, c)
            h, w = _size(s.path)
            records.append({"file_name": name, "height": h, "width": w, "annotations": s.annotations["text"]})
    ann = folder / "text_rep.json"
    ann.write_text(json.dumps(records))
    return ann, folder / "images"


def replicated_faces(tmp: Path, copies: int) -> tuple[Path, Path]:
    """The face samples (TokBench face format) copied ``copies`` times, one grey level apart."""
    from tokbench.data.dataset import samples_dataset

    face_samples = [s for s in samples_dataset().samples if "faces" in s.annotations]
    meta = json.loads((face_samples[0].path.parent / "face_samples.json").read_text())
    folder = tmp / f"faces{copies}"
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for r in meta:
        for c in range(copies):
            name = f"c{c}_{r['image_name']}"
            _shifted(face_samples[0].path.parent / r["image_name"], folder / name, c)
            records.append({**r, "image_name": name})
    ann = tmp / f"face_rep{copies}.json"
    ann.write_text(json.dumps(records))
    return ann, folder


def _size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.height, im.width


def memory_and_growth(tmp: Path, quick: bool) -> dict[str, object]:
    out: dict[str, object] = {}
    _, rss = _cli(
        [
            "run",
            "--model",
            MODEL,
            "--suite",
            "text,face",
            "--output-dir",
            str(tmp / "m"),
            "--cache-dir",
            str(tmp / "mc"),
        ]
    )
    out["peak_rss_text_face_samples_gb"] = rss / 2**30
    # flatness: each suite on its data, then on 4x as many images (fresh caches both times)
    for suite, make in (("text", replicated_samples), ("face", replicated_faces)):
        peaks = []
        for k in (1, 4):
            ann, imgs = make(tmp, k)
            _, rss = _cli(
                [
                    "run",
                    "--model",
                    MODEL,
                    "--suite",
                    suite,
                    "--dataset",
                    str(ann),
                    "--images",
                    str(imgs),
                    "--output-dir",
                    str(tmp / f"{suite}{k}"),
                    "--cache-dir",
                    str(tmp / f"{suite}{k}c"),
                ]
            )
            peaks.append(rss)
        out[f"peak_rss_{suite}_1x_gb"] = peaks[0] / 2**30
        out[f"peak_rss_{suite}_4x_gb"] = peaks[1] / 2**30
        out[f"rss_{suite}_4x_over_1x"] = peaks[1] / peaks[0]
    sizes = [1, 2, 4] if quick else [1, 2, 4, 8]
    ann, imgs = replicated_samples(tmp, max(sizes))
    n_one = len(json.loads(ann.read_text())) // max(sizes)
    walls, work = [], []
    for k in sizes:
        wall, _ = _cli(
            [
                "run",
                "--model",
                MODEL,
                "--suite",
                "text,recon",
                "--dataset",
                str(ann),
                "--images",
                str(imgs),
                "--limit",
                str(n_one * k),
                "--output-dir",
                str(tmp / f"g{k}"),
                "--cache-dir",
                str(tmp / f"g{k}c"),
                "--suite-arg",
                "recon:lpips=none",
            ]
        )
        walls.append(wall)
        work.append(_work_seconds(tmp / f"g{k}"))
    n = np.log([n_one * k for k in sizes])
    out["growth_images"] = [n_one * k for k in sizes]
    out["growth_wall_s"] = walls
    out["growth_work_s"] = work
    # wall includes start-up and model loading (constant), which pulls the exponent below 1; the
    # per-image work (reconstruction + suites, from the result files' timings) is what must stay linear
    out["growth_exponent_wall"] = float(np.polyfit(n, np.log(walls), 1)[0])
    out["growth_exponent_work"] = float(np.polyfit(n, np.log(work), 1)[0])
    return out


def _work_seconds(output_dir: Path) -> float:
    """Reconstruction plus suite time of a run, from its result files (excludes start-up and loading)."""
    results = [json.loads(p.read_text()) for p in output_dir.rglob("*.json")]
    timings = [r["timings"] for r in results if isinstance(r, dict) and "timings" in r]
    return timings[0]["reconstruct_s"] + sum(t["suite_s"] for t in timings)


def ranks(tmp: Path) -> dict[str, float]:
    if shutil.which("torchrun") is None:
        return {"skipped": "torchrun not on PATH"}
    ann, imgs = replicated_samples(tmp, 2)
    common = [
        "--model",
        "kmeans-vq",
        "--suite",
        "text,recon",
        "--dataset",
        str(ann),
        "--images",
        str(imgs),
        "--suite-arg",
        "recon:lpips=none",
    ]
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tokbench",
            "run",
            *common,
            "--output-dir",
            str(tmp / "r1"),
            "--cache-dir",
            str(tmp / "r1c"),
        ],
        check=True,
        capture_output=True,
    )
    one = time.perf_counter() - t
    t = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            "torchrun",
            "--nproc-per-node",
            "2",
            "-m",
            "tokbench",
            "run",
            *common,
            "--output-dir",
            str(tmp / "r2"),
            "--cache-dir",
            str(tmp / "r2c"),
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    two = time.perf_counter() - t
    return {"one_rank_s": one, "two_ranks_s": two, "speedup": one / two}


def intervals(tmp: Path) -> dict[str, float]:
    """What the 95 % intervals add to a ``text,face,recon`` run on the samples: the time the runner spent
    making them (``timings.intervals_s`` of each result: bootstrap, Wilson, scipy's import) against the
    run's wall time."""
    fresh = _fresh(tmp, "intervals")
    args = ["run", "--model", MODEL, "--suite", "text,face,recon", "--suite-arg", "recon:lpips=none"]
    wall, _ = _cli([*args, "--output-dir", fresh["output_dir"], "--cache-dir", fresh["cache_dir"]])
    results = [json.loads(f.read_text()) for f in Path(fresh["output_dir"]).rglob("*-256.json")]
    spent = {r["suite"]["name"]: r["timings"]["intervals_s"] for r in results}
    return {
        "run_wall_s": wall,
        **{f"{k}_intervals_s": v for k, v in spent.items()},
        "share": sum(spent.values()) / wall,
    }


def _big_image(folder: Path, side: int) -> Path:
    """A flat PNG of ``side`` x ``side`` (a few dozen KB: it passes any byte-size guard) with text boxes."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True)
    img = Image.new("RGB", (side, side), (230, 230, 230))
    draw = ImageDraw.Draw(img)
    step = max(1, side // 20)
    boxes = [[i, i, min(side - 1, i + 120), min(side - 1, i + 60)] for i in range(0, side - 1, step)][:20]
    for box in boxes:
        draw.rectangle(box, fill=(20, 40, 60))
    img.save(folder / "big.png", optimize=True)
    anns = [{"rec": "TEXT", "bbox": b, "ratio": 0.001} for b in boxes]
    anns.append({"rec": "WIDE", "bbox": [0, 0, side - 1, side - 1], "ratio": 0.9})
    ann = folder / "big.json"
    ann.write_text(json.dumps([{"file_name": "big.png", "height": side, "width": side, "annotations": anns}]))
    return ann


def big_image(tmp: Path) -> dict[str, float]:
    """Peak RSS of recon,text on one 25-megapixel image vs one 1-megapixel image (each in a child)."""
    out: dict[str, float] = {}
    for name, side in (("1mp", 1000), ("25mp", 5000)):
        ann = _big_image(tmp / name, side)
        wall, rss = _cli(
            [
                "run",
                "--model",
                MODEL,
                "--suite",
                "recon,text",
                "--dataset",
                str(ann),
                "--images",
                str(ann.parent),
                "--suite-arg",
                "recon:lpips=none",
                "--output-dir",
                str(tmp / name / "out"),
                "--cache-dir",
                str(tmp / name / "cache"),
            ]
        )
        out[f"peak_rss_gb_{name}"] = rss / 1e9
        out[f"wall_s_{name}"] = wall
    out["rss_ratio_25mp_vs_1mp"] = out["peak_rss_gb_25mp"] / out["peak_rss_gb_1mp"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller growth series")
    parser.add_argument("--only", default="overhead,overhead-taef2,once,memory,ranks,bigimage,intervals,rd")
    parser.add_argument("--result-file", help=argparse.SUPPRESS)  # where a one-step child writes its figures
    args = parser.parse_args()
    names = args.only.split(",")
    out: dict[str, object] = {"cpu_count": os.cpu_count()}
    for name in names:
        t = time.perf_counter()
        if len(names) == 1:
            out[name] = run_step(name, args.quick, args.result_file)
        else:
            # each step in a fresh process: Linux keeps a process's peak RSS across fork and exec, so
            # children of a parent that loaded the models would all report at least its size
            with tempfile.TemporaryDirectory() as d:
                result = Path(d) / "step.json"
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--only",
                        name,
                        "--result-file",
                        str(result),
                        *(["--quick"] if args.quick else []),
                    ],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                out[name] = json.loads(result.read_text())
        print(
            f"{name}: {json.dumps(out[name], default=lambda v: round(v, 3))} ({time.perf_counter() - t:.0f} s)",
            flush=True,
        )
    print(
        json.dumps(
            out, indent=1, default=lambda v: round(v, 4) if isinstance(v, float) and math.isfinite(v) else str(v)
        )
    )


def rd_curve(tmp: Path) -> dict[str, object]:
    """``tokbench rd`` on the samples (recon): the full codec curve for one model, then a second model
    against the cached curve; codec encodes and wall times of both."""
    from tokbench.rd.runner import RdConfig, RdStats, run_rd
    from tokbench.runner import RunConfig

    def once(model: str) -> tuple[float, RdStats]:
        base = RunConfig(
            model=model,
            suites=["recon"],
            dataset="samples",
            suite_options={"recon": {"lpips": "none"}},
            **_fresh(tmp, "rd"),
        )
        config = RdConfig(
            base=base,
            models=[model],
            codecs=["jpeg", "webp", "avif", "jpeg2000"],
            grid=[0.03, 0.1, 0.3, 1.0],
            downs=[1, 4],
            rd_file=str(tmp / "rd" / f"{model.replace(':', '_')}.rd.json"),
        )
        t0 = time.perf_counter()
        outcome = run_rd(config)
        return time.perf_counter() - t0, outcome.stats

    first_s, first = once("kmeans-vq:p=8,K=256")
    second_s, second = once("kmeans-vq:p=8,K=1024")
    return {
        "codec_points": 4 * 4 * 2,
        "first_run_s": first_s,
        "first_codec_encodes": first.codec_encodes,
        "first_points_run": first.codec_points_run,
        "second_run_s": second_s,
        "second_codec_encodes": second.codec_encodes,
        "second_points_cached": second.codec_points_cached,
        "second_over_first": second_s / first_s,
    }


def run_step(name: str, quick: bool, result_file: str | None) -> object:
    """One benchmark step in this process, in a temporary folder of its own."""
    steps = {
        "overhead": overhead,
        "overhead-taef2": lambda t: overhead(t, TAEF2),
        "rd": rd_curve,
        "once": reconstruct_once,
        "memory": lambda t: memory_and_growth(t, quick),
        "ranks": ranks,
        "bigimage": big_image,
        "intervals": intervals,
    }
    tmp = Path(tempfile.mkdtemp(prefix="tokbench-bench-"))
    os.environ.setdefault("TOKBENCH_HOME", str(tmp / "home"))
    try:
        figures = steps[name](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if result_file:
        Path(result_file).write_text(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
