"""Hostile data (issue #23): geometry, file names, manifests and partial folders that once crashed,
hung, exhausted memory, read outside the dataset or passed unnoticed. Each is a counted skip or a
clear error now."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from imaging import photo
from PIL import Image
from typer.testing import CliRunner

from tokbench.cli import app
from tokbench.data.annotations import BadAnnotations, read_annotations
from tokbench.data.crops import BAD_GEOMETRY, cut
from tokbench.data.dataset import resolve_dataset
from tokbench.data.images import BadImage, load_rgb
from tokbench.data.manifest import ManifestError, load_manifest, verify
from tokbench.results import read_result
from tokbench.runner import RunConfig, run


def capped(code: str, limit_bytes: int = 1 << 30, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python whose address space is capped: a runaway allocation fails there
    (MemoryError, exit != 0) instead of taking this machine's memory."""
    prelude = f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({limit_bytes}, {limit_bytes}))\n"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def save(folder: Path, name: str, h: int = 24, w: int = 32, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.fromarray(photo(h, w, seed)).save(path)
    return path


def cfg(tmp_path: Path, dataset: str, images: str | None = None, **kw) -> RunConfig:
    return RunConfig(
        model="identity",
        suites=kw.pop("suites", ["recon"]),
        dataset=dataset,
        images=images,
        output_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "cache"),
        **kw,
    )


# -- 5: polygons bounded by the image ------------------------------------------------------------


def test_polygon_6000_px_on_a_64px_image_stays_within_a_small_memory_cap() -> None:
    # observed: this polygon exhausted an 8 GB cap; under a 1 GiB cap it must be cut, clipped, image-sized
    out = capped("""
        import numpy as np, tracemalloc
        from tokbench.data.crops import cut
        img = np.full((64, 64, 3), 200, dtype=np.uint8)
        tracemalloc.start()
        c = cut(img, [[0, 0], [6000, 0], [6000, 6000], [0, 6000]])
        peak = tracemalloc.get_traced_memory()[1]
        print(c.skip, c.clipped, c.image.shape, peak)
    """)
    assert out.returncode == 0, out.stderr[-2000:]
    skip, clipped, *rest = out.stdout.split(maxsplit=2)
    shape_text, peak = rest[0].rsplit(" ", 1)
    assert skip == "None" and clipped == "True"
    h, w, _ = (int(v) for v in shape_text.strip("()").split(","))
    assert h <= 64 + 4 and w <= 64 + 4  # no larger than the image (plus the bilinear margin)
    assert int(peak) < 20_000_000


def test_polygon_far_outside_keeps_only_pixels_of_the_image() -> None:
    img = (np.random.default_rng(3).random((64, 64, 3)) * 255).astype(np.uint8)
    c = cut(img, [[0, 0], [1000, 0], [1000, 1000], [0, 1000]])
    assert c.skip is None and c.clipped and max(c.image.shape[:2]) <= 64 + 4
    # the frame starts at the image's corner: its first pixel is the image's, sampled where TokBench would
    assert np.array_equal(c.image[0, 0], img[0, 0])


@pytest.mark.parametrize(
    "bbox",
    [
        [[0, 0], [1e12, 0], [1e12, 1e12], [0, 1e12]],  # observed: asked for 7 TiB
        [[0, 0], [1e6, 0], [2e6, 64], [1e6, 64]],  # a sheared frame: ~1e12 output pixels
    ],
)
def test_huge_polygons_are_counted_skips_without_allocating(bbox: list) -> None:
    out = capped(f"""
        import numpy as np
        from tokbench.data.crops import cut
        c = cut(np.zeros((64, 64, 3), dtype=np.uint8), {bbox!r})
        print(c.image is None, c.skip)
    """)
    assert out.returncode == 0, out.stderr[-2000:]
    none, reason = out.stdout.strip().split(" ", 1)
    assert none == "True" and reason in (BAD_GEOMETRY, "polygon larger than the image")


# -- 11: huge and non-finite numbers ------------------------------------------------------------


@pytest.mark.parametrize(
    "bbox",
    [
        [0, 0, 3.5e38, 10],  # observed: float32 inf -> OverflowError crashed the run
        [0, 0, 1e19, 10],  # beyond int64
        [0, 0, 10**400, 10],  # a JSON integer float() cannot hold
        [[0, 0], [3.5e38, 0], [3.5e38, 10], [0, 10]],
    ],
)
def test_box_coordinates_beyond_float32_are_bad_geometry_not_a_crash(bbox: list) -> None:
    c = cut(np.zeros((20, 20, 3), dtype=np.uint8), bbox)
    assert c.image is None and c.skip == BAD_GEOMETRY and "out of range" in c.detail


def test_text_suite_counts_an_overflowing_box_instead_of_crashing() -> None:
    from tokbench.suites.text import TextSuite

    from tokbench.backends.ocr import Reading
    from tokbench.suite import Item

    class FakeOcr:
        charset = None

        def setup(self, device: str) -> None:
            pass

        def recognize(self, crops: list[np.ndarray]) -> list[Reading]:
            return [Reading("x", 1.0) for _ in crops]

    suite = TextSuite()
    suite.backend = FakeOcr()  # the geometry, not the OCR, is under test
    img = np.zeros((40, 40, 3), dtype=np.uint8)
    anns = [{"rec": "x", "bbox": [0, 0, 10, 10], "ratio": 0.1}, {"rec": "y", "bbox": [0, 0, 3.5e38, 10], "ratio": 0.1}]
    [records] = suite.process([Item("a", img, img, img, img, 256, {"text": anns})])
    assert "skip" not in records[0] and records[1]["skip"] == BAD_GEOMETRY


def face_file(path: Path, faces_by_image: dict[str, list[dict]]) -> Path:
    # written by hand: json.dumps would refuse nothing, but NaN / Infinity must appear as a file has them
    items = [
        f'{{"image_name": "{n}", "img_height": 64, "img_width": 64, "faces": [{", ".join(faces)}]}}'
        for n, faces in faces_by_image.items()
    ]
    path.write_text("[" + ",\n".join(items) + "]")
    return path


GOOD_KPS = "[[20, 20], [40, 20], [30, 30], [22, 45], [38, 45]]"


@pytest.mark.parametrize(
    ("face", "field"),
    [
        ('{"kps": [[1e300, 1e300], [40, 20], [30, 30], [22, 45], [38, 45]], "ratio": 0.3}', "kps"),
        (f'{{"kps": {GOOD_KPS}, "box": [0, 0, 1e300, 10]}}', "box"),
        (f'{{"kps": {GOOD_KPS}, "ratio": NaN}}', "ratio"),
        (f'{{"kps": {GOOD_KPS}, "ratio": Infinity}}', "ratio"),
        (f'{{"kps": {GOOD_KPS}, "ratio": 1e999}}', "ratio"),
        (f'{{"kps": {GOOD_KPS}, "ratio": 0.3, "box": [0, 0, 1{"0" * 400}, 9]}}', "box"),
    ],
)
def test_bad_numbers_in_face_fields_skip_the_image_naming_the_field(tmp_path: Path, face: str, field: str) -> None:
    path = face_file(
        tmp_path / "face_meta.json", {"ok.png": [f'{{"kps": {GOOD_KPS}, "ratio": 0.3}}'], "bad.png": [face]}
    )
    records, skipped = read_annotations(path)
    assert [r.file_name for r in records] == ["ok.png"]
    [(where, reason)] = skipped
    assert where == "bad.png" and reason.startswith(f"bad number in field {field!r}: faces[0]")


def test_bad_ratio_in_a_text_file_is_a_counted_skip(tmp_path: Path) -> None:
    path = tmp_path / "text_x.json"
    path.write_text(
        '[{"file_name": "a.png", "annotations": [{"rec": "a", "bbox": [0, 0, 5, 5], "ratio": NaN}]},'
        ' {"file_name": "b.png", "annotations": [{"rec": "b", "bbox": [0, 0, 5, 5], "ratio": 0.1}]}]'
    )
    records, skipped = read_annotations(path)
    assert [r.file_name for r in records] == ["b.png"]
    assert skipped == [("a.png", "bad number in field 'ratio': text[0] has nan (finite, |value| <= 2**31 expected)")]


def test_integer_beyond_pythons_digit_limit_is_a_bad_annotation_file(tmp_path: Path) -> None:
    path = tmp_path / "face_meta.json"
    face_file(path, {"a.png": [f'{{"kps": {GOOD_KPS}, "ratio": {"9" * 5000}}}']})
    with pytest.raises(BadAnnotations, match="face_meta.json: unreadable JSON"):
        read_annotations(path)


def test_face_run_with_huge_keypoints_counts_the_image_instead_of_crashing(tmp_path: Path) -> None:
    pytest.importorskip("dlib")
    folder = tmp_path / "imgs"
    for name in ("ok.png", "bad.png"):
        save(folder, name, 64, 64)
    ann = face_file(
        tmp_path / "face_meta.json",
        {
            "ok.png": [f'{{"kps": {GOOD_KPS}, "ratio": 0.3}}'],
            "bad.png": ['{"kps": [[1e300, 1e300], [40, 20], [30, 30], [22, 45], [38, 45]], "ratio": 0.3}'],
        },
    )
    [path] = run(cfg(tmp_path, str(ann), str(folder), suites=["face"]))
    counts = read_result(path)["counts"]
    assert counts["images_used"] == 1 and counts["images_skipped"] == {"bad number in field 'kps'": 1}


# -- 6: files outside the dataset, FIFOs, devices -----------------------------------------------


def test_file_names_leaving_the_image_folder_are_skipped_and_counted(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    save(folder, "good.png")
    outside = save(tmp_path / "elsewhere", "secret.png", seed=1)
    (folder / "link.png").symlink_to(outside)
    ann = tmp_path / "text_x.json"
    names = ["good.png", "../elsewhere/secret.png", str(outside), "link.png"]
    ann.write_text(json.dumps([{"file_name": n, "annotations": []} for n in names]))
    ds = resolve_dataset(str(ann), images=str(folder))
    assert [s.image_id for s in ds.samples] == ["good.png"]
    assert sorted(ds.skipped) == sorted((n, "outside the image folder") for n in names[1:])
    [path] = run(cfg(tmp_path, str(ann), str(folder)))
    counts = read_result(path)["counts"]
    assert counts["images_used"] == 1 and counts["images_skipped"] == {"outside the image folder": 3}


def test_plain_folder_skips_links_out_fifos_and_devices(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    save(folder, "good.png")
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "out.png").symlink_to(save(tmp_path / "elsewhere", "x.png"))
    os.mkfifo(folder / "pipe.png")
    (folder / "dir.png").mkdir()
    ds = resolve_dataset("folder", images=str(folder))
    assert [s.image_id for s in ds.samples] == ["good.png"]
    assert sorted(ds.skipped) == [
        ("dir.png", "not a regular file"),
        ("out.png", "outside the image folder"),
        ("pipe.png", "not a regular file"),
        ("zero.png", "outside the image folder"),
    ]


def test_reading_a_fifo_neither_blocks_nor_reads(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            load_rgb(fifo)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            outcome.append(e)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # observed: the open blocks forever; release it with a writer before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail("opening a FIFO blocked")
    [err] = outcome
    assert isinstance(err, BadImage) and "not a regular file (a FIFO)" in str(err)


def test_reading_dev_zero_is_refused_within_a_small_memory_cap() -> None:
    # observed: /dev/zero was read until memory ran out
    out = capped(
        """
        from pathlib import Path
        from tokbench.data.images import BadImage, load_rgb
        try:
            load_rgb(Path("/dev/zero"))
        except BadImage as e:
            print(e)
    """,
        timeout=120,
    )
    assert out.returncode == 0 and "not a regular file (a character device)" in out.stdout, out.stderr[-2000:]


def test_files_over_the_byte_cap_are_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    from tokbench.data import images

    path = save(tmp_path, "a.png")
    monkeypatch.setattr(images, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(BadImage, match=r"a.png: \d+ bytes exceeds the limit"):
        load_rgb(path)
    assert images.IMAGE_READ_LIMITS["max_file_bytes"] == 1 << 30  # recorded in every result


def manifest(tmp_path: Path, **fields) -> Path:
    data = {
        "name": "mine",
        "kind": "images",
        "source": {"type": "local", "env": "MINE_DIR"},
        "images": ".",
        "annotations": None,
        "files": {},
        **fields,
    }
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "../../x"}, "name"),
        ({"files": {"../secret.txt": "0" * 64}}, "files"),
        ({"files": {"/etc/hostname": "0" * 64}}, "files"),
        ({"images": "/etc"}, "images"),
        ({"images": "a/../../b"}, "images"),
        ({"annotations": {"file": "../ann.json", "format": "tokbench-text"}}, "annotations.file"),
        ({"source": {"type": "local", "env": "AWS_SECRET_ACCESS_KEY"}}, "source.env"),
    ],
)
def test_manifest_fields_may_not_leave_the_dataset_root(tmp_path: Path, fields: dict, field: str) -> None:
    with pytest.raises(ManifestError, match=f"field '{field}'"):
        load_manifest(manifest(tmp_path, **fields))


def test_verify_does_not_hash_a_link_out_of_the_root(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    (data / "x.bin").symlink_to(secret)
    monkeypatch.setenv("MINE_DIR", str(data))
    m = load_manifest(manifest(tmp_path, files={"x.bin": hashlib.sha256(b"s").hexdigest()}))
    report = verify(m, m.root())
    assert not report.ok and not report.passed
    assert report.problems == [f"{data}/x.bin: outside the dataset root, not read (field 'files')"]


def test_data_verify_takes_a_registered_name_or_a_manifest_file_only(tmp_path: Path) -> None:
    # observed: `data verify ../../x` loaded any JSON as a manifest and hashed files outside the root
    import tokbench.data_manifests

    evil = tmp_path / "evil"
    (evil / "mine").mkdir(parents=True)  # the dataset root under --data-root evil
    (evil / "outside.txt").write_text("o")
    (evil / "evil.json").write_text(
        json.dumps(
            {
                "name": "mine",
                "kind": "images",
                "source": {"type": "huggingface", "repo_id": "x"},
                "images": ".",
                "files": {"../outside.txt": hashlib.sha256(b"o").hexdigest()},
            }
        )
    )
    manifests = Path(next(iter(tokbench.data_manifests.__path__)))
    name = os.path.relpath(evil / "evil", manifests)
    cli = CliRunner()
    out = cli.invoke(app, ["data", "verify", name, "--data-root", str(evil)])
    assert out.exit_code == 2 and "neither a registered dataset" in out.output, out.output
    out = cli.invoke(app, ["data", "verify", str(evil / "evil.json"), "--data-root", str(evil)])
    assert out.exit_code == 2 and "field 'files'" in out.output and "verified" not in out.output, out.output


def test_messages_never_show_the_value_of_the_manifest_env(tmp_path: Path, monkeypatch) -> None:
    secret = "sekrit-value-4242"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    path = manifest(tmp_path, source={"type": "local", "env": "AWS_SECRET_ACCESS_KEY"})
    out = CliRunner().invoke(app, ["data", "verify", str(path)])
    assert out.exit_code != 0 and "source.env" in out.output and secret not in out.output
    with pytest.raises(ManifestError) as err:
        resolve_dataset(str(path))
    assert secret not in str(err.value) and "AWS_SECRET_ACCESS_KEY" in str(err.value)
    # an accepted folder variable is shown by name, not by its value
    data = tmp_path / "hidden-folder-value"
    save(data, "a.png")
    monkeypatch.setenv("MINE_DIR", str(data))
    with pytest.raises(ManifestError) as err:
        resolve_dataset(str(manifest(tmp_path, expected_count=2)))
    assert "$MINE_DIR" in str(err.value) and str(data) not in str(err.value)


# -- 7: partial datasets -----------------------------------------------------------------------


def test_imagenet_val_on_a_one_image_folder_is_refused(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "val"
    save(folder, "ILSVRC2012_val_00000001.JPEG")
    monkeypatch.setenv("TOKBENCH_IMAGENET_VAL", str(folder))
    with pytest.raises(ManifestError) as err:
        resolve_dataset("imagenet-val")
    message = str(err.value)
    assert "'imagenet-val' in $TOKBENCH_IMAGENET_VAL/." in message
    assert "expected 50000 image files, found 1" in message and "--allow-partial" in message


def test_partial_folder_runs_only_with_allow_partial_and_says_so(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    save(data, "a.png")
    monkeypatch.setenv("MINE_DIR", str(data))
    names = ["a.png", "b.png", "c.png"]
    listed = hashlib.sha256("\n".join(names).encode()).hexdigest()
    path = manifest(tmp_path, expected_count=3, file_list_sha256=listed)
    with pytest.raises(ManifestError, match="expected 3 image files, found 1"):
        run(cfg(tmp_path, str(path)))
    [result] = run(cfg(tmp_path, str(path), allow_partial=True))
    partial = read_result(result)["dataset"]["identity"]["partial"]
    assert partial["expected"] == 3 and partial["found"] == 1
    assert partial["file_list_sha256"] == hashlib.sha256(b"a.png").hexdigest()


def test_cli_run_has_allow_partial(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    save(data, "a.png")
    monkeypatch.setenv("MINE_DIR", str(data))
    path = manifest(tmp_path, expected_count=2)
    args = [
        "run",
        "--model",
        "identity",
        "--suite",
        "recon",
        "--dataset",
        str(path),
        "--output-dir",
        str(tmp_path / "out"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--json",
    ]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1 and "--allow-partial" in refused.output
    out = CliRunner().invoke(app, [*args, "--allow-partial"])
    assert out.exit_code == 0, out.output
    [result] = Path(tmp_path / "out").rglob("recon-256.json")
    assert read_result(result)["dataset"]["identity"]["partial"]["found"] == 1


def test_file_list_is_checked_even_when_the_folder_is_empty(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    monkeypatch.setenv("MINE_DIR", str(data))
    m = load_manifest(manifest(tmp_path, images="images", file_list_sha256="0" * 64))
    report = verify(m, m.root())
    assert not report.passed and "list of file names differs" in report.describe()
