"""``face``: TokBench's F-Sim, identity similarity of each ground-truth face after reconstruction.

Per face: an alignment is computed once from the ORIGINAL image and the ground-truth keypoints (never
by detecting on the reconstruction), applied to both the original and the restored reconstruction,
both crops are embedded by the face backend, and F-Sim is the cosine similarity of the two embeddings
(0..1 scale as published). Faces fall into TokBench's newer face scale buckets by ``ratio``; the
headline is the unweighted mean of the three bucket means.

Backends (``face=``): ``dlib`` (default, offline; dlib's own chip alignment; also reports the L2
distance and the same-identity rate at dlib's 0.6 threshold; its cosine is compressed, unrelated faces
score ~0.85), ``antelopev2`` (TokBench's glintr100.onnx) and ``buffalo_l`` (w600k_r50.onnx), both
aligned to the 112x112 ArcFace template from the keypoints. Options: face (a backend spec: ``dlib``,
``dlib:rect=box``, ``antelopev2:model_path=FILE``, ``my_face.py:MyFace``), batch_size, edges, on
(restored | original).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from tokbench.backends import build_face
from tokbench.backends.face import cosine, face_ratio, l2
from tokbench.errors import ConfigError
from tokbench.metric_spec import HIGHER, MetricSpec, bucketed
from tokbench.metrics.buckets import bucket_of, edges_for, per_dataset, summarize
from tokbench.metrics.face_align import BadKeypoints
from tokbench.stats.estimand import Estimand, bucketed_estimands
from tokbench.suite import BackendSuite, Item

_DEFAULTS: dict[str, Any] = {"face": "dlib", "batch_size": 32, "edges": None, "on": "restored"}


class FaceSuite(BackendSuite):
    name = "face"
    version = "1"
    annotation_kind = "faces"
    example_score = "f_sim"

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(_DEFAULTS, options)
        if merged["on"] not in ("restored", "original"):
            raise ConfigError(f"face: on must be 'restored' or 'original', got {merged['on']!r}")
        if merged["edges"] is not None:
            edges_for("face", 0, merged["edges"])
        super().__init__(**merged)
        # the backend's own options travel in its spec: face="dlib:rect=box", "antelopev2:model_path=FILE"
        self.backend = build_face(str(merged["face"]), batch_size=int(merged["batch_size"]))
        self._ready = False
        self.timings: defaultdict[str, float] = defaultdict(int)  # seconds, and counts

    def metric_specs(self) -> list[MetricSpec]:
        """F-Sim (cosine), Mean and by scale; L2 and the same-identity rate are listed, not gated."""
        return bucketed("f_sim", "F-Sim", HIGHER, 2, "0.005", "0.01", group="face")

    def estimands(self) -> dict[str, Estimand]:
        fields = {"f_sim": "f_sim", "l2": "l2", "same_identity_rate": "same_identity"}
        return bucketed_estimands(fields, 1.0)

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = [[] for _ in items]
        pending: list[dict[str, Any]] = []
        chips_a: list[np.ndarray] = []
        chips_b: list[np.ndarray] = []
        for item, rec, face in self.instances(items, out):
            target = item.restored if self.options["on"] == "restored" else item.original
            height, width = item.original.shape[:2]
            edges = edges_for("face", item.resolution, self.options["edges"])
            ratio = face.get("ratio")
            if not isinstance(ratio, (int, float)) or isinstance(ratio, bool):
                ratio = face_ratio(face.get("box"), height, width)
                rec["ratio_source"] = "computed" if ratio is not None else "missing"
            rec.update(ratio=ratio, bucket=bucket_of(ratio, edges))
            if ratio is None:
                rec["skip"] = "missing ratio"
                continue
            try:
                t0 = time.perf_counter()
                alignment = self.backend.prepare(item.original, face)
                chips_a.append(self.backend.chip(item.original, alignment))
                chips_b.append(self.backend.chip(target, alignment))
                self.timings["align_s"] += time.perf_counter() - t0
            except BadKeypoints as e:
                rec["skip"] = e.reason
                continue
            pending.append(rec)
        if pending:
            t0 = time.perf_counter()
            emb = self.backend.embed(chips_a + chips_b)
            self.timings["embed_s"] += time.perf_counter() - t0
            self.timings["faces"] += len(pending)
            n = len(pending)
            threshold = getattr(self.backend, "threshold", None)
            for j, rec in enumerate(pending):
                rec["f_sim"] = cosine(emb[j], emb[n + j])
                if threshold is not None:
                    rec["l2"] = l2(emb[j], emb[n + j])
                    rec["same_identity"] = float(rec["l2"] <= threshold)
        return out

    def example_pair(self, item: Item, record: dict[str, Any]) -> Any:
        """The aligned chips of the original and the reconstruction the embeddings were taken from."""
        face = (item.annotations.get("faces") or [])[record.get("index", 0)]
        try:
            alignment = self.backend.prepare(item.original, face)
            return self.backend.chip(item.original, alignment), self.backend.chip(item.restored, alignment)
        except BadKeypoints:
            return None

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        edges = edges_for("face", resolution, self.options["edges"])
        scored = [r for r in records if "skip" not in r]
        fields = {"f_sim": "f_sim"}
        if scored and all("l2" in r for r in scored):
            fields.update(l2="l2", same_identity_rate="same_identity")
        summary = summarize(scored, fields, edges, scale=1.0)
        skipped = Counter(str(r["skip"]) for r in records if "skip" in r)
        extra: dict[str, Any] = {
            "face": self.backend.fingerprint(),
            "edges": list(edges),
            "units": "f_sim = cosine similarity (0..1); mean = unweighted mean of the three bucket means",
            "counts": {
                **summary["counts"],
                "skipped": dict(skipped),
                "ratio_computed": sum(1 for r in records if r.get("ratio_source") == "computed"),
            },
            "all_instances": summary["all"],
            "per_dataset": per_dataset(scored, fields, edges),
            "empty_buckets": [b for b, v in summary["buckets"].items() if v["n"] == 0],
        }
        if hasattr(self.backend, "identity"):  # the backend without paths: what the report compares
            extra["identity"] = {"face": self.backend.identity()}
        if getattr(self.backend, "threshold", None) is not None:
            extra["same_identity_threshold_l2"] = self.backend.threshold
            extra["note"] = (
                "dlib cosine is compressed (unrelated faces ~0.85); l2 <= 0.6 is dlib's "
                "same-identity rule; not comparable to TokBench's ArcFace F-Sim"
            )
        return {"metrics": summary["metrics"], "buckets": summary["buckets"], "extra": extra}
