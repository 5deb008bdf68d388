"""Per-instance text metrics: T-ACC (exact match) and T-NED, with case-insensitive variants.

As TokBench (``doctr/utils/metrics.py: string_match_with_ned``): T-ACC compares the raw strings,
case-sensitive, with no normalisation; T-NED = 1 - edit_distance(gt, pred) / max(len(gt), len(pred))
on raw strings (ICDAR 2019). The edit distance is our own Levenshtein with the semantics of
``nltk.edit_distance`` defaults (unit insert/delete/substitute, no transpositions, over Python code
points), computed with Hyyrö's bit-vector form of Myers' algorithm: Python integers serve as bit
vectors, so it costs about ``len(a) * len(b) / 64`` word operations in linear memory (a pair of
10,000-character strings takes a tenth of a second, not a minute) and gives the textbook table's
distance. No length cap. Case-insensitive variants lower-case both strings (``str.lower``, as
docTR's "caseless") and keep the raw lengths as the NED denominator, like TokBench; they are
reported beside the raw metrics, never instead of them. Bucketing lives in
:mod:`tokbench.metrics.buckets`.
"""

from __future__ import annotations

from tokbench.metrics.buckets import BUCKETS, bucket_of, edges_for, macro_mean, summarize

__all__ = [
    "BUCKETS",
    "bucket_of",
    "edges_for",
    "macro_mean",
    "summarize",
    "edit_distance",
    "ned_score",
    "text_scores",
    "outside_charset",
]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (insert, delete, substitute each cost 1)."""
    if a == b:
        return 0
    # a shared prefix and suffix never change the distance; dropping them shortens the bit vectors
    head = 0
    for ca, cb in zip(a, b, strict=False):  # stops at the shorter string on purpose
        if ca != cb:
            break
        head += 1
    a, b = a[head:], b[head:]
    tail = 0
    for ca, cb in zip(reversed(a), reversed(b), strict=False):
        if ca != cb:
            break
        tail += 1
    if tail:
        a, b = a[:-tail], b[:-tail]
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    # Hyyrö (2001): the columns of the DP table as bit vectors of +1/-1 vertical deltas (pv/mv)
    # over the shorter string; one pass over the longer string updates a whole column at once.
    peq: dict[str, int] = {}
    for i, c in enumerate(b):
        peq[c] = peq.get(c, 0) | (1 << i)
    mask = (1 << m) - 1
    top = 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for c in a:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & mask  # row 0 of the table grows by 1 per column: shift in a +1
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


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
