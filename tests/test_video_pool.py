"""``--dataset a,b`` on video: each set's result and one pooled result per suite, equal to a run over the union."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_video_per_clip import LOSSLESS, ocr_options, one_clip_set
from test_video_run import go, text_folder

from tokbench.errors import ConfigError
from tokbench.results import read_instances, read_result, result_path
from tokbench.video.data import is_video_dataset
from tokbench.video.sets import split_video_datasets

pytest.importorskip("av")

MODEL = "jpeg:quality=20"


def test_pooled_sets_equal_one_run_over_the_union(tmp_path: Path) -> None:
    ann, folder = text_folder(tmp_path)
    opts = ocr_options(tmp_path)
    (a, fa), (b, fb) = (one_clip_set(tmp_path / "sets", ann, folder, n) for n in ("alpha", "beta"))
    spec = f"{a},{b}"
    assert is_video_dataset(spec)
    run = dict(suite_options=opts, protocol=LOSSLESS, resolutions=[256])
    union = go(tmp_path, MODEL, "text,recon", str(ann), folder, tag="union", **run)
    pooled_run = go(tmp_path, MODEL, "text,recon", spec, Path(f"{fa},{fb}"), tag="pooled", **run)
    out = tmp_path / "out" / "pooled"
    for suite in ("text", "recon"):
        files = {n: result_path(out, MODEL, n, suite, 256) for n in ("text_alpha", "text_beta", "text_alpha+text_beta")}
        assert all(p.is_file() for p in files.values()), files
        pooled = pooled_run[suite]
        assert pooled["dataset"]["name"] == "text_alpha+text_beta"
        assert pooled["metrics"] == union[suite]["metrics"], suite
        assert pooled["counts"]["instances_used"] == union[suite]["counts"]["instances_used"]
        assert pooled["extra"]["pooled"]["sets"] == ["text_alpha", "text_beta"]
        assert pooled["extra"]["video"]["clips"] == 2
        assert len(read_instances(files["text_alpha+text_beta"])) == len(read_instances(files["text_alpha"])) + len(
            read_instances(files["text_beta"])
        )
    text = pooled_run["text"]
    assert text["counts"]["images_skipped"] == {"annotated frame beyond the clip": 1}
    assert list(text["extra"]["per_clip"]) == ["text_alpha/alpha", "text_beta/beta"]
    # the per-set metrics differ, so the pooled number is not one of them
    per_set = text["extra"]["pooled"]["per_set"]
    assert per_set["text_alpha"]["metrics"]["t_ned_pooled"] != per_set["text_beta"]["metrics"]["t_ned_pooled"]


def test_set_lists_pair_folders_as_the_image_runner_and_refuse_image_sets(tmp_path: Path) -> None:
    ann, folder = text_folder(tmp_path)
    (a, fa), (b, fb) = (one_clip_set(tmp_path / "sets", ann, folder, n) for n in ("alpha", "beta"))
    assert split_video_datasets(f"{a},{b}", f"{fa},{fb}") == [(str(a), str(fa)), (str(b), str(fb))]
    assert split_video_datasets(f"{a},video-samples", str(fa)) == [(str(a), str(fa)), ("video-samples", None)]
    with pytest.raises(ConfigError, match="gives 3 folders for 2"):
        split_video_datasets(f"{a},{b}", f"{fa},{fb},{fa}")
    with pytest.raises(ConfigError, match="'samples' is not a video dataset"):
        split_video_datasets(f"{a},samples", str(fa))
    with pytest.raises(ConfigError, match="names a set twice"):
        split_video_datasets(f"{a},{a}", str(fa))


def test_pooled_language_counts_a_clip_name_of_two_sets_twice(tmp_path: Path) -> None:
    ann, folder = text_folder(tmp_path)
    (a, fa), (b, fb) = (one_clip_set(tmp_path / root, ann, folder, "alpha") for root in ("one", "two"))
    b = b.rename(b.with_name("text_alpha2.json"))
    got = go(tmp_path, "kmeans-vq:p=8,K=16,iters=3", "language", f"{a},{b}", Path(f"{fa},{fb}"), resolutions=[64])
    pooled = got["language"]
    alone = read_result(result_path(tmp_path / "out" / "run", pooled["model"]["id"], "text_alpha", "language", 64))
    assert pooled["metrics"]["n_clips"] == 2 and pooled["metrics"]["n_images"] == 2 * 9
    assert pooled["metrics"]["rate.tokens_per_clip"] == alone["metrics"]["rate.tokens_per_clip"] == 9 * 12 * 8
