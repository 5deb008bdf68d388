"""``fid``: rFID and KID between the originals and their reconstructions.

Protocol (recorded in ``extra``): 2048-d pool features of the TF 2015-12-05 FID Inception in
torch-fidelity's extractor (:mod:`tokbench.metrics.inception`); each uint8 image is fed at its
own size and resized to 299 x 299 by the extractor's TF1-compatible bilinear resize; features of
the original and of the reconstruction, either the restored one at the original size
(``where="restored"``) or the S x S canvas pair (``where="canvas"``); reference = the originals
of the same run. FID in float64; KID = unbiased polynomial-kernel MMD^2 over seeded subsets. The
Inception Score is not offered (no logits offline).

Named, recorded options make an rFID say which of the papers' recipes it is (``docs/fid.md``):
``variant`` (``torch-fidelity`` | ``adm`` | ``clean-fid`` | ``pytorch-fid``: resize to 299 and input
scaling, :mod:`tokbench.metrics.fid_variants`), ``preprocess`` (``protocol``: whatever the run's protocol
made; or ``adm`` | ``torchvision`` | ``letterbox``: every canvas is checked to be exactly that crop of its
original, :mod:`tokbench.metrics.fid_preprocess`), ``reference`` (a statistics file instead of the originals,
sha256 recorded, :mod:`tokbench.metrics.fid_reference`), ``export`` (write the originals' statistics as a
pytorch-fid / clean-fid ``.npz``) and ``preset`` (``imagenet256-adm``: the LlamaGen / GigaTok protocol).

The originals' features do not depend on the model, so they are cached by content (Inception
hash, ``where``, pixels) and a second model costs one feature pass (its reconstructions); the
reference statistics (mu, sigma) of a whole set are cached under the hash of its feature keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tokbench.cache import atomic_write_bytes, content_key, pack_arrays, unpack_arrays
from tokbench.errors import ConfigError
from tokbench.metric_spec import LOWER, MetricSpec
from tokbench.metrics.fid_preprocess import PREPROCESS, RECIPES
from tokbench.metrics.fid_variants import variant
from tokbench.suite import Item, Suite

_DEFAULTS: dict[str, Any] = {
    "where": "restored",
    "batch_size": 16,
    "kid_subsets": 100,
    "kid_subset_size": 1000,
    "kid_seed": 0,
    "weights": None,
    "extractor": "inception-v3-compat-2048",
    "variant": "torch-fidelity",
    "preprocess": "protocol",
    "reference": None,
    "export": None,
    "export_format": "mu-sigma",
    "export_images": 10000,
    "preset": None,
}
# options that only change how aggregate reads the features: not part of the records' cache key
_AGGREGATE_ONLY = ("reference", "export", "export_images")
EXPORT_FORMATS = ("mu-sigma", "adm")
OWN_REFERENCE = "originals of this run"


@dataclass(frozen=True)
class Preset:
    """A usual paper protocol: the suite options it fixes and what the run should be (checked where the suite
    can see it: resolution, N; the protocol by the canvas check)."""

    options: dict[str, str]
    resolution: int
    n: int
    command: str


PRESETS = {
    "imagenet256-adm": Preset(
        {"where": "canvas", "preprocess": "adm", "variant": "adm"},
        256,
        50000,
        "tokbench run --model M --suite fid --dataset imagenet-val --resolution 256 --protocol adm-crop "
        "--suite-arg fid:preset=imagenet256-adm",
    ),
}


def _apply_preset(merged: dict[str, Any], given: dict[str, Any]) -> None:
    """Set the preset's options in ``merged``; an option given explicitly with another value is an error."""
    name = merged["preset"]
    if name is None:
        return
    if name not in PRESETS:
        raise ConfigError(f"fid: unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    for key, value in PRESETS[name].options.items():
        if key in given and given[key] != value:
            raise ConfigError(f"fid: preset {name} sets {key}={value}, but {key}={given[key]!r} was given")
        merged[key] = value


class FidSuite(Suite):
    name = "fid"
    version = "1"

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(_DEFAULTS, options)
        _apply_preset(merged, options)
        variant(merged["variant"])  # a ConfigError naming the variants
        if merged["preprocess"] != "protocol" and merged["preprocess"] not in PREPROCESS:
            raise ConfigError(
                f"fid: preprocess must be protocol, {', '.join(PREPROCESS)}; got {merged['preprocess']!r}"
            )
        if merged["preprocess"] in ("adm", "torchvision") and merged["where"] != "canvas":
            raise ConfigError(f"fid: preprocess={merged['preprocess']} scores S x S crops: it needs where=canvas")
        if merged["where"] not in ("restored", "canvas"):
            raise ConfigError(f"fid: where must be 'restored' or 'canvas', got {merged['where']!r}")
        if merged["extractor"] != _DEFAULTS["extractor"]:
            raise ConfigError(f"fid: only extractor {_DEFAULTS['extractor']!r} is available")
        if merged["export_format"] not in EXPORT_FORMATS:
            raise ConfigError(f"fid: export_format must be one of {', '.join(EXPORT_FORMATS)}")
        if merged["export_format"] == "adm" and (merged["variant"] != "adm" or merged["where"] != "canvas"):
            raise ConfigError(
                "fid: export_format=adm writes an ADM reference batch: it needs variant=adm and where=canvas "
                "(or preset=imagenet256-adm)"
            )
        if int(merged["export_images"]) < 0:
            raise ConfigError(f"fid: export_images must be >= 0, got {merged['export_images']!r}")
        for key in ("batch_size", "kid_subsets", "kid_subset_size"):
            if int(merged[key]) < 1:
                raise ConfigError(f"fid: {key} must be >= 1, got {merged[key]!r}")
        super().__init__(**merged)
        self.model: Any = None
        self.info: dict[str, Any] = {}
        self.reference: Any = None  # fid_reference.Reference when reference=FILE

    def setup(self, device: str) -> None:
        from tokbench.metrics.fid_reference import load_reference
        from tokbench.metrics.inception import FEATURE_DIM, load_inception

        if self.options["reference"] is not None:  # a bad file fails before any reconstruction
            self.reference = load_reference(self.options["reference"], FEATURE_DIM)
        self.model, self.info = load_inception(device, self.options["weights"])

    def fingerprint(self) -> dict[str, Any]:
        # which Inception weights made the features (torch-fidelity's own or the converted copy)
        ident = super().fingerprint()
        ident["options"] = {k: v for k, v in self.options.items() if k not in _AGGREGATE_ONLY}
        return {**ident, "inception_sha256": self.info.get("sha256")}

    def _check_preprocess(self, items: list[Item]) -> None:
        """With a named preprocessing, every canvas must be exactly that crop of its original."""
        name = self.options["preprocess"]
        if name == "protocol":
            return
        for it in items:
            expected = PREPROCESS[name](np.ascontiguousarray(it.original), it.canvas.shape[0])
            if expected.shape != it.canvas.shape or not np.array_equal(expected, it.canvas):
                protocol = {"adm": "adm-crop", "torchvision": "torchvision-crop", "letterbox": "tokbench-paper"}[name]
                raise ConfigError(
                    f"fid: preprocess={name}, but the canvas of image {it.image_id!r} is not the {name} crop of its "
                    f"original: run with --protocol {protocol}"
                )

    def _pair(self, item: Item) -> tuple[np.ndarray, np.ndarray]:
        if self.options["where"] == "canvas":
            return item.canvas, item.canvas_recon
        return item.original, item.restored

    def metric_specs(self) -> list[MetricSpec]:
        """rFID and KID, gated by a share of the baseline value: their size depends on the dataset."""
        return [
            MetricSpec("rfid", "rFID", LOWER, "", 2, "2%", "fid"),
            MetricSpec("kid_mean", "KID", LOWER, "", 4, "5%", "fid"),
            # a spread, not a score: no table column of its own, listed among the other metrics
            MetricSpec("kid_std", "KID std", None, "", 4, None, ""),
        ]

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        if self.model is None:
            raise RuntimeError("fid: setup(device) must run before process()")
        from tokbench.metrics.fid_variants import variant_features

        self._check_preprocess(items)
        name = self.options["variant"]
        pairs = [(np.ascontiguousarray(a), np.ascontiguousarray(b)) for a, b in map(self._pair, items)]
        bs = int(self.options["batch_size"])
        keys = [self._original_key(a) for a, _ in pairs]
        damaged: set[int] = set()
        orig: list[np.ndarray | None] = [self._cached_feature(k, i, damaged) for i, k in enumerate(keys)]
        todo = [i for i, f in enumerate(orig) if f is None]
        if todo:
            fresh = variant_features(self.model, [pairs[i][0] for i in todo], name, bs)
            for i, f in zip(todo, fresh, strict=True):
                orig[i] = f
                self._store_feature(keys[i], f)
        recon = variant_features(self.model, [b for _, b in pairs], name, bs)
        adm = self._adm_export_parts([a for a, _ in pairs], bs)
        computed = set(todo)
        # whether the original's features had to be computed travels with the record, so the count is
        # right after a torchrun merge (each rank computed its own shard) and after a resume
        return [
            [
                {
                    "image_id": it.image_id,
                    "_orig_key": keys[i],
                    "_orig_computed": i in computed,
                    "_orig_damaged": i in damaged,
                    "_feat_orig": orig[i],
                    "_feat_recon": recon[i],
                    **adm[i],
                }
            ]
            for i, it in enumerate(items)
        ]

    def _adm_export_parts(self, originals: list[np.ndarray], batch_size: int) -> list[dict[str, Any]]:
        """For an ADM-format export: each original's sFID features and the digest of its stored canvas
        (``arr_0`` is written from the store when the run aggregates); nothing otherwise."""
        if self.options["export_format"] != "adm":
            return [{} for _ in originals]
        from tokbench.metrics.fid_adm_export import store_image
        from tokbench.metrics.inception import spatial_features_of_arrays

        spatial = spatial_features_of_arrays(self.model, originals, batch_size)
        store = self._feature_dir().parent / "fid-images"
        return [
            {"_spat_orig": spatial[i], "_orig_image": store_image(store, a), "_orig_shape": list(a.shape)}
            for i, a in enumerate(originals)
        ]

    def _feature_dir(self) -> Any:
        from tokbench.paths import cache_dir

        return (self.cache_root or cache_dir()) / "fid-features"

    def _original_key(self, pixels: np.ndarray) -> str:
        import hashlib

        digest = hashlib.sha256(pixels.tobytes()).hexdigest()
        recipe = variant(self.options["variant"]).features  # variants with one resize share cached features
        return content_key("fid-original", self.info.get("sha256"), recipe, self.options["where"], pixels.shape, digest)

    def _feature_path(self, key: str) -> Any:
        return self._feature_dir() / key[:2] / f"{key}.npz"

    def _cached_feature(self, key: str, index: int, damaged: set[int]) -> np.ndarray | None:
        """The original's cached features, checked against their sha256; a damaged entry is deleted,
        noted in ``damaged`` (counted in the result) and recomputed."""
        path = self._feature_path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None  # absent
        try:
            feat = unpack_arrays(data)["feature"]
            if feat.shape != (2048,) or feat.dtype != np.float32 or not np.isfinite(feat).all():
                raise ValueError(f"bad feature {feat.dtype} {feat.shape}")
        except (ValueError, KeyError):
            path.unlink(missing_ok=True)
            damaged.add(index)
            return None
        return feat

    def _store_feature(self, key: str, feat: np.ndarray) -> None:
        atomic_write_bytes(self._feature_path(key), pack_arrays({"feature": np.asarray(feat, dtype=np.float32)}))

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        from tokbench.metrics.fid import GaussianStats, bias_warning, fid_from_features, frechet_distance, kid

        used = [r for r in records if "skip" not in r]
        extra: dict[str, Any] = {
            "n": len(used),
            "where": self.options["where"],
            "inception_sha256": self.info.get("sha256"),
            "inception_source": self.info.get("source"),
            "resize": variant(self.options["variant"]).recipe,
            "reference": OWN_REFERENCE if self.reference is None else self.reference.describe(),
            **self._identity(len(used), resolution),
            "kid_kernel": "(x.y/2048 + 1)^3, unbiased MMD^2",
            "kid_std_ddof": 0,
        }
        if len(used) < 2:
            extra["warning"] = f"FID needs at least 2 images, got N={len(used)}"
            return {"metrics": {"rfid": None, "kid_mean": None, "kid_std": None}, "extra": extra}
        orig = np.stack([r["_feat_orig"] for r in used])
        recon = np.stack([r["_feat_recon"] for r in used])
        computed = sum(bool(r.get("_orig_computed")) for r in used)
        extra["reference_features"] = {
            "computed": computed,
            "cached": len(used) - computed,
            "damaged_recomputed": sum(bool(r.get("_orig_damaged")) for r in used),
        }
        if self.options["export"] is not None:
            extra["export"] = self._export(orig, used)
        if self.reference is not None:
            # KID needs the reference's features; an imported file holds statistics only
            rfid = frechet_distance(self.reference.stats(), GaussianStats.from_features(recon))
            extra.update(warning=bias_warning(len(used)), kid_unavailable="reference=FILE holds statistics only")
            return {"metrics": {"rfid": rfid, "kid_mean": None, "kid_std": None}, "extra": extra}
        if len(used) <= orig.shape[1]:
            rfid = fid_from_features(orig, recon)
        else:
            rfid, extra["reference_stats_damaged_recomputed"] = self._large_fid(used, orig, recon)
        k = kid(
            orig,
            recon,
            int(self.options["kid_subsets"]),
            int(self.options["kid_subset_size"]),
            int(self.options["kid_seed"]),
        )
        extra.update(
            warning=bias_warning(len(used)),
            kid_subsets=k["kid_subsets"],
            kid_subset_size=k["kid_subset_size"],
            kid_seed=k["kid_seed"],
        )
        return {"metrics": {"rfid": rfid, "kid_mean": k["kid_mean"], "kid_std": k["kid_std"]}, "extra": extra}

    def _identity(self, n: int, resolution: int) -> dict[str, Any]:
        """What makes this rFID comparable: variant, preprocessing, reference (``identity`` is what the
        report compares in place of the options' text: the reference file's sha256, not its path), preset."""
        pre = self.options["preprocess"]
        ref = OWN_REFERENCE if self.reference is None else f"sha256:{self.reference.sha256}"
        out: dict[str, Any] = {
            "variant": self.options["variant"],
            "preprocess": pre,
            "preprocess_recipe": RECIPES.get(pre, "the run's protocol (see the result's protocol)"),
            "identity": {"variant": self.options["variant"], "preprocess": pre, "reference": ref},
        }
        if self.options["preset"] is not None:
            preset = PRESETS[self.options["preset"]]
            deviations = [
                f"{what} {got} (preset expects {want})"
                for what, got, want in (("resolution", resolution, preset.resolution), ("N", n, preset.n))
                if got != want
            ]
            out["preset"] = {"name": self.options["preset"], "command": preset.command, "deviations": deviations}
        return out

    def _export(self, orig: np.ndarray, used: list[dict[str, Any]]) -> dict[str, Any]:
        """Write the originals' statistics (pytorch-fid / clean-fid ``mu``/``sigma`` .npz, or an ADM reference
        batch); their provenance."""
        from tokbench.metrics.fid import GaussianStats
        from tokbench.metrics.fid_reference import export_stats

        if self.options["export_format"] == "adm":
            return self._export_adm(orig, used)

        meta = {
            "variant": self.options["variant"],
            "preprocess": self.options["preprocess"],
            "where": self.options["where"],
            "inception_sha256": str(self.info.get("sha256")),
        }
        path = str(self.options["export"])
        digest = export_stats(GaussianStats.from_features(orig), path, meta)
        return {"file": path, "sha256": digest, "format": "mu-sigma .npz (pytorch-fid, clean-fid)", "n": len(orig)}

    def _export_adm(self, orig: np.ndarray, used: list[dict[str, Any]]) -> dict[str, Any]:
        from tokbench.metrics.fid import GaussianStats
        from tokbench.metrics.fid_adm_export import write_adm_batch

        shapes = {tuple(r["_orig_shape"]) for r in used}
        if len(shapes) != 1:
            raise ConfigError(f"fid export_format=adm: the canvases differ in size ({sorted(shapes)}); arr_0 needs one")
        images = [str(r["_orig_image"]) for r in used[: int(self.options["export_images"])]]
        meta = {"variant": self.options["variant"], "preprocess": self.options["preprocess"]}
        meta["inception_sha256"] = str(self.info.get("sha256"))
        path = str(self.options["export"])
        digest = write_adm_batch(
            path,
            GaussianStats.from_features(orig),
            GaussianStats.from_features(np.stack([r["_spat_orig"] for r in used])),
            images,
            self._feature_dir().parent / "fid-images",
            shapes.pop(),
            meta,
        )
        return {
            "file": path,
            "sha256": digest,
            "format": "ADM reference batch (arr_0, mu, sigma, mu_s, sigma_s)",
            "n": len(orig),
            "images": len(images),
        }

    def _large_fid(self, used: list[dict[str, Any]], orig: np.ndarray, recon: np.ndarray) -> tuple[float, int]:
        """Beyond 2048 images: reference (mu, sigma) cached under the hash of the originals' keys;
        also how many damaged cached statistics were recomputed."""
        from tokbench.metrics.fid import GaussianStats, ReferenceStatsCache, frechet_distance

        key = content_key("fid-reference", [r["_orig_key"] for r in used])
        cache = ReferenceStatsCache(self._feature_dir().parent / "fid-reference")
        ref = cache.get_or_compute(key, lambda: [orig])
        return frechet_distance(ref, GaussianStats.from_features(recon)), cache.damaged

    def resampled_intervals(
        self, records: list[dict[str, Any]], settings: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """rFID and KID intervals by resampling images over the features in the records (no forward pass)."""
        from tokbench.stats.fid import fid_kid_intervals

        used = [r for r in records if "skip" not in r]
        if len(used) < 2:
            return {}, {}
        if self.options.get("reference"):  # the reference is a statistics file: its images cannot be resampled
            reason = "the reference is a statistics file, not images of this run: no resampling interval"
            return {"rfid": reason, "kid_mean": reason}, {}
        kid_options = {
            "subsets": int(self.options["kid_subsets"]),
            "subset_size": int(self.options["kid_subset_size"]),
            "seed": int(self.options["kid_seed"]),
        }
        orig, recon = (np.stack([r[k] for r in used]) for k in ("_feat_orig", "_feat_recon"))
        return fid_kid_intervals(orig, recon, settings, kid_options)
