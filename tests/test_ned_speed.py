"""T-NED's edit distance: same numbers as the textbook table, without its quadratic Python loop
(issue #23, item 11c: a 10,000-character string took 53 s in ``tokbench import``)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tokbench.metrics.text import edit_distance, ned_score, text_scores


def _table_distance(a: str, b: str) -> int:
    """The Wagner-Fischer table, row by row: the definition the fast version must reproduce."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _table_ned(gt: str, pred: str) -> float:
    denom = max(len(gt), len(pred))
    return 1.0 if denom == 0 else 1.0 - _table_distance(gt, pred) / denom


ALPHABET = "abcABC 0.-éÉßİı中文😀\u0301\u200b"
texts = st.text(alphabet=st.sampled_from(ALPHABET), max_size=90)


@settings(max_examples=400, deadline=None)
@given(texts, texts)
def test_distance_and_ned_equal_the_table_on_random_unicode(a: str, b: str) -> None:
    assert edit_distance(a, b) == _table_distance(a, b)
    assert ned_score(a, b) == _table_ned(a, b)  # bit for bit: same integer over the same denominator


@settings(max_examples=100, deadline=None)
@given(texts, texts, texts)
def test_shared_prefix_and_suffix_do_not_change_the_distance(head: str, a: str, b: str) -> None:
    tail = head[::-1]
    assert edit_distance(head + a + tail, head + b + tail) == _table_distance(head + a + tail, head + b + tail)


def test_long_random_strings_match_the_table() -> None:
    rng = random.Random(23)
    for n, m in ((300, 280), (65, 64), (64, 1), (129, 200)):  # around the 64-bit word boundaries too
        a = "".join(rng.choice(ALPHABET) for _ in range(n))
        b = "".join(rng.choice(ALPHABET) for _ in range(m))
        assert edit_distance(a, b) == _table_distance(a, b)


def test_the_distance_steps_grow_linearly_not_quadratically() -> None:
    # 10,000 characters took 53 s in `import`: the old distance ran its inner line n x m times. Counted
    # here in executed lines of tokbench.metrics.text (deterministic, unlike a timing): bit-parallel
    # rows cost a few lines per character of one string, whatever the other's length.
    import sys

    import tokbench.metrics.text as text_module

    def steps(n: int) -> int:
        rng = random.Random(n)
        gt = "".join(rng.choice(ALPHABET) for _ in range(n))
        pred = "".join(rng.choice(ALPHABET) for _ in range(n))
        count = 0

        def tracer(frame: Any, event: str, arg: Any) -> Any:
            nonlocal count
            if frame.f_code.co_filename == text_module.__file__:
                if event == "line":
                    count += 1
                return tracer
            return None

        sys.settrace(tracer)
        try:
            scores = text_scores(gt, pred)
        finally:
            sys.settrace(None)
        assert 0.0 < scores["ned"] < 1.0 and scores["acc"] == 0.0
        return count

    small, large = steps(500), steps(2_000)
    assert large < 6 * small, (small, large)  # 4x the characters: ~4x the steps (a table: 16x)
    assert large < 50 * 2_000  # a few dozen lines per character at most (a table: 4 M)
