"""Per-instance text metrics: T-ACC (exact match) and T-NED, with case-insensitive variants.

As TokBench (``doctr/utils/metrics.py: string_match_with_ned``): T-ACC compares the raw strings,
case-sensitive, with no normalisation; T-NED = 1 - edit_distance(gt, pred) / max(len(gt), len(pred))
on raw strings (ICDAR 2019). The edit distance is our own Levenshtein with the semantics of
``nltk.edit_distance`` defaults (unit insert/delete/substitute, no transpositions, over Python code
points). Case-insensitive variants lower-case both strings (``str.lower``, as docTR's "caseless") and
keep the raw lengths as the NED denominator, like TokBench; they are reported beside the raw metrics,
never instead of them. Bucketing lives in :mod:`tokbench.metrics.buckets`.
"""

from __future__ import annotations

from tokbench.metrics.buckets import BUCKETS, bucket_of, edges_for, macro_mean, summarize

__all__ = ["BUCKETS", "bucket_of", "edges_for", "macro_mean", "summarize", "edit_distance", "ned_score",
           "text_scores", "outside_charset"]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (insert, delete, substitute each cost 1)."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def ned_score(gt: str, pred: str, denominator: int | None = None) -> float:
    """1 - edit_distance / max(len(gt), len(pred)); two empty strings score 1."""
    denom = max(len(gt), len(pred)) if denominator is None else denominator
    if denom == 0:
        return 1.0
    return 1.0 - edit_distance(gt, pred) / denom


def text_scores(gt: str, pred: str) -> dict[str, float]:
    """``acc`` and ``ned`` (raw, case-sensitive) plus ``acc_ci`` and ``ned_ci`` (lower-cased)."""
    denom = max(len(gt), len(pred))
    return {
        "acc": float(gt == pred),
        "ned": ned_score(gt, pred),
        "acc_ci": float(gt.lower() == pred.lower()),
        "ned_ci": ned_score(gt.lower(), pred.lower(), denom),
    }


def outside_charset(text: str, charset: str | None) -> str:
    """Distinct characters of ``text`` not in ``charset``, in order; "" if none or the charset is unknown."""
    if charset is None:
        return ""
    allowed = set(charset)
    return "".join(dict.fromkeys(c for c in text if c not in allowed))
