"""Statistics of the visual-token "language" (docs/token-language.md, sections 2-5).

Pure numpy/scipy (``powerlaw`` for the MLE fit, imported on use); no torch. Feed images one at
a time to :class:`LanguageStats` (``update``), then ``compute`` once. Every accumulator is
streaming: memory grows with the number of n-gram *types*, not of images, except for O(M)
bookkeeping of a few numbers per image (innovation-order keys and token counts; the held-out
split is decided up front from the image ids, :func:`heldout_ids`). Results do not depend on
batch size, on how the stream is chunked, or on the order images are fed, except the
general-purpose compressor sizes, which are defined on the dataset order (the feed order).

Corpus model: one sentence per image and stream; n-grams never cross images; 2-D grids are
read in ``order`` (raster by default), 1-D codes in native order. Logs are base 2.

Streams (metric prefixes)
-------------------------
- ``level{l}``: codebook level l (a multi-scale tokenizer's scale l).
- ``joint``: the tuple of all levels at each position (K = prod K_l; multi-codebook layouts;
  dropped, with the reason in ``extra["streams_dropped"]``, if level lengths differ).
- ``concat``: all scales of one image concatenated coarse to fine in one shared codebook
  (multi-scale layouts: the sentence an autoregressive model reads).
Option ``levels``: ``"default"`` reports level0 (+ joint when there are several codebooks;
for multi-scale: concat + the finest scale), ``"all"`` every level plus joint/concat, or a
list of level indices and/or "joint"/"concat".

Metric names (flat; NaN is written as null)
--------------------------------------------
Corpus rate, summed over all levels:
  ``n_images``, ``rate.tokens_per_image``, ``rate.bits_per_image_nominal``, and when the pixel
  count of the tokenizer input is known: ``rate.bpp_nominal``, ``rate.bpp_entropy`` (sum over
  levels of tokens x unigram entropy / pixels), ``rate.compression_factor_rgb`` (24 / bpp).
Per stream ``{s}``:
  rate: ``{s}.tokens_per_image`` (mean), ``{s}.bits_per_token_nominal`` (ceil log2 K; joint: sum),
    ``{s}.bpp_nominal``, ``{s}.bpp_entropy``, ``{s}.compression_factor_rgb``,
    ``{s}.type_token_ratio_per_image`` (unique / tokens per image, mean over images),
    ``{s}.repetition_rate`` (share of adjacent positions holding the same token)
  codebook use: ``{s}.codebook_size``, ``{s}.n_tokens``, ``{s}.used_codes``, ``{s}.dead_codes``,
    ``{s}.utilization`` (used / K), ``{s}.n_over_k``
  entropy: ``{s}.unigram_entropy_bits`` (H1), ``{s}.unigram_entropy_mm_bits`` (Miller–Madow),
    ``{s}.normalized_entropy`` (H1 / log2 K), ``{s}.redundancy`` (1 - H1 / log2 V_obs),
    ``{s}.codebook_perplexity`` (2^H1 over the whole corpus)
  concentration: ``{s}.top10_share``, ``{s}.top1pct_share`` (top ceil(0.01 K) codes), ``{s}.gini``
    (over all K codes, dead ones included)
  per n-gram order n = 1..n_max, ``{s}.n{n}.*``: ``entropy_bits`` (H_n), ``entropy_mm_bits``,
    ``entropy_rate_bits`` (H_n - H_{n-1}), ``tokens`` (n-gram positions), ``types``,
    ``types_per_token``, ``undersampled`` (1 when types/tokens > 0.9), ``zipf_s``,
    ``zipf_intercept``, ``zipf_r2`` (log10 OLS rank-frequency fit), ``powerlaw_alpha``,
    ``powerlaw_xmin``, ``powerlaw_ks``, ``powerlaw_s`` (1 / (alpha - 1)), ``powerlaw_defined``,
    ``powerlaw_vs_lognormal_R``, ``powerlaw_vs_lognormal_p`` (R > 0 favours the power law); the
    power-law values are NaN (null) with ``powerlaw_defined`` 0 when undersampled, when there are
    more than ``powerlaw_max_types`` types, or when the fit fails (reason in ``extra``)
  innovation: ``{s}.innovation_rate`` (new types per image over the second half of the images),
    ``{s}.m90`` (images to reach 90 % of the final vocabulary), ``{s}.vocab_share_first100``,
    ``{s}.heaps_beta``, ``{s}.heaps_k``, ``{s}.heaps_r2``
  compression: ``{s}.huffman_bits_per_token``, ``{s}.huffman_rate`` (1 - L_H / nominal bits),
    ``{s}.lzma_bits_per_token``, ``{s}.lzma_ratio``, ``{s}.lzma_gap_bits`` (minus H1), same for
    ``zlib`` (and ``zstd`` when requested and installed); not for ``joint``
  held-out n-gram LM: ``{s}.lm_xent_bits``, ``{s}.lm_ppl``, ``{s}.lm_ppl_over_k``
Names that embed an option follow it: ``top{top_k}_share``, ``top{100 top_fraction}pct_share``,
``m{100 m_quantile}``.

Extra (JSON details)
--------------------
``options`` (every option of :class:`LanguageOptions` — the [ours] choices — with its value),
``conventions`` (fixed choices), ``n_images``, ``levels``, ``token_layout``, ``codebook_sizes``,
``codebook_size_inferred`` (max id + 1 when the adapter declares none), ``heldout_images``,
``streams_dropped`` and per stream ``streams[s]``: ``tokens_per_image`` {mean, median, min,
max}, ``ngram_keys`` (exact | hash64), ``ngrams[n]`` {zipf_ols {s, intercept, r2, rank_range},
powerlaw {alpha, xmin, ks, n_tail, refit, defined, reason, warnings, ...}}, ``innovation``
(m90, Heaps fit), ``compression`` (raw and compressed bytes), ``ngram_lm`` (order, smoothing,
split sizes) and ``curves`` {rank_frequency[n]: {rank, count} at log-spaced ranks, innovation:
{m, types, coverage, tokens, innovation_rate} at m = 1, 2, 5, 10, ..., M}.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from tokbench.metrics.language_compress import LZMA_PRESET, ZLIB_LEVEL, ZSTD_LEVEL
from tokbench.metrics.language_counts import NgramCounter, entropy_bits, pack_rows
from tokbench.metrics.language_innovation import image_keys
from tokbench.metrics.language_lm import heldout_ids
from tokbench.metrics.language_order import canonical_order, linearize
from tokbench.metrics.language_stream import LanguageOptions, RateStats, StreamStats

__all__ = ["LanguageOptions", "LanguageStats", "heldout_ids", "linearize", "options_from_dict", "options_record"]

_JOINT_EXACT_MAX = 2**62

#: fixed conventions (not options), recorded in every result
CONVENTIONS = {
    "log_base": 2,
    "miller_madow": "H + (V_obs - 1) / (2 N ln 2)",
    "nominal_bits_per_token": "ceil(log2 K); joint: sum over levels",
    "huffman": "code built on the corpus unigram distribution; code-table cost excluded; 1 type -> 0 bits",
    "serialisation": "fixed-width little-endian uint16 if K <= 65536 else uint32, images in dataset order",
    "lzma": f"preset {LZMA_PRESET & 0xF} | PRESET_EXTREME",
    "zlib": f"level {ZLIB_LEVEL}",
    "zstd": f"level {ZSTD_LEVEL}",
    "innovation_order": "ascending sha256(seed, permutation, image_id) keys; curve = mean over permutations",
    "innovation_rate": "(V(m) - V(floor(m/2))) / (m - floor(m/2)) at m = M",
    "heaps_fit": "OLS of log10 V on log10 tokens at the log-spaced m of every permutation",
    "heldout_split": "round(fraction * M) images (>= 1, <= M-1) first under sha256(seed, image_id)",
    "kneser_ney": "interpolated, one discount, continuation counts below the top order, "
    "uniform base over K codes + </s>; sentences padded with n-1 <s> and one </s>",
    "ngram_keys": "exact mixed radix when K^n fits in int64, else a 64-bit hash",
    "powerlaw": "powerlaw.Fit(discrete=True); refit with powerlaw_refit_range when alpha reaches 3",
}


def _listify(value: Any) -> list[Any]:
    """A list option given as a list, one scalar, or a CLI string "a+b" (the CLI splits on commas)."""
    if isinstance(value, str):
        return [part for part in re.split(r"[+;/\s]+", value) if part]
    if isinstance(value, (int, float)):
        return [value]
    return list(value)


def _levels(value: Any) -> Any:
    if value in ("default", "all"):
        return value
    out = []
    for entry in _listify(value):
        if entry in ("joint", "concat"):
            out.append(entry)
        elif isinstance(entry, int) or (isinstance(entry, str) and entry.isdigit()):
            out.append(int(entry))
        else:
            raise ValueError(f"language: a levels entry is a level index, 'joint' or 'concat'; got {entry!r}")
    return out


def options_from_dict(options: dict[str, Any]) -> LanguageOptions:
    """Validated :class:`LanguageOptions` from user options (unknown names are an error)."""
    known = {f.name for f in dataclasses.fields(LanguageOptions)}
    unknown = set(options) - known
    if unknown:
        raise ValueError(f"language: unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    opts = LanguageOptions(**options)
    opts.order = canonical_order(opts.order)
    opts.compressors = tuple(str(c) for c in _listify(opts.compressors))
    bad = [c for c in opts.compressors if c not in ("lzma", "zlib", "zstd")]
    if bad:
        raise ValueError(f"language: unknown compressor(s) {bad}; known: lzma, zlib, zstd")
    refit = [float(x) for x in _listify(opts.powerlaw_refit_range)]
    if len(refit) != 2 or not 1.0 < refit[0] < refit[1]:
        raise ValueError(f"language: powerlaw_refit_range must be two numbers 1 < lo < hi, got {refit}")
    opts.powerlaw_refit_range = (refit[0], refit[1])
    opts.levels = _levels(opts.levels)
    if isinstance(opts.powerlaw_max_types, str) and opts.powerlaw_max_types.lower() == "none":
        opts.powerlaw_max_types = None
    if opts.n_max < 1 or opts.lm_order < 1 or opts.innovation_n < 1 or opts.innovation_permutations < 1:
        raise ValueError("language: n_max, lm_order, innovation_n and innovation_permutations must be >= 1")
    if opts.smoothing not in ("kneser-ney", "add-k"):
        raise ValueError(f"language: smoothing must be 'kneser-ney' or 'add-k', got {opts.smoothing!r}")
    if not 0.0 <= opts.heldout_fraction < 1.0:
        raise ValueError(f"language: heldout_fraction must be in [0, 1), got {opts.heldout_fraction}")
    if not 0.0 < opts.kn_discount < 1.0:
        raise ValueError(f"language: kn_discount must be in (0, 1), got {opts.kn_discount}")
    return opts


def _nominal_bits(k: float) -> float:
    return float(math.ceil(math.log2(k))) if k > 1 else 0.0


class LanguageStats:
    """The whole token-language analysis of one corpus, fed one image at a time."""

    def __init__(
        self, opts: LanguageOptions, codebook_sizes: Sequence[int | None] | None = None, token_layout: str = "2d"
    ) -> None:
        self.opts = opts
        self.declared = [int(k) if k else None for k in (codebook_sizes or [])]
        self.layout = token_layout
        self.n_levels: int | None = None
        self.sizes: list[int | None] = []
        self.level_rate: list[RateStats] = []
        self.level_unigram: list[NgramCounter] = []
        self.streams: dict[str, StreamStats] = {}
        self.joint_exact = False
        self.dropped: dict[str, str] = {}  # streams given up on, with the reason
        self.heldout_images = 0

    # -- setup on the first image ------------------------------------------------------------
    def _start(self, n_levels: int) -> None:
        self.n_levels = n_levels
        if len(self.declared) in (0, 1):
            self.sizes = [self.declared[0] if self.declared else None] * n_levels
        elif len(self.declared) == n_levels:
            self.sizes = list(self.declared)
        else:
            raise ValueError(f"language: {len(self.declared)} codebook sizes for {n_levels} code levels")
        self.level_rate = [RateStats() for _ in range(n_levels)]
        self.level_unigram = [NgramCounter(1, k) for k in self.sizes]
        for name in self._stream_names():
            # the joint tuple has no fixed-width serialisation of its own: no general-purpose compressors
            compress = name != "joint"
            self.streams[name] = StreamStats(name, self._stream_bound(name), self.opts, compress)

    def _stream_names(self) -> list[str]:
        n = self.n_levels or 0
        multi_scale = self.layout == "multi_scale"
        extra = [] if n < 2 else (["concat"] if multi_scale else ["joint"])
        sel = self.opts.levels
        if sel == "all":
            return [f"level{i}" for i in range(n)] + extra
        if sel == "default":
            if n < 2:
                return ["level0"]
            return ["concat", f"level{n - 1}"] if multi_scale else ["level0", "joint"]
        names = []
        for entry in sel:
            name = entry if entry in ("joint", "concat") else f"level{int(entry)}"
            if name not in [f"level{i}" for i in range(n)] + extra:
                raise ValueError(f"language: stream {entry!r} does not exist for {n} level(s), layout {self.layout!r}")
            names.append(name)
        return names

    def _stream_bound(self, name: str) -> int | None:
        if name.startswith("level"):
            return self.sizes[int(name[5:])]
        if name == "concat":
            return None if None in self.sizes else max(s for s in self.sizes if s is not None)
        total = math.prod(s for s in self.sizes if s is not None)
        self.joint_exact = None not in self.sizes and total <= _JOINT_EXACT_MAX
        return total if self.joint_exact else None

    # -- feeding -----------------------------------------------------------------------------
    def update(
        self, image_id: str, levels: Sequence[np.ndarray], pixels: float | None = None, heldout: bool = False
    ) -> None:
        """Add one image: its linearised codes per level (1-D int arrays), the pixel count of the
        tokenizer input (for bpp) and whether it belongs to the held-out LM split."""
        seqs = [np.asarray(s, dtype=np.int64).reshape(-1) for s in levels]
        if self.n_levels is None:
            self._start(len(seqs))
        if len(seqs) != self.n_levels:
            raise ValueError(
                f"language: image {image_id!r} has {len(seqs)} code levels, earlier images {self.n_levels}"
            )
        self._check_ids(image_id, seqs)
        for i, seq in enumerate(seqs):
            self.level_rate[i].update(seq, pixels, ttr=False)
            self.level_unigram[i].update(seq)
        keys = image_keys(image_id, self.opts.seed, self.opts.innovation_permutations)
        self.heldout_images += int(heldout)
        for name, stream in self.streams.items():
            if name in self.dropped:
                continue
            sentence = self._sentence(name, seqs, image_id)
            if sentence is None:
                continue
            stream.update(sentence, keys, pixels, heldout)

    def _check_ids(self, image_id: str, seqs: list[np.ndarray]) -> None:
        for i, (seq, k) in enumerate(zip(seqs, self.sizes, strict=True)):
            if seq.size and (seq.min() < 0 or (k is not None and seq.max() >= k)):
                raise ValueError(
                    f"language: image {image_id!r} level {i} has codes in "
                    f"[{seq.min()}, {seq.max()}], "
                    f"outside the codebook [0, {k if k is not None else 'inf'})"
                )

    def _sentence(self, name: str, seqs: list[np.ndarray], image_id: str) -> np.ndarray | None:
        """The sentence of stream ``name`` for this image (None: the stream is dropped)."""
        if name.startswith("level"):
            return seqs[int(name[5:])]
        if name == "concat":
            return np.concatenate(seqs)
        if len({s.size for s in seqs}) != 1:
            # a whole run should not fail here: report the levels and say why joint is missing
            self.dropped[name] = (
                f"image {image_id!r}: levels of different lengths {[s.size for s in seqs]} "
                "have no joint tuple (multi-scale codes need token_layout='multi_scale')"
            )
            return None
        if self.joint_exact:
            ids = np.zeros(seqs[0].size, dtype=np.int64)
            for seq, k in zip(seqs, self.sizes, strict=True):
                ids = ids * int(k) + seq  # type: ignore[arg-type]
            return ids
        return pack_rows(np.stack(seqs, axis=1), None)

    # -- results -----------------------------------------------------------------------------
    def _level_sizes(self) -> tuple[list[int], list[bool]]:
        """Codebook size per level: declared, else max id + 1 (flagged as inferred)."""
        pairs = zip(self.sizes, self.level_rate, strict=True)
        sizes = [k if k is not None else max(1, r.max_id + 1) for k, r in pairs]
        return sizes, [k is None for k in self.sizes]

    def _stream_size(self, name: str, sizes: list[int]) -> tuple[float, float]:
        """(K, nominal bits per token) of a stream."""
        if name.startswith("level"):
            k = sizes[int(name[5:])]
            return float(k), _nominal_bits(k)
        if name == "concat":
            return float(max(sizes)), _nominal_bits(max(sizes))
        return float(math.prod(sizes)), sum(_nominal_bits(k) for k in sizes)

    def _corpus_rate(self, sizes: list[int]) -> dict[str, float]:
        out = {"n_images": float(self.level_rate[0].images)}
        s = [r.summary() for r in self.level_rate]
        bits = [_nominal_bits(k) for k in sizes]
        h1 = [entropy_bits(c.counts()) for c in self.level_unigram]
        out["rate.tokens_per_image"] = float(sum(x["mean"] for x in s))
        out["rate.bits_per_image_nominal"] = float(sum(x["mean"] * b for x, b in zip(s, bits, strict=True)))
        tpp = [x["tokens_per_pixel"] for x in s]
        if all(math.isfinite(t) for t in tpp):
            bpp = sum(t * b for t, b in zip(tpp, bits, strict=True))
            out["rate.bpp_nominal"] = bpp
            out["rate.bpp_entropy"] = sum(t * h for t, h in zip(tpp, h1, strict=True))
            out["rate.compression_factor_rgb"] = self.opts.raw_bits_per_pixel / bpp if bpp > 0 else math.nan
        return out

    def compute(self) -> dict[str, Any]:
        """``{"metrics": flat name -> float, "extra": details, curves and options}``."""
        extra: dict[str, Any] = {"options": options_record(self.opts), "conventions": CONVENTIONS}
        if self.n_levels is None:
            return {"metrics": {}, "extra": {**extra, "n_images": 0}}
        sizes, inferred = self._level_sizes()
        metrics = self._corpus_rate(sizes)
        extra.update(
            n_images=self.level_rate[0].images,
            levels=self.n_levels,
            token_layout=self.layout,
            codebook_sizes=sizes,
            codebook_size_inferred=inferred,
            heldout_images=self.heldout_images,
            streams_dropped=dict(self.dropped),
            streams={},
        )
        for name, stream in self.streams.items():
            if name in self.dropped:
                continue
            k, bits = self._stream_size(name, sizes)
            m, details = stream.compute(k, bits)
            metrics.update({f"{name}.{key}": value for key, value in m.items()})
            extra["streams"][name] = details
        return {"metrics": metrics, "extra": extra}


def options_record(opts: LanguageOptions) -> dict[str, Any]:
    """The options as JSON-ready values (tuples as lists)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(opts).items()}
