"""All statistics of one token stream (one codebook level, the joint tuple, or the concatenation).

:class:`StreamStats` is fed one image sentence at a time and composes the streaming
accumulators of the other ``language_*`` modules; :meth:`StreamStats.compute` turns them into
flat metrics (names without the stream prefix) and a details dict. See
:mod:`tokbench.metrics.language` for the metric names and the options.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokbench.metrics.language_compress import CorpusCompressor, huffman_bits_per_token
from tokbench.metrics.language_counts import NgramCounter, entropy_bits, gini, miller_madow_bits, top_share
from tokbench.metrics.language_innovation import InnovationCurve
from tokbench.metrics.language_lm import HeldoutNgramLM
from tokbench.metrics.language_zipf import log_spaced_curve, powerlaw_fit, rank_frequency_ols


@dataclass
class LanguageOptions:
    """Every [ours] choice of docs/token-language.md, with its default (recorded in results)."""

    order: str = "raster"  # linearisation of 2-D grids: raster | column | hilbert
    n_max: int = 4  # n-gram orders 1..n_max for entropies and Zipf fits
    seed: int = 0  # image orders of the innovation curve and the held-out split
    levels: Any = "default"  # "default" | "all" | list of level indices (see language.py)
    undersampled_ratio: float = 0.9  # types/tokens above this: undersampled, no power-law fit
    zipf_drop_top: float = 0.0  # fraction of highest ranks left out of the OLS fit
    zipf_drop_singletons: bool = False  # leave count-1 types out of the OLS fit
    curve_points: int = 64  # log-spaced points of the stored rank-frequency curves
    powerlaw: bool = True  # run the powerlaw MLE fits (a few seconds per stream)
    powerlaw_refit_range: tuple[float, float] = (1.01, 8.0)
    powerlaw_compare: bool = True  # power law vs log-normal likelihood ratio
    powerlaw_max_types: int | None = 300_000  # skip the (slow) MLE fit above this many types
    top_k: int = 10  # top-k share
    top_fraction: float = 0.01  # share of the top ceil(fraction * K) codes
    innovation_n: int = 1  # n-gram order of the vocabulary-growth curve
    innovation_permutations: int = 5  # seeded image orders averaged
    m_quantile: float = 0.9  # m90: images needed to see this share of the final vocabulary
    compressors: tuple[str, ...] = ("lzma", "zlib")  # also "zstd" when zstandard is installed
    lm_order: int = 2
    smoothing: str = "kneser-ney"  # or "add-k"
    kn_discount: float = 0.75
    add_k: float = 0.01
    heldout_fraction: float = 0.1
    lm_score_eos: bool = False  # count </s> predictions in the held-out cross-entropy
    raw_bits_per_pixel: float = 24.0  # 8-bit RGB, for the compression factor


class RateStats:
    """Tokens per image, tokens per pixel, per-image type/token ratio and repetition, streamed."""

    def __init__(self) -> None:
        self.images = 0
        self.tokens = 0
        self.lengths: Counter[int] = Counter()  # variable-length tokenizers have few lengths
        self.tpp_sum = 0.0
        self.tpp_images = 0
        self.ttr_sum = 0.0
        self.ttr_images = 0
        self.repeats = 0  # adjacent positions holding the same token
        self.pairs = 0
        self.max_id = -1

    def update(self, seq: np.ndarray, pixels: float | None, ttr: bool = True) -> None:
        n = int(seq.size)
        self.images += 1
        self.tokens += n
        self.lengths[n] += 1
        if n:
            self.max_id = max(self.max_id, int(seq.max()))
            if ttr:
                self.ttr_sum += np.unique(seq).size / n
                self.ttr_images += 1
                self.repeats += int(np.count_nonzero(seq[1:] == seq[:-1]))
                self.pairs += n - 1
        if pixels:
            self.tpp_sum += n / float(pixels)
            self.tpp_images += 1

    def summary(self) -> dict[str, float]:
        lengths = sorted(self.lengths.elements())
        return {
            "mean": self.tokens / self.images if self.images else math.nan,
            "median": float(np.median(lengths)) if lengths else math.nan,
            "min": float(lengths[0]) if lengths else math.nan,
            "max": float(lengths[-1]) if lengths else math.nan,
            # images without a pixel count give no bpp rather than a wrong one
            "tokens_per_pixel": (
                self.tpp_sum / self.tpp_images if self.tpp_images and self.tpp_images == self.images else math.nan
            ),
            "type_token_ratio": self.ttr_sum / self.ttr_images if self.ttr_images else math.nan,
            "repetition_rate": self.repeats / self.pairs if self.pairs else math.nan,
        }


def _f(x: Any) -> float:
    """A metric value: float, NaN for missing (written as null)."""
    if x is None:
        return math.nan
    return float(x)


class StreamStats:
    """Streaming statistics of one token stream with declared codebook size (None = inferred)."""

    def __init__(self, name: str, id_bound: int | None, opts: LanguageOptions, compress: bool) -> None:
        self.name = name
        self.opts = opts
        self.id_bound = id_bound
        self.rate = RateStats()
        self.counters = [NgramCounter(n, id_bound) for n in range(1, opts.n_max + 1)]
        self.innovation = InnovationCurve(opts.innovation_n, id_bound, opts.innovation_permutations)
        self.compressor = CorpusCompressor(id_bound, tuple(opts.compressors)) if compress else None
        self.lm = HeldoutNgramLM(
            opts.lm_order, id_bound, opts.smoothing, opts.kn_discount, opts.add_k, opts.lm_score_eos
        )

    def update(self, seq: np.ndarray, keys: np.ndarray, pixels: float | None, heldout: bool) -> None:
        """Add one image's sentence (``keys``: its innovation-order keys)."""
        self.rate.update(seq, pixels)
        for counter in self.counters:
            counter.update(seq)
        self.innovation.update(seq, keys)
        if self.compressor is not None:
            self.compressor.update(seq)
        self.lm.update(seq, heldout)

    @property
    def keying(self) -> str:
        return "exact" if all(c.exact for c in self.counters) else "hash64"

    # -- compute -----------------------------------------------------------------------------
    def compute(self, codebook_size: float, nominal_bits: float) -> tuple[dict[str, float], dict[str, Any]]:
        """Flat metrics (unprefixed) and details of this stream."""
        k = float(codebook_size)
        metrics: dict[str, float] = {}
        extra: dict[str, Any] = {"codebook_size": codebook_size, "ngram_keys": self.keying}
        unigram = self.counters[0].counts()
        h1 = entropy_bits(unigram)
        metrics.update(self._rate(h1, nominal_bits, extra))
        metrics.update(self._usage(unigram, k, h1))
        ngram_metrics, extra["ngrams"], rank_curves = self._ngrams()
        metrics.update(ngram_metrics)
        metrics.update(self._innovation(k, extra))
        metrics.update(self._compression(unigram, h1, nominal_bits, extra))
        lm = self.lm.compute(k)
        extra["ngram_lm"] = lm
        metrics.update(
            {"lm_xent_bits": _f(lm["xent_bits"]), "lm_ppl": _f(lm["ppl"]), "lm_ppl_over_k": _f(lm["ppl_over_k"])}
        )
        extra["curves"] = {"rank_frequency": rank_curves, "innovation": extra["innovation"].pop("curve", None)}
        return metrics, extra

    def _rate(self, h1: float, bits: float, extra: dict[str, Any]) -> dict[str, float]:
        s = self.rate.summary()
        extra["tokens_per_image"] = {key: s[key] for key in ("mean", "median", "min", "max")}
        out = {
            "tokens_per_image": s["mean"],
            "bits_per_token_nominal": bits,
            "type_token_ratio_per_image": s["type_token_ratio"],
            "repetition_rate": s["repetition_rate"],
        }
        if math.isfinite(s["tokens_per_pixel"]):
            bpp = s["tokens_per_pixel"] * bits
            out.update(
                bpp_nominal=bpp,
                bpp_entropy=s["tokens_per_pixel"] * h1,
                compression_factor_rgb=self.opts.raw_bits_per_pixel / bpp if bpp > 0 else math.nan,
            )
        return out

    def _usage(self, unigram: np.ndarray, k: float, h1: float) -> dict[str, float]:
        n_tok = float(unigram.sum())
        used = float(unigram.size)
        log_k = math.log2(k) if k > 1 else math.nan
        top_n = math.ceil(self.opts.top_fraction * k)
        return {
            "codebook_size": k,
            "n_tokens": n_tok,
            "used_codes": used,
            "dead_codes": k - used,
            "utilization": used / k,
            "n_over_k": n_tok / k,
            "unigram_entropy_bits": h1,
            "unigram_entropy_mm_bits": miller_madow_bits(unigram),
            "normalized_entropy": h1 / log_k,
            "redundancy": 1.0 - h1 / math.log2(used) if used > 1 else math.nan,
            "codebook_perplexity": 2.0**h1,
            f"top{self.opts.top_k}_share": top_share(unigram, self.opts.top_k),
            f"top{100 * self.opts.top_fraction:g}pct_share": top_share(unigram, top_n),
            "gini": gini(unigram, k),
        }

    def _ngrams(self) -> tuple[dict[str, float], dict[str, Any], dict[str, Any]]:
        metrics: dict[str, float] = {}
        details: dict[str, Any] = {}
        curves: dict[str, Any] = {}
        prev = 0.0
        for n, counter in enumerate(self.counters, start=1):
            counts = counter.counts()
            tokens, types = counter.n_windows, counts.size
            h = entropy_bits(counts)
            ratio = types / tokens if tokens else math.nan
            zipf = rank_frequency_ols(counts, self.opts.zipf_drop_top, self.opts.zipf_drop_singletons)
            p: dict[str, Any] | None = None
            m = {
                "entropy_bits": h,
                "entropy_mm_bits": miller_madow_bits(counts),
                "entropy_rate_bits": h - prev,
                "tokens": float(tokens),
                "types": float(types),
                "types_per_token": ratio,
                "undersampled": float(ratio > self.opts.undersampled_ratio) if tokens else math.nan,
                "zipf_s": zipf["s"],
                "zipf_intercept": zipf["intercept"],
                "zipf_r2": zipf["r2"],
            }
            if self.opts.powerlaw:
                p = powerlaw_fit(
                    counts,
                    tokens,
                    self.opts.undersampled_ratio,
                    self.opts.powerlaw_refit_range,
                    self.opts.powerlaw_compare,
                    self.opts.powerlaw_max_types,
                )
                m.update(
                    powerlaw_alpha=p["alpha"],
                    powerlaw_xmin=p["xmin"],
                    powerlaw_ks=p["ks"],
                    powerlaw_s=p["s"],
                    powerlaw_defined=float(p["defined"]),
                    powerlaw_vs_lognormal_R=p["lognormal_R"],
                    powerlaw_vs_lognormal_p=p["lognormal_p"],
                )
            prev = h
            metrics.update({f"n{n}.{key}": _f(v) for key, v in m.items()})
            details[str(n)] = {"zipf_ols": zipf, "powerlaw": p}
            curves[str(n)] = log_spaced_curve(counts, self.opts.curve_points)
        return metrics, details, curves

    def _innovation(self, k: float, extra: dict[str, Any]) -> dict[str, float]:
        space = k**self.opts.innovation_n
        inn = self.innovation.compute(space, self.opts.m_quantile)
        extra["innovation"] = inn
        if not inn.get("images"):
            return {}
        heaps = inn["heaps"]
        return {
            "innovation_rate": _f(inn["innovation_rate"]),
            f"m{100 * self.opts.m_quantile:g}": _f(inn["m_q"]),
            "vocab_share_first100": _f(inn["vocab_share_at_100"]),
            "heaps_beta": _f(heaps["beta"]),
            "heaps_k": _f(heaps["k"]),
            "heaps_r2": _f(heaps["r2"]),
        }

    def _compression(self, unigram: np.ndarray, h1: float, bits: float, extra: dict[str, Any]) -> dict[str, float]:
        huff = huffman_bits_per_token(unigram) if unigram.size else math.nan
        out = {"huffman_bits_per_token": huff, "huffman_rate": 1.0 - huff / bits if bits > 0 else math.nan}
        if self.compressor is None:
            extra["compression"] = None
            return out
        comp = self.compressor.compute()
        extra["compression"] = comp
        for method, r in comp["methods"].items():
            if r.get("unavailable"):
                continue
            out.update(
                {
                    f"{method}_bits_per_token": r["bits_per_token"],
                    f"{method}_ratio": r["ratio"],
                    f"{method}_gap_bits": r["bits_per_token"] - h1,
                }
            )
        return out
