"""``fvd``: Frechet Video Distance between the reference clips and their reconstructions.

Variant: StyleGAN-V's TorchScript I3D ``i3d_torchscript.pt`` (Kinetics-400, 400-d logits), called as NVIDIA
TokenBench does; preprocessing and provenance in :mod:`tokbench.video.fvd`. The file is ``i3d=FILE`` or
``$TOKBENCH_WEIGHTS/fvd/i3d_torchscript.pt``; without it the suite records ``fvd: null`` with the file and its
sources (nothing is downloaded). Per clip, one feature of the reference and one of the reconstruction
(``where="restored"``, the frames TokBench scores, or ``"canvas"``), from its first ``max_frames`` frames
(TokenBench: 300). FVD is the Frechet distance of the two feature sets, by tokbench's FID code
(:func:`tokbench.metrics.fid.fid_from_features`): with N <= 400 clips the covariances are singular (rank
<= N-1), and ``tr sqrt(S_ref S_rec)`` is taken exactly as the sum of singular values of the centred feature
product, where the reference takes ``scipy.linalg.sqrtm`` (StyleGAN-V) or the eigenvalues of the product
(torchmetrics, TokenBench) of the same singular matrices; they agree up to rounding. FVD at small N is
biased: compare values only at equal N (recorded).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokbench.errors import ConfigError
from tokbench.metric_spec import LOWER, MetricSpec
from tokbench.suite import Item
from tokbench.video import fvd as vf
from tokbench.video.suite import ClipSuite

I3D_FILE = vf.I3D_FILE
I3D_SOURCES = vf.I3D_SOURCES
_DEFAULTS: dict[str, Any] = {"where": "restored", "i3d": None, "max_frames": 300}


class FvdSuite(ClipSuite):
    name = "fvd"
    version = "styleganv-i3d-2"

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(_DEFAULTS, options)
        self.check_where(self.name, merged)
        if int(merged["max_frames"]) < 1:
            raise ConfigError(f"fvd: max_frames must be >= 1, got {merged['max_frames']!r}")
        super().__init__(**merged)
        self.path = vf.find_i3d(merged["i3d"])  # an explicit i3d= that is not a file fails here, before any work
        self.model: Any = None
        self.info: dict[str, Any] = {}

    def setup(self, device: str) -> None:
        if self.path is not None and self.model is None:
            self.model, self.info = vf.load_i3d(self.path, device)

    def fingerprint(self) -> dict[str, Any]:
        # records depend on the network's bytes, not on where the file lies
        options = {k: v for k, v in self.options.items() if k != "i3d"}
        from tokbench.hashing import sha256_file_memo

        sha = sha256_file_memo(self.path) if self.path is not None else "unavailable"
        return {"suite": self.name, "version": self.version, "options": options, "i3d_sha256": sha}

    def metric_specs(self) -> list[MetricSpec]:
        return [MetricSpec("fvd", "FVD (StyleGAN-V I3D)", LOWER, "", 2, None, "fvd")]

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        if self.path is None:
            return [[{"skip": f"FVD unavailable: needs {I3D_FILE}"}] for _ in items]
        self.setup("cpu")  # no-op when the runner has set it up
        out: list[list[dict[str, Any]]] = []
        limit = int(self.options["max_frames"])
        for item in items:
            ref, rec = self.pair(item)
            used = min(limit, int(ref.shape[0]))
            key = self._reference_key(ref[:limit])
            try:
                f_ref, damaged = self._cached_reference(key)
                computed = f_ref is None
                if f_ref is None:
                    f_ref = vf.clip_features(self.model, ref, limit, str(self.path)).astype(np.float32)
                f_rec = vf.clip_features(self.model, rec, limit, str(self.path))
            except vf.I3dOutputError:
                raise
            except RuntimeError as e:  # e.g. a clip shorter than the network's temporal receptive field
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                out.append([{"frames": int(ref.shape[0]), "skip": f"I3D failed on a {used}-frame clip: {first}"}])
                continue
            if computed:
                self._store_reference(key, f_ref)
            record = {"frames": int(ref.shape[0]), "frames_used": used, "_ref_computed": computed}
            record["_ref_damaged"] = damaged
            out.append([{**record, "_feat_ref": f_ref, "_feat_rec": f_rec.astype(np.float32)}])
        return out

    # The reference clips' features do not depend on the model: cached by content (network sha256, recipe,
    # frames used), so a second model costs one I3D pass per clip (its reconstruction), as FID's originals.
    def _reference_key(self, frames: np.ndarray) -> str:
        from tokbench.cache import content_key
        from tokbench.hashing import sha256_bytes

        pixels = sha256_bytes(f"{frames.shape}|".encode() + np.ascontiguousarray(frames).tobytes())
        return content_key("fvd-reference", self.info["sha256"], vf.VARIANT, vf.PREPROCESS, pixels)

    def _feature_path(self, key: str) -> Any:
        from tokbench.paths import cache_dir

        return (self.cache_root or cache_dir()) / "fvd-features" / key[:2] / f"{key}.npz"

    def _cached_reference(self, key: str) -> tuple[np.ndarray | None, bool]:
        """The cached feature (None when absent or damaged) and whether a damaged entry was deleted."""
        from tokbench.cache import unpack_arrays

        path = self._feature_path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None, False
        try:
            feat = unpack_arrays(data)["feature"]
            if feat.shape != (vf.FEATURES,) or feat.dtype != np.float32 or not np.isfinite(feat).all():
                raise ValueError(f"bad feature {feat.dtype} {feat.shape}")
        except (ValueError, KeyError):
            path.unlink(missing_ok=True)
            return None, True
        return np.asarray(feat), False

    def _store_reference(self, key: str, feat: np.ndarray) -> None:
        from tokbench.cache import atomic_write_bytes, pack_arrays

        atomic_write_bytes(self._feature_path(key), pack_arrays({"feature": np.asarray(feat, dtype=np.float32)}))

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        if self.path is None:
            missing = {
                "unavailable": vf.unavailable_message(),
                "file": I3D_FILE,
                "sources": list(I3D_SOURCES),
                "variant": vf.VARIANT,
            }
            return {"metrics": {"fvd": None}, "extra": missing}
        from tokbench.metrics.fid import fid_from_features

        used = [r for r in records if "skip" not in r and "_feat_ref" in r]
        extra: dict[str, Any] = {
            "i3d": self.info or {"file": str(self.path), "variant": vf.VARIANT},
            "where": self.options["where"],
            "max_frames": int(self.options["max_frames"]),
            "clips": len(used),
            "frames_used": int(sum(r["frames_used"] for r in used)),
            "reference_features": {
                "computed": sum(bool(r.get("_ref_computed")) for r in used),
                "cached": sum(not r.get("_ref_computed", True) for r in used),
                "damaged_recomputed": sum(bool(r.get("_ref_damaged")) for r in used),
            },
            "covariance": "float64, ddof=1; tr sqrt(S_ref S_rec) exact from the features when N <= 400 "
            "(the covariances are singular), else by symmetric eigendecompositions (tokbench's FID code)",
        }
        if len(used) < 2:
            extra["unavailable"] = f"FVD needs features of at least 2 clips (a covariance), got {len(used)}"
            return {"metrics": {"fvd": None}, "extra": extra}
        ref = np.stack([np.asarray(r["_feat_ref"], dtype=np.float64) for r in used])
        rec = np.stack([np.asarray(r["_feat_rec"], dtype=np.float64) for r in used])
        if len(used) <= vf.FEATURES:
            extra["warning"] = (
                f"FVD from N={len(used)} clips: the 400-d covariances have rank <= {len(used) - 1}, so FVD is "
                "biased and grows as N shrinks; compare FVD values only at equal N"
            )
        return {"metrics": {"fvd": fid_from_features(ref, rec)}, "extra": extra}
