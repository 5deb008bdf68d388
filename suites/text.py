"""``text``: TokBench's T-ACC / T-NED on ground-truth text crops of the reconstruction, by scale.

Per text instance: the crop is cut from the restored reconstruction at the ground-truth ``bbox``
(axis-aligned box or 4-point polygon, no detection; :mod:`tokbench.data.crops`), read by the OCR
backend (``ocr=easyocr`` default, offline; ``parseq`` = the paper's docTR PARSeq; ``rapidocr``), and
scored against ``rec``: exact match (T-ACC) and 1 - normalised edit distance (T-NED), raw and
case-insensitive. Instances fall into TokBench's scale buckets by ``ratio`` (per resolution); the
headline is the unweighted mean of the three bucket means, in %, as published.

Nothing is dropped silently: an instance whose crop cannot be made is a skip record with its reason;
one below the smallest bucket is still read and recorded (bucket "below") but left out of the bucket
means; one whose ground truth has characters the OCR cannot emit is read and flagged (``oov``), or,
with ``charset_filter=true``, skipped with a reason (TokBench instead drops the whole batch of 64).
Options: ocr (a backend spec: ``easyocr``, ``parseq:weights=FILE``, ``my_ocr.py:MyOcr``), batch_size,
charset_filter, edges (e0/e1/e2 override), on (restored | original).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from tokbench.backends import build_ocr
from tokbench.data.crops import cut
from tokbench.errors import ConfigError
from tokbench.metric_spec import HIGHER, MetricSpec, bucketed
from tokbench.metrics.buckets import bucket_of, edges_for, per_dataset, summarize
from tokbench.metrics.text import outside_charset, text_scores
from tokbench.stats.estimand import Estimand, bucketed_estimands
from tokbench.suite import BackendSuite, Item

if TYPE_CHECKING:
    from tokbench.data.dataset import Dataset

_DEFAULTS: dict[str, Any] = {
    "ocr": "easyocr",
    "batch_size": 64,
    "charset_filter": False,
    "edges": None,
    "on": "restored",
}
FIELDS = {"t_acc": "acc", "t_ned": "ned", "t_acc_ci": "acc_ci", "t_ned_ci": "ned_ci"}
OOV_SKIP = "ground truth outside the OCR charset"


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "on", "off", "instance", "none"):
        return value.lower() in ("true", "on", "instance")
    raise ConfigError(f"text: {name} must be true or false, got {value!r}")


def text_ratio(ann: dict[str, Any], crop_width: int | None, height: int, width: int) -> tuple[float | None, str]:
    """The instance ``ratio`` and where it came from ("annotation" or "computed" from the crop)."""
    ratio = ann.get("ratio")
    if isinstance(ratio, (int, float)) and not isinstance(ratio, bool):
        return float(ratio), "annotation"
    rec = ann.get("rec")
    if crop_width and isinstance(rec, str) and rec:
        # TokBench's ratio (inferred from its data): box extent per character / longer image side
        return crop_width / (len(rec) * max(height, width)), "computed"
    return None, "missing"


class TextSuite(BackendSuite):
    name = "text"
    version = "1"
    annotation_kind = "text"
    example_score = "ned"

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(_DEFAULTS, options)
        merged["charset_filter"] = _flag(merged["charset_filter"], "charset_filter")
        if merged["on"] not in ("restored", "original"):
            raise ConfigError(f"text: on must be 'restored' or 'original', got {merged['on']!r}")
        if merged["edges"] is not None:
            edges_for("text", 0, merged["edges"])  # validate now
        super().__init__(**merged)
        # the backend's own options travel in its spec: ocr="parseq:weights=FILE"
        self.backend = build_ocr(str(merged["ocr"]), batch_size=int(merged["batch_size"]))
        self._ready = False
        self.timings: defaultdict[str, float] = defaultdict(int)  # seconds, and counts
        self._caps: dict[tuple[str, int], int] = {}  # (image, annotation index) -> decode cap, for wants_caps

    def begin(self, dataset: Dataset) -> None:
        """A backend that decodes as the reference (``parseq:decode=reference``) caps each instance by its
        batch of the set in annotation order; compute those caps from the set's annotations."""
        if not getattr(self.backend, "wants_caps", False):
            return
        from tokbench.backends.ocr_parseq import reference_caps

        keys, labels = [], []
        for sample in dataset.samples:
            for i, ann in enumerate(sample.annotations.get("text") or []):
                rec = ann.get("rec") if isinstance(ann, dict) else None
                keys.append((sample.image_id, i))
                labels.append(rec if isinstance(rec, str) else "")
        self._caps = dict(zip(keys, reference_caps(labels), strict=True))

    def fingerprint(self) -> dict[str, Any]:
        """With capped decoding a record depends on its batch: the caps are part of the identity."""
        ident = super().fingerprint()
        if self._caps:
            from tokbench.hashing import sha256_bytes

            ident["decode_caps"] = sha256_bytes(json.dumps(sorted(self._caps.items())).encode())
        return ident

    def metric_specs(self) -> list[MetricSpec]:
        """T-ACC and T-NED (percent), Mean and by scale; the pooled, per-dataset and case-insensitive
        variants are left undeclared: listed, not gated."""
        return [
            *bucketed("t_acc", "T-ACC", HIGHER, 2, "0.5", "1.0", "%", "text"),
            *bucketed("t_ned", "T-NED", HIGHER, 2, "0.5", "1.0", "%", "text"),
        ]

    def estimands(self) -> dict[str, Estimand]:
        return bucketed_estimands(FIELDS, 100.0)

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = [[] for _ in items]
        # one OCR call per image: networks' outputs move in the last bits with the batch they share
        # (EasyOCR confidences by ~1e-7), so reading images together would make an image's records
        # depend on its batch neighbours, which differ between shards, resumes and batch sizes
        by_image: dict[int, list[tuple[dict[str, Any], Any]]] = {}
        charset = getattr(self.backend, "charset", None)
        for item, rec, ann in self.instances(items, out):
            image = item.restored if self.options["on"] == "restored" else item.original
            height, width = item.original.shape[:2]
            edges = edges_for("text", item.resolution, self.options["edges"])
            gt = ann.get("rec")
            if not isinstance(gt, str):
                rec["skip"] = "missing rec"
                continue
            rec["gt"] = gt
            if gt == "":
                rec["skip"] = "empty ground truth"
                continue
            crop = cut(image, ann.get("bbox"))
            crop_width = None if crop.image is None else crop.image.shape[1]
            ratio, source = text_ratio(ann, crop_width, height, width)
            rec.update(ratio=ratio, bucket=bucket_of(ratio, edges), geometry=crop.kind)
            if source != "annotation":
                rec["ratio_source"] = source
            if crop.clipped:
                rec["clipped"] = True
            if crop.skip:
                rec.update(skip=crop.skip, detail=crop.detail)
                continue
            if ratio is None:
                rec["skip"] = "missing ratio"
                continue
            oov = outside_charset(gt, charset)
            if oov:
                rec["oov"] = oov
                if self.options["charset_filter"]:
                    rec["skip"] = OOV_SKIP
                    continue
            if getattr(self.backend, "wants_caps", False):
                cap = self._caps.get((item.image_id, rec["index"]))
                if cap is None:
                    raise RuntimeError(f"text: no decode cap for {item.image_id} #{rec['index']} (begin() not called)")
                rec["decode_cap"] = cap
            by_image.setdefault(id(item), []).append((rec, crop.image))
        for group in by_image.values():
            t0 = time.perf_counter()
            crops = [img for _, img in group]
            readings = (
                self.backend.recognize(crops, caps=[r["decode_cap"] for r, _ in group])
                if getattr(self.backend, "wants_caps", False)
                else self.backend.recognize(crops)
            )
            self.timings["ocr_s"] += time.perf_counter() - t0
            self.timings["crops"] += len(group)
            for (rec, _), reading in zip(group, readings, strict=True):
                rec["pred"] = reading.text
                if reading.confidence is not None:
                    rec["conf"] = round(float(reading.confidence), 6)
                rec.update(text_scores(rec["gt"], reading.text))
        return out

    def example_pair(self, item: Item, record: dict[str, Any]) -> Any:
        """The instance's ground-truth crop from the original and from the reconstruction."""
        ann = (item.annotations.get("text") or [])[record.get("index", 0)]
        a, b = cut(item.original, ann.get("bbox")), cut(item.restored, ann.get("bbox"))
        return None if a.image is None or b.image is None else (a.image, b.image)

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        edges = edges_for("text", resolution, self.options["edges"])
        scored = [r for r in records if "skip" not in r]
        summary = summarize(scored, FIELDS, edges, scale=100.0)
        skipped = Counter(str(r["skip"]) for r in records if "skip" in r)
        extra: dict[str, Any] = {
            "ocr": self.backend.fingerprint(),
            "edges": list(edges),
            "units": "t_* in %, mean = unweighted mean of the small/medium/large bucket means",
            "counts": {
                **summary["counts"],
                "skipped": dict(skipped),
                "oov": sum(1 for r in records if r.get("oov")),
                "clipped": sum(1 for r in records if r.get("clipped")),
                "ratio_computed": sum(1 for r in records if r.get("ratio_source") == "computed"),
            },
            "all_instances": summary["all"],
            "per_dataset": per_dataset(scored, FIELDS, edges, scale=100.0),
            "empty_buckets": [b for b, v in summary["buckets"].items() if v["n"] == 0],
        }
        if hasattr(self.backend, "identity"):  # the backend without paths: what the report compares
            extra["identity"] = {"ocr": self.backend.identity()}
        return {"metrics": summary["metrics"], "buckets": summary["buckets"], "extra": extra}
