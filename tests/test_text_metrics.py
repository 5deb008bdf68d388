"""T-ACC / T-NED, edit distance, scale buckets and the macro mean (pure Python, fast)."""

from __future__ import annotations

import itertools
import math

import pytest

from tokbench.metrics.buckets import (
    BELOW,
    FACE_EDGES,
    TEXT_EDGES,
    bucket_of,
    edges_for,
    macro_mean,
    parse_edges,
    per_dataset,
    summarize,
)
from tokbench.metrics.text import edit_distance, ned_score, outside_charset, text_scores


def _reference_distance(a: str, b: str) -> int:
    """Plain recursive Levenshtein with memo (the definition, as nltk.edit_distance defaults)."""
    memo: dict[tuple[int, int], int] = {}

    def d(i: int, j: int) -> int:
        if (i, j) not in memo:
            if i == 0 or j == 0:
                memo[i, j] = i + j
            else:
                memo[i, j] = min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))
        return memo[i, j]

    return d(len(a), len(b))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("kitten", "sitting", 3),
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("abc", "abc", 0),
        ("abc", "xyz", 3),
        ("flaw", "lawn", 2),
        ("ab", "ba", 2),  # no transpositions, as nltk's default
        ("café", "cafe", 1),
        ("Zürich", "Zurich", 1),
        ("日本語", "日本", 1),
        ("a😀b", "ab", 1),
    ],
)
def test_edit_distance_hand_cases(a: str, b: str, expected: int) -> None:
    assert edit_distance(a, b) == expected
    assert edit_distance(b, a) == expected


def test_edit_distance_matches_definition_exhaustively() -> None:
    words = ["", "a", "ab", "ba", "abc", "acb", "bca", "aab", "Abc", "abcd"]
    for a, b in itertools.product(words, repeat=2):
        assert edit_distance(a, b) == _reference_distance(a, b), (a, b)


def test_ned_hand_cases() -> None:
    assert ned_score("", "") == 1.0  # both empty: identical
    assert ned_score("abc", "") == 0.0
    assert ned_score("", "abc") == 0.0
    assert ned_score("Coffee", "Coffee") == 1.0
    assert ned_score("abcd", "wxyz") == 0.0  # disjoint
    assert ned_score("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert ned_score("café", "cafe") == pytest.approx(0.75)  # unicode counts code points
    assert ned_score("日本語", "日本") == pytest.approx(1 - 1 / 3)


def test_text_scores_raw_and_case_insensitive() -> None:
    s = text_scores("Hello", "hello")
    assert s["acc"] == 0.0 and s["acc_ci"] == 1.0
    assert s["ned"] == pytest.approx(0.8) and s["ned_ci"] == 1.0
    same = text_scores("Room 42", "Room 42")
    assert same == {"acc": 1.0, "ned": 1.0, "acc_ci": 1.0, "ned_ci": 1.0}
    # no normalisation at all: whitespace and punctuation count
    assert text_scores("OPEN!", "OPEN")["acc"] == 0.0
    assert text_scores(" a", "a")["acc"] == 0.0


def test_outside_charset() -> None:
    assert outside_charset("café", "abcdef") == "é"
    assert outside_charset("Zürich ü", "Zrich ") == "ü"
    assert outside_charset("anything", None) == ""


@pytest.mark.parametrize("resolution", [256, 512, 1024])
def test_text_buckets_on_every_edge(resolution: int) -> None:
    e0, e1, e2 = TEXT_EDGES[resolution]
    assert bucket_of(e0, TEXT_EDGES[resolution]) == "small"
    assert bucket_of(math.nextafter(e0, 0), TEXT_EDGES[resolution]) == BELOW
    assert bucket_of(math.nextafter(e1, 0), TEXT_EDGES[resolution]) == "small"
    assert bucket_of(e1, TEXT_EDGES[resolution]) == "medium"
    assert bucket_of(math.nextafter(e2, 0), TEXT_EDGES[resolution]) == "medium"
    assert bucket_of(e2, TEXT_EDGES[resolution]) == "large"
    assert bucket_of(0.99, TEXT_EDGES[resolution]) == "large"
    assert bucket_of(5.0, TEXT_EDGES[resolution]) == "large"  # open-ended
    assert bucket_of(0.0, TEXT_EDGES[resolution]) == BELOW
    assert bucket_of(None, TEXT_EDGES[resolution]) == "unknown"


def test_published_edges() -> None:
    assert TEXT_EDGES == {256: (0.02, 0.03, 0.04), 512: (0.01, 0.02, 0.03), 1024: (0.005, 0.01, 0.02)}
    assert FACE_EDGES == {256: (0.1, 0.2, 0.3), 512: (0.05, 0.1, 0.2), 1024: (0.02, 0.05, 0.1)}
    assert edges_for("face", 512) == (0.05, 0.1, 0.2)
    assert edges_for("text", 999, "0.1/0.2/0.3") == (0.1, 0.2, 0.3)
    with pytest.raises(ValueError, match="edges=e0/e1/e2"):
        edges_for("text", 384)
    for bad in ("0.1/0.2", "0.3/0.2/0.1", "a/b/c", "0/0.1/0.2"):
        with pytest.raises(ValueError):
            parse_edges(bad)


def test_macro_mean_reproduces_published_resize_row() -> None:
    # TokBench leaderboard, Resize @256: T-ACC 86.05 / 94.65 / 98.37 -> Mean 93.02
    assert round(macro_mean([86.05, 94.65, 98.37]), 2) == 93.02
    # T-NED 92.98 / 97.22 / 99.38 -> 96.53 and F-Sim 0.85 / 0.97 / 0.98 -> 0.93
    assert round(macro_mean([92.98, 97.22, 99.38]), 2) == 96.53
    assert round(macro_mean([0.85, 0.97, 0.98]), 2) == 0.93
    assert macro_mean([1.0, None, 2.0]) is None  # an empty bucket leaves the mean undefined (NaN upstream)


def _inst(ratio: float, acc: float, dataset: str = "d") -> dict[str, float | str]:
    return {"ratio": ratio, "acc": acc, "dataset": dataset}


def test_summarize_hand_made_instances() -> None:
    edges = TEXT_EDGES[512]  # small [0.01, 0.02), medium [0.02, 0.03), large [0.03, inf)
    records = [
        _inst(0.005, 1.0),  # below: scored but not in any bucket
        _inst(0.01, 0.0),
        _inst(0.015, 1.0),  # small: 0.5
        _inst(0.02, 1.0),
        _inst(0.029, 1.0),
        _inst(0.025, 1.0),
        _inst(0.021, 0.0),  # medium: 0.75
        _inst(0.03, 1.0),
        _inst(0.5, 1.0),
        _inst(2.0, 1.0),  # large: 1.0
    ]
    s = summarize(records, {"t_acc": "acc"}, edges, scale=100.0)
    m = s["metrics"]
    assert m["t_acc_small"] == pytest.approx(50.0)
    assert m["t_acc_medium"] == pytest.approx(75.0)
    assert m["t_acc_large"] == pytest.approx(100.0)
    assert m["t_acc"] == pytest.approx(75.0)  # unweighted mean of bucket means
    assert m["t_acc_pooled"] == pytest.approx(100 * 7 / 9)  # instances in buckets only
    assert s["all"]["t_acc"] == pytest.approx(100 * 8 / 10)  # every scored instance, "below" included
    assert s["counts"] == {"scored": 10, "bucketed": 9, "below": 1, "no_ratio": 0}
    assert [s["buckets"][b]["n"] for b in ("small", "medium", "large")] == [2, 4, 3]
    assert s["buckets"]["large"]["range"] == [0.03, None]


def test_summarize_empty_bucket_gives_no_mean() -> None:
    s = summarize([_inst(0.015, 1.0), _inst(0.05, 0.0)], {"t_acc": "acc"}, TEXT_EDGES[512], 100.0)
    assert s["metrics"]["t_acc_medium"] is None
    assert s["metrics"]["t_acc"] is None
    assert s["metrics"]["t_acc_pooled"] == pytest.approx(50.0)


def test_per_dataset_means() -> None:
    records = [_inst(0.05, 1.0, "ic13"), _inst(0.05, 0.0, "ic13"), _inst(0.015, 1.0, "cord"), _inst(0.001, 0.0, "cord")]
    out = per_dataset(records, {"t_acc": "acc"}, TEXT_EDGES[512], 100.0)
    assert out["ic13"]["all_instances"]["t_acc"] == pytest.approx(50.0)
    assert out["cord"]["n"] == 2 and out["cord"]["n_bucketed"] == 1
    assert out["cord"]["t_acc_small"] == pytest.approx(100.0)
