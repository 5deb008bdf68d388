"""Held-out n-gram language-model perplexity of a token stream (our count-based implementation).

Images, not tokens, are split into train and held-out sets (:func:`heldout_ids`). Each image is
one sentence padded with ``n - 1`` ``<s>`` and one ``</s>``. Smoothing is interpolated
Kneser–Ney (absolute discount D; lower orders use continuation counts; the unigram level
interpolates with the uniform distribution over the K codes plus ``</s>``, so unseen codes get
mass) or add-k. The cross-entropy is averaged over the code tokens of the held-out images
(``</s>`` predictions are left out unless ``score_eos``), so it is in bits per token and
comparable with the unigram entropy. Held-out n-grams are kept as counts of types, so
memory does not grow with the number of images beyond the types.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from tokbench.metrics.language_counts import BOS, EOS, NgramCounter, exact_base, merge_sorted, pack_rows

SHIFT = 2  # BOS=-1 and EOS=-2 become 1 and 0 in exact keys


def heldout_ids(image_ids: list[str], fraction: float, seed: int) -> set[str]:
    """The held-out images: the round(fraction * M) ids (at least 1, at most M-1) ranking first
    under a seeded hash; independent of the order of ``image_ids``."""
    ids = sorted(set(image_ids))
    if len(ids) < 2 or fraction <= 0:
        return set()
    n_test = min(len(ids) - 1, max(1, round(fraction * len(ids))))

    def rank(image_id: str) -> bytes:
        return hashlib.sha256(f"tokbench.language.split:{seed}:{image_id}".encode()).digest()

    ranked = sorted(ids, key=rank)
    return set(ranked[:n_test])


def pad_sentence(seq: np.ndarray, order: int) -> np.ndarray:
    return np.concatenate(
        [np.full(order - 1, BOS, dtype=np.int64), np.asarray(seq, dtype=np.int64), np.array([EOS], dtype=np.int64)]
    )


def _group(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct key: sum of values and number of entries; keys ascending."""
    k, total, _ = merge_sorted(keys, values)
    types = merge_sorted(keys, np.ones_like(values))[1]
    return k, total, types


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[key == query], 0 where the query key is absent (keys sorted)."""
    if keys.size == 0:
        return np.zeros(query.shape, dtype=np.float64)
    idx = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    return np.where(keys[idx] == query, values[idx], 0).astype(np.float64)


class _Level:
    """One order of the model: n-gram counts and their history totals/type counts."""

    def __init__(self, rows: np.ndarray, counts: np.ndarray, base: int | None) -> None:
        self.k = rows.shape[1]
        self.base = base
        self.keys, self.counts, _ = merge_sorted(pack_rows(rows, base, SHIFT), counts.astype(np.int64))
        if self.k > 1:
            self.hist_keys, self.hist_total, self.hist_types = _group(
                pack_rows(rows[:, :-1], base, SHIFT), counts.astype(np.int64)
            )
        else:
            self.total, self.types = float(counts.sum()), float(counts.size)

    def count(self, rows: np.ndarray) -> np.ndarray:
        return _lookup(self.keys, self.counts, pack_rows(rows, self.base, SHIFT))

    def history(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(total count, number of continuation types) of each row's history."""
        q = pack_rows(rows[:, :-1], self.base, SHIFT)
        return _lookup(self.hist_keys, self.hist_total, q), _lookup(self.hist_keys, self.hist_types, q)


class NgramModel:
    """An order-n model fitted on unique training n-gram rows and their counts."""

    def __init__(
        self,
        rows: np.ndarray,
        counts: np.ndarray,
        order: int,
        vocab: float,
        id_bound: int | None,
        smoothing: str = "kneser-ney",
        discount: float = 0.75,
        add_k: float = 0.01,
    ) -> None:
        if smoothing not in ("kneser-ney", "add-k"):
            raise ValueError(f"smoothing must be 'kneser-ney' or 'add-k', got {smoothing!r}")
        self.order, self.vocab, self.smoothing = order, float(vocab), smoothing
        self.discount, self.add_k = discount, add_k
        self.base = exact_base(id_bound, order, SHIFT)
        self.levels: dict[int, _Level] = {order: _Level(rows, counts, self.base)}
        if smoothing == "kneser-ney":
            # lower orders count distinct left extensions (continuation counts)
            for k in range(order - 1, 0, -1):
                suffix = rows[:, 1:]
                _, n_ext, merged = merge_sorted(
                    pack_rows(suffix, self.base, SHIFT), np.ones(len(suffix), dtype=np.int64), suffix
                )
                assert merged is not None  # rows were passed in
                rows = merged
                self.levels[k] = _Level(rows, n_ext, self.base)

    def prob(self, rows: np.ndarray) -> np.ndarray:
        """p(w | h) for each row ``[h..., w]`` of length ``order``."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.smoothing == "add-k":
            return self._add_k(rows)
        return self._kn(rows, self.order)

    def _add_k(self, rows: np.ndarray) -> np.ndarray:
        top = self.levels[self.order]
        c = top.count(rows)
        total = top.history(rows)[0] if self.order > 1 else np.full(len(rows), top.total)
        return (c + self.add_k) / (total + self.add_k * self.vocab)

    def _kn(self, rows: np.ndarray, k: int) -> np.ndarray:
        level, d = self.levels[k], self.discount
        c = level.count(rows[:, -k:])
        if k == 1:
            return np.maximum(c - d, 0.0) / level.total + d * level.types / level.total / self.vocab
        total, types = level.history(rows[:, -k:])
        lower = self._kn(rows, k - 1)
        seen = total > 0
        safe = np.where(seen, total, 1.0)
        interp = np.maximum(c - d, 0.0) / safe + d * types / safe * lower
        return np.where(seen, interp, lower)  # unseen history: back off entirely


class HeldoutNgramLM:
    """Streaming train/held-out n-gram counts; :meth:`compute` fits and scores the model."""

    def __init__(
        self,
        order: int,
        id_bound: int | None,
        smoothing: str = "kneser-ney",
        discount: float = 0.75,
        add_k: float = 0.01,
        score_eos: bool = False,
    ) -> None:
        if order < 1:
            raise ValueError(f"lm order must be >= 1, got {order}")
        self.order, self.id_bound, self.smoothing = order, id_bound, smoothing
        self.discount, self.add_k, self.score_eos = discount, add_k, score_eos
        self.train = NgramCounter(order, id_bound, shift=SHIFT, keep_rows=True)
        self.test = NgramCounter(order, id_bound, shift=SHIFT, keep_rows=True)
        self.images = {"train": 0, "heldout": 0}

    def update(self, seq: np.ndarray, heldout: bool) -> None:
        padded = pad_sentence(seq, self.order)
        rows = np.lib.stride_tricks.sliding_window_view(padded, self.order)
        if heldout:
            self.test.add_rows(rows if self.score_eos else rows[:-1])
        else:
            self.train.add_rows(rows)
        self.images["heldout" if heldout else "train"] += 1

    def model(self, codebook_size: float) -> NgramModel | None:
        _, counts, rows = self.train.result()
        if rows is None or rows.size == 0:
            return None
        return NgramModel(
            rows, counts, self.order, codebook_size + 1, self.id_bound, self.smoothing, self.discount, self.add_k
        )

    def compute(self, codebook_size: float) -> dict[str, Any]:
        """Cross-entropy (bits/token), perplexity and perplexity / K on the held-out images."""
        out: dict[str, Any] = {
            "order": self.order,
            "smoothing": self.smoothing,
            "discount": self.discount if self.smoothing == "kneser-ney" else None,
            "add_k": self.add_k if self.smoothing == "add-k" else None,
            "vocab": codebook_size + 1,
            "score_eos": self.score_eos,
            "train_images": self.images["train"],
            "heldout_images": self.images["heldout"],
            "train_ngrams": self.train.n_windows,
            "heldout_tokens": self.test.n_windows,
            "xent_bits": math.nan,
            "ppl": math.nan,
            "ppl_over_k": math.nan,
        }
        _, test_counts, test_rows = self.test.result()
        model = self.model(codebook_size)
        if model is None or test_rows is None or test_rows.size == 0:
            out["reason"] = "empty train or held-out set"
            return out
        logp = np.log2(model.prob(test_rows))
        xent = float(-np.sum(test_counts * logp) / test_counts.sum())
        out.update(xent_bits=xent, ppl=2.0**xent, ppl_over_k=2.0**xent / codebook_size)
        return out
