"""``sweep``: legibility and identity thresholds from controlled scale sweeps (:mod:`tokbench.sweep`).

The suite brings its own data (:meth:`own_dataset`): a set generated for the run's canvas and the
tokenizer's patch grid (``info.downsample``; the ``grid`` option when a tokenizer declares none), so the
run reconstructs it like any dataset and hands the items here. Per text instance the OCR backend reads
the ground-truth box of the reconstruction (T-ACC / T-NED against the exact string); per face the face
backend embeds the reconstruction, aligned from the exact keypoints on the original, and compares it
with the identity's reference (its source photo at native size): F-Sim = cosine, same identity = the
backend's L2 rule (dlib: <= 0.6). ``f_sim_pair`` is TokBench's F-Sim (original vs reconstruction).

The ceiling is the same scoring on the original images, i.e. their reconstruction by ``identity`` (the
set is drawn at the canvas, so identity changes nothing): what the OCR / face model itself manages at
each size. It is computed once per (set hash, image, backend fingerprint) and cached as data.
Options: ocr, face, kinds (text,face), density (default | dense), seed, grid, resamples, batch_size.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.backends import build_face, build_ocr
from tokbench.backends.face import cosine, l2
from tokbench.cache import RecordCache, content_key
from tokbench.data.crops import cut
from tokbench.data.dataset import Dataset
from tokbench.errors import ConfigError
from tokbench.metric_spec import LOWER, MetricSpec
from tokbench.metrics.face_align import BadKeypoints
from tokbench.metrics.text import text_scores
from tokbench.suite import BackendSuite, Item
from tokbench.tokenizer import TokenizerInfo

_DEFAULTS: dict[str, Any] = {
    "ocr": "easyocr",
    "face": "dlib",
    "kinds": "text,face",
    "density": "default",
    "seed": 0,
    "grid": 16,
    "resamples": 200,
    "batch_size": 64,
}
CEILING_VERSION = "1"


def _int(value: Any, name: str, low: int) -> int:
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"sweep: {name} must be an integer, got {value!r}") from None
    if out < low:
        raise ConfigError(f"sweep: {name} must be >= {low}, got {out}")
    return out


class SweepSuite(BackendSuite):
    name = "sweep"
    version = "1"
    annotation_kind = "sweep"

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(_DEFAULTS, options)
        kinds = merged["kinds"]
        kinds = tuple(kinds.split(",")) if isinstance(kinds, str) else tuple(kinds)
        merged["kinds"] = ",".join(kinds)
        for name, low in (("seed", 0), ("grid", 1), ("resamples", 0), ("batch_size", 1)):
            merged[name] = _int(merged[name], name, low)
        super().__init__(**merged)
        self.kinds = kinds
        bs = int(merged["batch_size"])
        self.ocr = build_ocr(str(merged["ocr"]), batch_size=bs) if "text" in kinds else None
        self.face = build_face(str(merged["face"]), batch_size=bs) if "face" in kinds else None
        self._ready = False
        self.timings: defaultdict[str, float] = defaultdict(int)
        self._folders: dict[str, Path] = {}
        self._refs: dict[str, dict[tuple[str, bool], np.ndarray]] = {}
        self._ceiling: RecordCache | None = None

    def fingerprint(self) -> dict[str, Any]:
        """Options (but batch size), both backends and the ceiling's version."""
        options = {k: v for k, v in self.options.items() if k != "batch_size"}
        ident = {"suite": self.name, "version": self.version, "options": options}
        return {**ident, "backends": self.backends_fingerprint(), "ceiling": CEILING_VERSION}

    def backends_fingerprint(self) -> dict[str, Any]:
        return {
            "ocr": self.ocr.fingerprint() if self.ocr else None,
            "face": self.face.fingerprint() if self.face else None,
        }

    def setup(self, device: str) -> None:
        t0 = time.perf_counter()
        for backend in (self.ocr, self.face):
            if backend is not None:
                backend.setup(device)
        self._ready = True
        self.timings["setup_s"] += time.perf_counter() - t0

    def own_dataset(self, size: int, info: TokenizerInfo) -> Dataset:
        """The sweep set for this canvas and the tokenizer's patch grid."""
        from tokbench.paths import cache_dir
        from tokbench.sweep.dataset import sweep_dataset
        from tokbench.sweep.generate import SweepSpec

        down = info.downsample
        grid = int(down) if down and down >= 2 else int(self.options["grid"])
        spec = SweepSpec(size, grid, int(self.options["seed"]), str(self.options["density"]), self.kinds)
        root = self.cache_root or cache_dir(None)
        dataset, folder = sweep_dataset(spec, root)
        dataset.identity["grid_source"] = (
            "tokenizer downsample" if grid == down else "grid option (the tokenizer declares no downsample >= 2)"
        )
        self._folders[dataset.identity["set_sha256"]] = folder
        self._ceiling = RecordCache(root / "sweep-ceiling")
        return dataset

    def metric_specs(self) -> list[MetricSpec]:
        """Thresholds in canvas pixels (lower is better); relative ones over the ceiling's."""
        specs = []
        for prefix, what in (("text", "T-ACC"), ("face", "same-id")):
            for level in ("50", "90"):
                specs += [
                    MetricSpec(f"{prefix}_{level}_px", f"{what} {level}% px", LOWER, "px", 1, group="sweep"),
                    MetricSpec(f"{prefix}_{level}_rel", f"{what} {level}% x ceiling", LOWER, "x", 2, group="sweep"),
                    MetricSpec(
                        f"{prefix}_{level}_ceiling_px", f"{what} {level}% ceiling px", None, "px", 1, group="sweep"
                    ),
                ]
            specs.append(MetricSpec(f"{prefix}_phase_gap", f"{what} phase gap", LOWER, "pp", 1, group="sweep"))
            specs.append(
                MetricSpec(f"{prefix}_50_phase_ratio", f"{what} 50% offset/aligned", None, "x", 2, group="sweep")
            )
        return specs

    # -- scoring

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        if not self._ready:
            self.setup("cpu")
        out: list[list[dict[str, Any]]] = []
        for item in items:
            info = item.annotations.get("sweep") or {}
            if info.get("set") not in self._folders:
                out.append([{"skip": "not an image of this run's sweep set"}])
                continue
            if info.get("kind") == "text" and self.ocr is not None:
                out.append(self._text(item, info["set"]))
            elif info.get("kind") == "face" and self.face is not None:
                out.append(self._faces(item, info["set"]))
            else:
                out.append([{"skip": f"sweep kind {info.get('kind')!r} not enabled"}])
        return out

    def _ceiling_of(self, item: Item, set_hash: str, kind: str, compute: Any) -> list[dict[str, Any]]:
        """The ceiling records of one image: cached per (set, image, backend), computed on the original."""
        key = content_key("sweep-ceiling", CEILING_VERSION, set_hash, item.image_id, kind, self.backends_fingerprint())
        assert self._ceiling is not None
        got = self._ceiling.get(key)
        if got is None:
            got = self._ceiling.put(key, compute())
        return got

    def _text(self, item: Item, set_hash: str) -> list[dict[str, Any]]:
        assert self.ocr is not None
        anns = item.annotations.get("text") or []
        recs = [{"kind": "text", "index": i, **_meta(a), "gt": a["rec"]} for i, a in enumerate(anns)]

        def read(image: np.ndarray) -> list[dict[str, Any]]:
            t0 = time.perf_counter()
            readings = self.ocr.recognize([cut(image, a["bbox"]).image for a in anns])  # type: ignore[union-attr]
            self.timings["ocr_s"] += time.perf_counter() - t0
            self.timings["crops"] += len(anns)
            return [{"pred": r.text, **text_scores(a["rec"], r.text)} for a, r in zip(anns, readings, strict=True)]

        ceiling = self._ceiling_of(item, set_hash, "text", lambda: read(item.original))
        for rec, got, ceil in zip(recs, read(item.restored), ceiling, strict=True):
            rec.update(pred=got["pred"], acc=got["acc"], ned=got["ned"])
            rec.update(ceil_pred=ceil["pred"], ceil_acc=ceil["acc"], ceil_ned=ceil["ned"])
        return recs

    def _reference(self, set_hash: str) -> dict[tuple[str, bool], np.ndarray]:
        """Each identity's embedding from its reference photo (native size), once per set."""
        from tokbench.sweep.dataset import references

        if set_hash not in self._refs:
            assert self.face is not None
            refs = references(self._folders[set_hash])
            chips = [self.face.chip(r["image"], self.face.prepare(r["image"], {"kps": r["kps"]})) for r in refs]
            emb = self.face.embed(chips)
            self._refs[set_hash] = {(r["identity"], bool(r["mirror"])): emb[i] for i, r in enumerate(refs)}
        return self._refs[set_hash]

    def _faces(self, item: Item, set_hash: str) -> list[dict[str, Any]]:
        assert self.face is not None
        face = self.face
        refs = self._reference(set_hash)
        anns = item.annotations.get("faces") or []
        recs: list[dict[str, Any]] = [{"kind": "face", "index": i, **_meta(a)} for i, a in enumerate(anns)]
        aligned: list[tuple[dict[str, Any], Any, np.ndarray]] = []
        for rec, ann in zip(recs, anns, strict=True):
            try:
                aligned.append((rec, face.prepare(item.original, ann), refs[(ann["identity"], bool(ann["mirror"]))]))
            except BadKeypoints as e:
                rec["skip"] = e.reason

        def score(image: np.ndarray) -> list[dict[str, Any]]:
            t0 = time.perf_counter()
            emb = face.embed([face.chip(image, a) for _, a, _ in aligned])
            self.timings["embed_s"] += time.perf_counter() - t0
            out = []
            for (_, _, ref), e in zip(aligned, emb, strict=True):
                row: dict[str, Any] = {"f_sim": cosine(ref, e), "l2": l2(ref, e), "_emb": e.tolist()}
                if face.threshold is not None:
                    row["same"] = float(row["l2"] <= face.threshold)
                out.append(row)
            return out

        ceiling = self._ceiling_of(item, set_hash, "face", lambda: score(item.original))
        for (rec, _, _), got, ceil in zip(aligned, score(item.restored), ceiling, strict=True):
            rec.update({k: v for k, v in got.items() if not k.startswith("_")})
            rec.update({f"ceil_{k}": v for k, v in ceil.items() if not k.startswith("_")})
            rec["f_sim_pair"] = cosine(np.asarray(ceil["_emb"]), np.asarray(got["_emb"]))
        return recs

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        from tokbench.sweep.summary import summarize

        out = summarize(records, int(self.options["resamples"]), int(self.options["seed"]))
        out["extra"].update(
            backends=self.backends_fingerprint(),
            units="thresholds in pixels at the canvas: text = cap height, face = inter-ocular distance",
            note="ceiling = the same scoring on the originals (identity's reconstruction at the canvas)",
            timings=dict(self.timings),
        )
        return out


def _meta(ann: dict[str, Any]) -> dict[str, Any]:
    keys = ("size", "level", "phase", "font", "background", "identity", "mirror", "offset")
    return {k: ann[k] for k in keys if k in ann}
