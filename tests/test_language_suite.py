"""The ``language`` suite on hand-built items: process -> records -> aggregate."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from tokbench.suites.language import LanguageSuite

from tokbench.registry import SUITES
from tokbench.results import _clean, public_record
from tokbench.suite import Item


def item(image_id: str, codes: list[np.ndarray] | None, side: int = 64) -> Item:
    canvas = np.zeros((side, side, 3), dtype=np.uint8)
    return Item(image_id, canvas, canvas, canvas, canvas, side, codes=codes, bits=None)


def grid_items(n: int = 30, k: int = 32, shape: tuple[int, int] = (8, 8), seed: int = 0) -> list[Item]:
    rng = np.random.default_rng(seed)
    # a smooth-ish "image": codes follow a random walk so there is context to learn
    out = []
    for i in range(n):
        walk = np.cumsum(rng.integers(-1, 2, shape[0] * shape[1])) % k
        out.append(item(f"im{i:03d}", [walk.reshape(shape)]))
    return out


def records_of(suite: LanguageSuite, items: list[Item], batch: int) -> list[dict]:
    recs = []
    for start in range(0, len(items), batch):
        for per_item in suite.process(items[start : start + batch]):
            assert len(per_item) == 1
            recs += per_item
    return recs


def test_registered() -> None:
    assert SUITES.resolve("language") is LanguageSuite
    assert LanguageSuite.needs_codes and LanguageSuite.name == "language"


def test_options_are_recorded_with_defaults() -> None:
    suite = LanguageSuite(codebook_sizes=[32], token_layout="2d", order="row", smoothing="add-k")
    opts = suite.options
    assert opts["order"] == "raster" and opts["smoothing"] == "add-k"
    for key, default in {
        "n_max": 4,
        "seed": 0,
        "heldout_fraction": 0.1,
        "kn_discount": 0.75,
        "add_k": 0.01,
        "lm_order": 2,
        "innovation_permutations": 5,
        "codebook_sizes": [32],
    }.items():
        assert opts[key] == default, key
    json.dumps(suite.fingerprint())  # part of the record cache key
    with pytest.raises(ValueError, match="unknown option"):
        LanguageSuite(codebook_sizes=[32], orderr="raster")


def test_process_records() -> None:
    suite = LanguageSuite(codebook_sizes=[32], token_layout="2d", order="column")
    grid = np.arange(6).reshape(2, 3)
    [[rec]] = suite.process([item("a", [grid])])
    assert rec["image_id"] == "a" and rec["tokens"] == 6 and rec["pixels"] == 64 * 64
    assert rec["_codes"][0].tolist() == [0, 3, 1, 4, 2, 5]
    assert "_codes" not in public_record(rec)
    [[skip]] = suite.process([item("b", None)])
    assert skip == {"image_id": "b", "skip": "needs discrete codes"}


def test_aggregate_end_to_end() -> None:
    suite = LanguageSuite(codebook_sizes=[32], token_layout="2d", powerlaw=False)
    items = grid_items()
    recs = records_of(suite, items, batch=7) + [{"image_id": "cont", "skip": "needs discrete codes"}]
    out = suite.aggregate(recs, 64)
    m, extra = out["metrics"], out["extra"]
    assert m["n_images"] == 30 and m["rate.tokens_per_image"] == 64
    assert m["rate.bpp_nominal"] == pytest.approx(64 * 5 / (64 * 64))
    assert m["rate.compression_factor_rgb"] == pytest.approx(24 / m["rate.bpp_nominal"])
    assert 0 < m["level0.utilization"] <= 1 and m["level0.used_codes"] <= 32
    assert m["level0.unigram_entropy_bits"] <= 5 and m["level0.n4.types"] > 0
    # the walk moves by -1/0/+1: about log2(3) bits of context-free surprise per step
    assert m["level0.n2.entropy_rate_bits"] < m["level0.unigram_entropy_bits"]
    assert m["level0.lm_xent_bits"] < m["level0.unigram_entropy_bits"]
    assert "level0.lzma_bits_per_token" in m and "level0.heaps_beta" in m
    assert extra["skipped_records"] == 1 and extra["options"]["token_layout"] == "2d"
    assert extra["heldout_images"] == 3
    curves = extra["streams"]["level0"]["curves"]
    assert curves["rank_frequency"]["1"]["rank"][0] == 1 and curves["innovation"]["m"][-1] == 30
    # the result file is strict JSON
    json.dumps(_clean(out), allow_nan=False)
    assert all(isinstance(v, float) for v in m.values())


def test_batch_size_and_feed_order_independent() -> None:
    suite = LanguageSuite(codebook_sizes=[32], token_layout="2d", powerlaw=False)
    items = grid_items(n=20, seed=1)
    a = suite.aggregate(records_of(suite, items, batch=1), 64)["metrics"]
    b = suite.aggregate(records_of(suite, items, batch=20), 64)["metrics"]
    assert a == b or all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)
    c = suite.aggregate(records_of(suite, items[::-1], batch=3), 64)["metrics"]
    for key in a:
        if "lzma" in key or "zlib" in key:
            continue  # compressors read the corpus in dataset order by definition
        assert (math.isnan(a[key]) and math.isnan(c[key])) or a[key] == pytest.approx(c[key], rel=1e-12), key


def test_multi_scale_and_multi_codebook_layouts() -> None:
    rng = np.random.default_rng(3)
    scales = [item(f"s{i}", [rng.integers(0, 16, (s, s)) for s in (1, 2, 4)]) for i in range(6)]
    suite = LanguageSuite(codebook_sizes=[16], token_layout="multi_scale", powerlaw=False)
    m = suite.aggregate(records_of(suite, scales, 4), 64)["metrics"]
    assert m["concat.tokens_per_image"] == 21 and m["level2.tokens_per_image"] == 16
    assert m["rate.bits_per_image_nominal"] == 21 * 4
    rvq = [item(f"r{i}", [rng.integers(0, 8, (4, 4)), rng.integers(0, 4, (4, 4))]) for i in range(6)]
    suite = LanguageSuite(codebook_sizes=[8, 4], token_layout="multi_codebook", powerlaw=False)
    m = suite.aggregate(records_of(suite, rvq, 6), 64)["metrics"]
    assert m["joint.codebook_size"] == 32 and m["joint.bits_per_token_nominal"] == 5
    assert m["rate.bits_per_image_nominal"] == 16 * 5 and "level1.utilization" not in m


def test_continuous_tokenizer_is_skipped() -> None:
    suite = LanguageSuite(codebook_sizes=[], token_layout="latent")
    recs = [r for per in suite.process([item("a", None), item("b", None)]) for r in per]
    assert suite.aggregate(recs, 64) == {
        "metrics": {},
        "extra": {"skipped": "needs discrete codes", "options": suite.options},
    }


def test_report_draws_language_curves_as_png(tmp_path) -> None:
    from tokbench.report.commands import report_cmd
    from tokbench.runner import RunConfig, run

    [path] = run(
        RunConfig(
            model="kmeans-vq:p=8,K=16,iters=3",
            suites=["language"],
            dataset="samples",
            limit=4,
            resolutions=[64],
            output_dir=str(tmp_path / "out"),
            cache_dir=str(tmp_path / "c"),
        )
    )
    assert report_cmd([str(path)], "png", tmp_path / "report") == 0
    pngs = sorted((tmp_path / "report" / "plots").glob("*.png"))
    assert any(p.name.endswith("-rank-frequency.png") for p in pngs)
    assert any("innovation" in p.name for p in pngs)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
