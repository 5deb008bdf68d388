"""Room 3 of a run: reconstructions become per-instance records, through the record cache.

A suite sees only the images its annotations concern, and only those whose records are not
cached under (reconstruction key, suite identity and code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokbench.cache import content_key
from tokbench.errors import ContractError
from tokbench.suite import Item, Skip, Suite

if TYPE_CHECKING:
    from tokbench.build import RunContext


def record_key(item_key: str, suite_key: str, image_id: str, annotations: dict[str, Any]) -> str:
    """Where an item's records are cached: its reconstruction, the suite's identity, and what the records
    carry or depend on besides pixels, the item's id and annotations (an edited annotation file, or the same
    pixels under another name or set, never reuse another's records)."""
    return content_key("records", item_key, suite_key, image_id, annotations)


def score(ctx: RunContext, suite: Suite, items: list[tuple[Item, str]], sink: list[dict[str, Any]]) -> None:
    """Append ``suite``'s records of ``items`` (each with its reconstruction key) to ``sink``, in order."""
    kind = suite.annotation_kind
    relevant = [(it, k) for it, k in items if kind is None or kind in it.annotations]
    suite_key = ctx.suite_keys[suite.name]
    keys = [record_key(k, suite_key, it.image_id, it.annotations) for it, k in relevant]
    cache = ctx.caches.records
    cached = [cache.get(k) for k in keys]
    missing = [i for i, c in enumerate(cached) if c is None]
    if suite.needs_codes and missing:
        # continuous models: one skip record per image, no suite call
        for i in [i for i in missing if relevant[i][0].codes is None]:
            cached[i] = [{"image_id": relevant[i][0].image_id, "skip": "needs discrete codes"}]
            missing.remove(i)
    if missing:
        try:
            fresh = suite.process([relevant[i][0] for i in missing])
        except Skip as e:
            fresh = [[{"image_id": relevant[i][0].image_id, "skip": str(e)}] for i in missing]
        if len(fresh) != len(missing):
            raise ContractError(f"suite {suite.name!r} returned {len(fresh)} record lists for {len(missing)} images")
        for i, recs in zip(missing, fresh, strict=True):
            for r in recs:
                r.setdefault("image_id", relevant[i][0].image_id)
            # what the cache returns, not the fresh objects: a resumed run then sees exactly the same records
            cached[i] = ctx.caches.write(cache.put, keys[i], recs)
    for got in cached:
        sink.extend(got or [])
