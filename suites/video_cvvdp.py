"""``cvvdp``: ColorVideoVDP (Mantiuk et al. 2024), a full-reference perceptual video metric, per clip.

PyPI ``cvvdp`` (MIT; module ``pycvvdp``), imported lazily: its parametric model ships in the wheel, so it
runs offline (the ML variants, which fetch weights, are not used). Per clip, the JOD of the reconstruction
against the reference (10 = no visible difference; lower is worse, and it can fall below 0), from the uint8
frames at the clip's frame rate (``predict(..., dim_order="FHWC", frames_per_second=fps)``; a one-frame
clip is scored as an image). JOD depends on the display model, which fixes pixels per degree, peak
luminance and ambient light: ``display`` (default ``standard_fhd``, a 24-inch Full HD monitor at 200 cd/m^2
seen from twice its height) is recorded with the model's own description. A clip smaller than the display
is taken to sit in its centre. The metric is the mean JOD over clips. Without the package the metric is
``None`` with the install command.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from tokbench.errors import ConfigError
from tokbench.metric_spec import HIGHER, MetricSpec
from tokbench.stats.estimand import Estimand
from tokbench.suite import Item
from tokbench.video.suite import ClipItem, ClipSuite

INSTALL = "pip install cvvdp  (or: pip install -e '.[cvvdp]')"
_DEFAULTS: dict[str, Any] = {"where": "restored", "display": "standard_fhd"}


def cvvdp_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cvvdp")
    except PackageNotFoundError:
        return None


class CvvdpSuite(ClipSuite):
    name = "cvvdp"
    version = "1"

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(_DEFAULTS, options)
        self.check_where(self.name, merged)
        super().__init__(**merged)
        self.metric: Any = None
        self.unavailable: str | None = None
        self.display: dict[str, Any] = {}

    def setup(self, device: str) -> None:
        if self.metric is not None or self.unavailable is not None:
            return
        try:
            import pycvvdp
        except Exception as e:  # an optional package whose import can fail in many ways (its own deps)
            self.unavailable = f"ColorVideoVDP unavailable: cannot import pycvvdp ({type(e).__name__}: {e}); {INSTALL}"
            return
        import torch

        name = str(self.options["display"])
        try:
            self.metric = pycvvdp.cvvdp(display_name=name, device=torch.device(device), quiet=True)
        except Exception as e:  # pycvvdp raises plain exceptions for an unknown display name
            raise ConfigError(f"cvvdp: cannot build display model {name!r}: {e}") from e
        geometry, photometry = self.metric.display_geometry, self.metric.display_photometry
        self.display = {
            "name": name,
            "description": getattr(photometry, "full_name", None),
            "info": str(self.metric.get_info_string()).strip('"'),
            "pix_per_deg": float(self.metric.pix_per_deg),
            "resolution": list(getattr(geometry, "resolution", []) or []),
            "distance_m": getattr(geometry, "distance_m", None),
            "peak_cd_m2": getattr(photometry, "Y_peak", None),
            "ambient_lux": getattr(photometry, "E_ambient", None),
            "eotf": getattr(photometry, "EOTF", None),
        }

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "cvvdp": cvvdp_version()}

    def metric_specs(self) -> list[MetricSpec]:
        return [MetricSpec("cvvdp", "ColorVideoVDP (JOD)", HIGHER, "JOD", 3, "0.05", "cvvdp")]

    def estimands(self) -> dict[str, Estimand]:
        return {"cvvdp": Estimand("cvvdp")}

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        self.setup("cpu")  # no-op when the runner has set it up
        if self.metric is None:
            return [[{"skip": "ColorVideoVDP unavailable: cannot import pycvvdp"}] for _ in items]
        import torch

        out = []
        for item in items:
            ref, rec = self.pair(item)  # a ClipItem, whose fps the runner always sets (a default when absent)
            fps = float(cast(ClipItem, item).fps)
            with torch.inference_mode():
                test, reference = torch.from_numpy(np.array(rec)), torch.from_numpy(np.array(ref))  # writable copies
                if ref.shape[0] == 1:
                    jod, _ = self.metric.predict(test[0], reference[0], dim_order="HWC")
                else:
                    jod, _ = self.metric.predict(test, reference, dim_order="FHWC", frames_per_second=fps)
            out.append([{"frames": int(ref.shape[0]), "fps": fps, "cvvdp": float(jod)}])
        return out

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        if self.metric is None:
            message = self.unavailable or f"ColorVideoVDP was not set up; {INSTALL}"
            return {"metrics": {"cvvdp": None}, "extra": {"unavailable": message, "install": INSTALL}}
        scored = [r for r in records if "skip" not in r]
        value = float(np.mean([r["cvvdp"] for r in scored])) if scored else None
        extra = {
            "clips": len(scored),
            "where": self.options["where"],
            "cvvdp_version": cvvdp_version(),
            "display": self.display,
            "units": "JOD (10 = no visible difference), mean over clips",
        }
        return {"metrics": {"cvvdp": value}, "extra": extra}
