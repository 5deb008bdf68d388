"""Token-language statistics on synthetic streams with known answers (docs/token-language.md §5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from tokbench.metrics import language_counts, language_innovation
from tokbench.metrics.language import LanguageStats, heldout_ids, options_from_dict
from tokbench.metrics.language_compress import CorpusCompressor, huffman_bits_per_token
from tokbench.metrics.language_counts import (
    EOS,
    NgramCounter,
    entropy_bits,
    gini,
    miller_madow_bits,
    pack_rows,
    top_share,
)
from tokbench.metrics.language_innovation import InnovationCurve, image_keys, log_grid
from tokbench.metrics.language_lm import HeldoutNgramLM, NgramModel
from tokbench.metrics.language_order import canonical_order, grid_order, linearize
from tokbench.metrics.language_zipf import powerlaw_fit, rank_frequency_ols

# -- helpers -----------------------------------------------------------------------------------


def run(
    images: list[np.ndarray | list[np.ndarray]],
    k: int | list[int] | None,
    layout: str = "2d",
    ids: list[str] | None = None,
    **options: object,
) -> dict:
    """Feed images (one sentence, or a list of level sentences) and return compute()."""
    options.setdefault("powerlaw", False)  # the MLE fit has its own tests; keep the rest fast
    opts = options_from_dict(dict(options))
    sizes = None if k is None else (k if isinstance(k, list) else [k])
    stats = LanguageStats(opts, sizes, layout)
    ids = ids or [f"img{i}" for i in range(len(images))]
    held = heldout_ids(ids, opts.heldout_fraction, opts.seed)
    for image_id, img in zip(ids, images, strict=True):
        levels = img if isinstance(img, list) else [img]
        stats.update(image_id, levels, pixels=256 * 256, heldout=image_id in held)
    return stats.compute()


def same(a: dict[str, float], b: dict[str, float], skip: tuple[str, ...] = ()) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if any(s in key for s in skip):
            continue
        x, y = a[key], b[key]
        assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-12, abs=1e-12), key


def split(stream: np.ndarray, size: int) -> list[np.ndarray]:
    return [stream[i : i + size] for i in range(0, stream.size, size)]


# -- entropy family ----------------------------------------------------------------------------


def test_entropy_and_miller_madow_by_hand() -> None:
    counts = np.array([3, 1, 0])
    h = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert entropy_bits(counts) == pytest.approx(h)
    assert miller_madow_bits(counts) == pytest.approx(h + 1 / (2 * 4 * math.log(2)))
    rng = np.random.default_rng(1)
    c = rng.integers(1, 50, 300)
    assert entropy_bits(c) == pytest.approx(scipy.stats.entropy(c, base=2))
    expected = scipy.stats.entropy(c, base=2) + 299 / (2 * c.sum() * math.log(2))
    assert miller_madow_bits(c) == pytest.approx(expected)


def test_gini_and_top_share() -> None:
    assert gini(np.full(8, 5), 8) == pytest.approx(0.0)
    assert gini(np.array([7]), 8) == pytest.approx(7 / 8)  # one used code of 8: maximal inequality
    assert gini(np.array([1, 1]), 4) == pytest.approx(0.5)  # half the codes dead
    assert top_share(np.array([5, 3, 1, 1]), 2) == pytest.approx(0.8)


def test_uniform_iid_codes() -> None:
    k = 64
    rng = np.random.default_rng(0)
    images = list(rng.integers(0, k, (100, 256)))
    m = run(images, k)["metrics"]
    assert m["level0.utilization"] == 1.0 and m["level0.dead_codes"] == 0
    assert m["level0.normalized_entropy"] == pytest.approx(1.0, abs=0.01)
    assert m["level0.redundancy"] == pytest.approx(0.0, abs=0.01)
    assert abs(m["level0.huffman_rate"]) < 0.01
    assert m["level0.huffman_bits_per_token"] >= m["level0.unigram_entropy_bits"]
    assert m["level0.codebook_perplexity"] == pytest.approx(k, rel=0.02)
    # i.i.d.: context does not help; the plug-in H2 is biased low (4096 types from 25 500 bigrams),
    # Miller-Madow removes most of that bias
    assert 5.8 < m["level0.n2.entropy_rate_bits"] < 6.0
    assert m["level0.n2.entropy_mm_bits"] - m["level0.n1.entropy_mm_bits"] == pytest.approx(6.0, abs=0.03)
    # a bigram model has nothing to learn here and pays for estimating 4096 bigrams
    assert 6.0 < m["level0.lm_xent_bits"] < 6.3
    assert run(images, k, lm_order=1)["metrics"]["level0.lm_xent_bits"] == pytest.approx(6.0, abs=0.02)
    assert m["level0.bits_per_token_nominal"] == 6
    assert m["level0.bpp_nominal"] == pytest.approx(256 * 6 / 65536)
    assert m["level0.n4.undersampled"] == 1.0 and m["level0.n1.undersampled"] == 0.0
    assert m["level0.gini"] < 0.1


def test_one_repeated_code() -> None:
    k = 512
    m = run([np.full(64, 7) for _ in range(10)], k)["metrics"]
    assert m["level0.utilization"] == pytest.approx(1 / k)
    assert m["level0.used_codes"] == 1 and m["level0.dead_codes"] == k - 1
    assert m["level0.unigram_entropy_bits"] == 0.0 and m["level0.codebook_perplexity"] == 1.0
    assert m["level0.n3.entropy_bits"] == 0.0
    assert m["level0.repetition_rate"] == 1.0
    assert m["level0.gini"] == pytest.approx((k - 1) / k)
    assert m["level0.top10_share"] == 1.0
    assert math.isnan(m["level0.redundancy"])  # log2 of one observed type is 0: undefined


# -- n-grams -----------------------------------------------------------------------------------


def test_ngrams_never_cross_images() -> None:
    counter = NgramCounter(2, 10)
    counter.update(np.array([3]))
    counter.update(np.array([4]))
    assert counter.n_windows == 0 and counter.counts().size == 0
    m = run([np.array([3]), np.array([4])], 10)["metrics"]
    assert m["level0.n2.tokens"] == 0 and m["level0.n2.types"] == 0
    assert m["level0.n1.tokens"] == 2


def test_periodic_sequence_has_zero_entropy_rate_and_unit_perplexity() -> None:
    period = np.arange(4)
    images = [np.tile(period, 75) for _ in range(20)]
    m = run(images, 16)["metrics"]
    assert m["level0.unigram_entropy_bits"] == pytest.approx(2.0)
    assert m["level0.repetition_rate"] == 0.0
    for n in (2, 3, 4):
        assert abs(m[f"level0.n{n}.entropy_rate_bits"]) < 0.01
    assert m["level0.lm_ppl"] == pytest.approx(1.0, abs=0.02)
    m_addk = run(images, 16, smoothing="add-k")["metrics"]
    assert m_addk["level0.lm_ppl"] == pytest.approx(1.0, abs=0.02)
    m_tri = run(images, 16, lm_order=3)["metrics"]
    assert m_tri["level0.lm_ppl"] == pytest.approx(1.0, abs=0.02)


def test_exact_and_hashed_keys_agree() -> None:
    rng = np.random.default_rng(3)
    sents = list(rng.integers(0, 50, (30, 40)))
    exact, hashed = NgramCounter(3, 50), NgramCounter(3, None)
    for s in sents:
        exact.update(s)
        hashed.update(s)
    assert exact.exact and not hashed.exact
    assert np.array_equal(np.sort(exact.counts()), np.sort(hashed.counts()))
    # a key is a function of the whole row: permuting a row changes it
    rows = np.array([[1, 2, 3], [3, 2, 1]])
    assert len(set(pack_rows(rows, None).tolist())) == 2


def test_chunking_and_feed_order_do_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    images = [rng.integers(0, 32, rng.integers(1, 60)) for _ in range(80)]
    base = run(images, 32)["metrics"]
    # merge after every window instead of in large batches
    monkeypatch.setattr(language_counts, "_FLUSH_MIN", 1)
    monkeypatch.setattr(language_innovation, "_FLUSH_MIN", 1)
    same(base, run(images, 32)["metrics"])
    # another feed order (ids travel with their images): only the dataset-order compressors may change
    order = rng.permutation(len(images))
    ids = [f"img{i}" for i in order]
    shuffled = run([images[i] for i in order], 32, ids=ids)["metrics"]
    same(base, shuffled, skip=("lzma", "zlib"))


# -- Zipf / power law --------------------------------------------------------------------------


def zipf_corpus(c: int = 20000, types: int = 2000) -> np.ndarray:
    """Token r occurs round(c / r) times: an exact Zipf law with s = 1."""
    counts = np.round(c / np.arange(1, types + 1)).astype(np.int64)
    stream = np.repeat(np.arange(types), counts)
    return np.random.default_rng(0).permutation(stream)


def test_zipf_exact_law_slope_and_powerlaw_alpha() -> None:
    stream = zipf_corpus()
    counts = np.bincount(stream)
    fit = rank_frequency_ols(counts)
    assert fit["s"] == pytest.approx(1.0, abs=0.01)  # rounding only: counts >= 10 everywhere
    assert fit["r2"] > 0.999
    p = powerlaw_fit(counts, stream.size)
    assert p["defined"]
    assert p["alpha"] == pytest.approx(2.0, abs=0.05)
    assert p["s"] == pytest.approx(1.0, abs=0.05)
    assert p["ks"] < 0.05


def test_zipf_random_sample_slope() -> None:
    rng = np.random.default_rng(2)
    ranks = np.arange(1, 1001)
    sample = rng.choice(1000, size=200_000, p=(1 / ranks) / np.sum(1 / ranks))
    fit = rank_frequency_ols(np.bincount(sample), rank_max=100)  # ranks with >= ~250 draws each
    assert fit["s"] == pytest.approx(1.0, abs=0.05)


def test_powerlaw_undefined_when_undersampled_or_too_big() -> None:
    p = powerlaw_fit(np.ones(95, dtype=np.int64), 100)
    assert not p["defined"] and "types/tokens" in p["reason"]
    p = powerlaw_fit(np.arange(1, 101), 5050, max_types=50)
    assert not p["defined"] and "types" in p["reason"] and math.isnan(p["alpha"])


def test_suite_level_zipf_metrics_with_powerlaw() -> None:
    m = run(split(zipf_corpus(), 500), 2000, powerlaw=True, n_max=1)["metrics"]
    assert m["level0.n1.zipf_s"] == pytest.approx(1.0, abs=0.01)
    assert m["level0.n1.powerlaw_alpha"] == pytest.approx(2.0, abs=0.05)
    assert m["level0.n1.powerlaw_defined"] == 1.0


# -- innovation --------------------------------------------------------------------------------


def test_log_grid() -> None:
    assert log_grid(1) == [1]
    assert log_grid(120) == [1, 2, 5, 10, 20, 50, 100, 120]
    assert log_grid(100) == [1, 2, 5, 10, 20, 50, 100]


def test_innovation_saturated_and_disjoint_vocabularies() -> None:
    same_codes = run([np.arange(16) for _ in range(50)], 64)
    m = same_codes["metrics"]
    assert m["level0.innovation_rate"] == 0.0 and m["level0.m90"] == 1.0
    curve = same_codes["extra"]["streams"]["level0"]["curves"]["innovation"]
    assert curve["coverage"][0] == pytest.approx(16 / 64)
    # image i holds codes 8i..8i+7: every image brings 8 new types, V = N, Heaps beta = 1
    disjoint = run([np.arange(8 * i, 8 * i + 8) for i in range(40)], 320)["metrics"]
    assert disjoint["level0.innovation_rate"] == pytest.approx(8.0)
    assert disjoint["level0.heaps_beta"] == pytest.approx(1.0)
    assert disjoint["level0.heaps_k"] == pytest.approx(1.0)
    assert disjoint["level0.m90"] == 36.0


def test_innovation_order_is_seeded_by_image_id() -> None:
    a = image_keys("x", 0, 5)
    assert np.array_equal(a, image_keys("x", 0, 5)) and not np.array_equal(a, image_keys("x", 1, 5))
    curve = InnovationCurve(1, 10, 2)
    curve.update(np.array([1, 2]), image_keys("a", 0, 2))
    curve.update(np.array([2, 3, 4]), image_keys("b", 0, 2))
    out = curve.compute(10)
    assert out["types_final"] == 4 and out["images"] == 2


# -- compression -------------------------------------------------------------------------------


def test_huffman_by_hand() -> None:
    assert huffman_bits_per_token(np.array([1, 1, 2, 4])) == pytest.approx(1.75)  # lengths 3,3,2,1
    assert huffman_bits_per_token(np.array([1, 1, 1])) == pytest.approx(5 / 3)  # lengths 1,2,2
    assert huffman_bits_per_token(np.array([9])) == 0.0
    c = np.random.default_rng(4).integers(1, 1000, 500)
    h = entropy_bits(c)
    assert h <= huffman_bits_per_token(c) < h + 1


def test_compressors() -> None:
    zeros, noise = CorpusCompressor(1024), CorpusCompressor(65536)
    rng = np.random.default_rng(0)
    for _ in range(20):
        zeros.update(np.zeros(500, dtype=np.int64))
        noise.update(rng.integers(0, 65536, 500))
    z, n = zeros.compute(), noise.compute()
    assert z["raw_bytes"] == 20_000 and z["methods"]["lzma"]["bits_per_token"] < 0.2
    assert n["methods"]["lzma"]["bits_per_token"] > 15.9 and n["methods"]["zlib"]["ratio"] > 0.99
    assert zeros.compute() is z  # idempotent
    assert CorpusCompressor(70000).dtype.itemsize == 4


# -- held-out n-gram LM ------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("smoothing", ["kneser-ney", "add-k"])
def test_lm_distributions_sum_to_one(order: int, smoothing: str) -> None:
    k = 6
    lm = HeldoutNgramLM(order, k, smoothing)
    rng = np.random.default_rng(order)
    for _ in range(12):
        lm.update(rng.integers(0, 4, 15), heldout=False)  # codes 4 and 5 never seen
    model = lm.model(k)
    assert isinstance(model, NgramModel)
    vocab = np.r_[np.arange(k), EOS]
    # seen, unseen (code 5) and sentence-start (-1 = <s>) histories
    histories = {1: [[]], 2: [[1], [5], [-1]], 3: [[0, 2], [5, 5], [-1, -1], [-1, 3]]}[order]
    for h in histories:
        rows = np.array([[*h, w] for w in vocab])
        p = model.prob(rows)
        assert np.all(p > 0)
        assert p.sum() == pytest.approx(1.0)


def test_kneser_ney_and_add_k_by_hand() -> None:
    # train <s> 0 1 </s> twice and <s> 1 0 </s>; K = 2, so 3 predictable symbols (0, 1, </s>)
    lm = HeldoutNgramLM(2, 2)
    for sent in ([0, 1], [0, 1], [1, 0]):
        lm.update(np.array(sent), heldout=False)
    model = lm.model(2)
    # every symbol has 2 distinct left contexts among 6 bigram types: p_1 = 1.25/6 + 0.75*3/6/3 = 1/3
    # c(0 1) = 2, c(0 .) = 3 with 2 continuation types: (2 - .75)/3 + .75*2/3 * 1/3
    p = model.prob(np.array([[0, 1], [-1, 0], [-1, 1], [-1, EOS]]))
    assert p == pytest.approx([1.25 / 3 + 0.5 / 3, 1.25 / 3 + 0.5 / 3, 0.25 / 3 + 0.5 / 3, 0.5 / 3])
    addk = HeldoutNgramLM(2, 2, "add-k", add_k=0.5)
    for sent in ([0, 1], [0, 1], [1, 0]):
        addk.update(np.array(sent), heldout=False)
    assert addk.model(2).prob(np.array([[0, 1]])) == pytest.approx([(2 + 0.5) / (3 + 0.5 * 3)])


def test_heldout_split() -> None:
    ids = [f"i{j}" for j in range(50)]
    held = heldout_ids(ids, 0.1, 0)
    assert len(held) == 5 and held == heldout_ids(ids[::-1], 0.1, 0)
    assert held != heldout_ids(ids, 0.1, 1)
    assert heldout_ids(["only"], 0.1, 0) == set() and len(heldout_ids(["a", "b"], 0.01, 0)) == 1


# -- levels, linearisation, inferred codebooks -------------------------------------------------


def test_joint_of_identical_levels_equals_the_level() -> None:
    rng = np.random.default_rng(6)
    images = [[x, x] for x in rng.integers(0, 16, (30, 20))]
    m = run(images, [16, 16], "multi_codebook")["metrics"]
    assert m["joint.unigram_entropy_bits"] == pytest.approx(m["level0.unigram_entropy_bits"])
    assert m["joint.codebook_size"] == 256 and m["joint.bits_per_token_nominal"] == 8
    # levels too large for exact joint ids take the hashed path: same statistics
    big = run(images, [2**40, 2**40], "multi_codebook")["metrics"]
    assert big["joint.unigram_entropy_bits"] == pytest.approx(m["joint.unigram_entropy_bits"])
    assert big["joint.n2.entropy_bits"] == pytest.approx(m["joint.n2.entropy_bits"])


def test_joint_is_dropped_when_level_lengths_differ() -> None:
    out = run([[np.arange(4), np.arange(2)], [np.arange(4), np.arange(2)]], [8, 8], "multi_codebook")
    assert "joint.utilization" not in out["metrics"] and "level0.utilization" in out["metrics"]
    assert "different lengths" in out["extra"]["streams_dropped"]["joint"]


def test_multi_scale_concat_and_inferred_codebook() -> None:
    rng = np.random.default_rng(7)
    images = [[rng.integers(0, 10, s * s) for s in (1, 2, 4)] for _ in range(12)]
    out = run(images, None, "multi_scale")
    m, extra = out["metrics"], out["extra"]
    assert "concat.tokens_per_image" in m and "level2.tokens_per_image" in m and "level0.utilization" not in m
    assert m["concat.tokens_per_image"] == 21 and m["rate.tokens_per_image"] == 21
    assert all(extra["codebook_size_inferred"]) and extra["codebook_sizes"][2] <= 10
    everything = run(images, [10], "multi_scale", levels="all")["metrics"]
    expected = {"level0.utilization", "level1.utilization", "level2.utilization", "concat.utilization"}
    assert expected <= set(everything)


def test_codes_outside_the_codebook_are_an_error() -> None:
    with pytest.raises(ValueError, match="outside the codebook"):
        run([np.array([1, 2, 16])], 16)


def test_linearization_orders() -> None:
    grid = np.arange(12).reshape(3, 4)
    assert linearize(grid, "raster").tolist() == list(range(12))
    assert linearize(grid, "column").tolist() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    assert linearize(np.array([5, 3, 1]), "column").tolist() == [5, 3, 1]  # 1-D: native order
    assert canonical_order("row") == "raster"
    with pytest.raises(ValueError):
        canonical_order("zigzag")
    # Hilbert on a power-of-two square: a path through every cell with unit steps
    idx = grid_order(8, 8, "hilbert")
    assert sorted(idx.tolist()) == list(range(64))
    yy, xx = np.divmod(idx, 8)
    assert np.all(np.abs(np.diff(yy)) + np.abs(np.diff(xx)) == 1)
    assert sorted(grid_order(3, 5, "hilbert").tolist()) == list(range(15))


def test_options_validation() -> None:
    with pytest.raises(ValueError, match="unknown option"):
        options_from_dict({"bogus": 1})
    with pytest.raises(ValueError, match="smoothing"):
        options_from_dict({"smoothing": "witten-bell"})
    assert options_from_dict({"order": "row"}).order == "raster"
    # list options as the CLI delivers them (it splits key=value pairs on commas)
    opts = options_from_dict({"compressors": "lzma+zlib", "levels": "0+joint", "powerlaw_refit_range": "1.01+8"})
    assert opts.compressors == ("lzma", "zlib") and opts.levels == [0, "joint"]
    assert opts.powerlaw_refit_range == (1.01, 8.0)
    assert options_from_dict({"levels": 1}).levels == [1]
    with pytest.raises(ValueError, match="compressor"):
        options_from_dict({"compressors": "lzma+brotli"})
