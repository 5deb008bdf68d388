"""``fvd``: Frechet Video Distance is reported unavailable offline, naming the network file it needs.

Every FVD variant needs I3D weights that no package ships. The declared variant is StyleGAN-V's
TorchScript I3D (Kinetics-400, 400-d logits, 224 x 224 centre crop, the first 300 frames), as NVIDIA
TokenBench and most tokenizer papers use: ``i3d_torchscript.pt``. Computing it from that file is not
implemented yet: this suite records the metric as unavailable, with where the file comes from, so a
video table never shows an FVD column filled by something else.
"""

from __future__ import annotations

from typing import Any

from tokbench.metric_spec import LOWER, MetricSpec
from tokbench.suite import Item
from tokbench.video.suite import ClipSuite

I3D_FILE = "i3d_torchscript.pt"
I3D_SOURCES = (
    "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt (StyleGAN-V)",
    "huggingface LanguageBind/Open-Sora-Plan-v1.0.0: opensora/eval/fvd/styleganv/i3d_torchscript.pt",
)


class FvdSuite(ClipSuite):
    name = "fvd"
    version = "unavailable-1"

    def __init__(self, **options: Any) -> None:
        super().__init__(**self.merge_options({"variant": "styleganv-i3d-224"}, options))

    def metric_specs(self) -> list[MetricSpec]:
        return [MetricSpec("fvd", "FVD (StyleGAN-V I3D)", LOWER, "", 2, None, "fvd")]

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        return [[{"skip": f"FVD unavailable: needs {I3D_FILE}"}] for _ in items]

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        extra = {
            "unavailable": f"FVD needs the StyleGAN-V I3D network {I3D_FILE}, which no package ships; "
            "computing it from that file is not implemented in this version",
            "file": I3D_FILE,
            "sources": list(I3D_SOURCES),
            "variant": self.options["variant"],
        }
        return {"metrics": {"fvd": None}, "extra": extra}
