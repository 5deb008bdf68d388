"""The Tiny AutoEncoders of madebyollin/taesd from the upstream ``.pth`` files, with tokbench's own model code.

``tae:variant=taef2,source=DIR`` (alias ``taef2:source=DIR``) loads ``DIR/taef2_encoder.pth`` and
``DIR/taef2_decoder.pth``: a plain clone of https://github.com/madebyollin/taesd holds every variant's
files in its git history, and any folder holding the two files works too. The model is
:mod:`tokbench.families.taesd_model` (no upstream code runs). This is the route for TAEF2 (FLUX.2
latent space, with its global GroupNorm branch) and TAESANA (32x), which diffusers' ``AutoencoderTiny``
cannot build; the ``taesd`` / ``taesdxl`` families are the diffusers-hub route for the older variants.

Images are [0, 1] in and out (the range these decoders were distilled on). Latents are continuous.
``latent_bits=8`` stores each latent value in 8 bits as upstream's preview pipeline does (the latent
is mapped from (-3, 3) to [0, 1], rounded to 255 levels and mapped back) and counts those bits;
the default (0) keeps the float latent and reports no bits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from tokbench.families.base import Built, FamilyTokenizer, reject_unknown
from tokbench.families.catalog import Family, Variant, Weights
from tokbench.tokenizer import Encoded, WeightsUnavailable

REPO = "madebyollin/taesd"
CLONE = f"git clone https://github.com/{REPO}"
_MANUAL = f"in the git history of {REPO}: `{CLONE}` and pass source=CLONE"

# The upstream file name decides the variant: latent channels and layout (taesd.py at 5cccb12).
_LAYOUT = {
    "taesd": (4, "plain", "2.4M"),
    "taesdxl": (4, "plain", "2.4M"),
    "taesd3": (16, "plain", "2.5M"),
    "taef1": (16, "plain", "2.5M"),
    "taef2": (32, "flux_2", "2.7M"),
    "taesana": (32, "f32", "9.6M"),
}
UPSTREAM_COMMIT = "5cccb12dc72074a4be35680c3b108548a7c69978"  # taesd.py read, outputs compared exactly
# sha256 of the files at UPSTREAM_COMMIT (the ones known here)
KNOWN_SHA256 = {
    "taef2_encoder.pth": "10a4e1021e89d7551eaf161352da8dbd0b1aa83872ae28b150c1df1ce2f147b6",
    "taef2_decoder.pth": "0a44a31e1ae59eb9dbf9359d24942fd3ef5928162c1800d97a28c61d51be0ab5",
}
LATENT_RANGE = 3.0  # the decoder's soft clamp bounds the latent to (-3, 3)


def _files(name: str) -> tuple[str, str]:
    return f"{name}_encoder.pth", f"{name}_decoder.pth"


def _variant(name: str) -> Variant:
    channels, arch, params = _LAYOUT[name]
    down = 32 if arch == "f32" else 8
    return Variant(
        name,
        Weights(filename=_files(name)[0], include=_files(name), manual=_MANUAL),
        native_size=None,
        size_multiple=down,
        downsample=down,
        latent_channels=channels,
        params=params,
        extra={"arch": arch},
    )


FAMILY = Family(
    "tae",
    f"{__name__}:TinyAutoencoder",
    "Tiny AutoEncoders (TAESD ... TAEF2, TAESANA) from the upstream .pth files; tokbench's model code",
    "clone",
    "continuous",
    "latent",
    "[0,1]",
    "MIT",
    {name: _variant(name) for name in _LAYOUT},
    "taef2",
    repo=REPO,
    packages=("torch",),
    checked_commit=UPSTREAM_COMMIT,
)


class TinyAutoencoder(FamilyTokenizer):
    """``tae:variant=taef2,source=DIR[,latent_bits=8][,check_sha256=false]``.

    ``source`` is a clone of madebyollin/taesd or any folder with the two files (else
    ``$TOKBENCH_SRC_TAE``, else ``$TOKBENCH_WEIGHTS/tae/``). Files whose sha256 is known are checked;
    ``check_sha256=false`` accepts another upstream version (its sha256 is recorded either way).
    """

    family_name = "tae"
    location_options: ClassVar[tuple[str, ...]] = ("source",)  # the files' sha256 identify the weights
    options: ClassVar[tuple[str, ...]] = ("variant", "source", "latent_bits", "check_sha256")

    def __init__(
        self,
        variant: str | None = None,
        source: str | None = None,
        latent_bits: int = 0,
        check_sha256: bool = True,
        family_name: str | None = None,
        **unknown: Any,
    ) -> None:
        reject_unknown(family_name or self.family_name, unknown, list(self.options))
        super().__init__(family_name, variant)
        if int(latent_bits) not in (0, 8):
            raise ValueError(f"{self.fam.name}: latent_bits must be 0 (float latent) or 8, got {latent_bits!r}")
        self.source = source
        self.latent_bits = int(latent_bits)
        self.check_sha256 = bool(check_sha256)
        self.info = self._row_info(
            {"variant": self.variant.name, "input_range": self.model_range, "latent_bits": self.latent_bits},
            weights_source=f"{REPO}: {', '.join(_files(self.variant.name))}",
        )

    def folder(self) -> Path:
        """Where the two files are looked for: ``source=``, ``$TOKBENCH_SRC_TAE``, ``$TOKBENCH_WEIGHTS/tae``."""
        given = self.source or os.environ.get(self.fam.env)
        if given:
            return Path(given).expanduser()
        from tokbench.paths import weights_dir

        return weights_dir() / self.fam.name

    def weight_files(self) -> tuple[Path, Path]:
        """The encoder and decoder files; a missing one raises, naming it and the clone command."""
        folder = self.folder()
        paths = tuple(folder / f for f in _files(self.variant.name))
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise WeightsUnavailable(
                f"{self.fam.name}:{self.variant.name}: {', '.join(missing)} not found in {folder}. "
                f"Fix: `{CLONE} DIR` and pass source=DIR (or set {self.fam.env}=DIR)"
            )
        return paths[0], paths[1]

    def _build(self) -> Built:
        import torch

        from tokbench.families.taesd_model import decoder_layout, encoder_layout, load_stack
        from tokbench.families.weights import CheckpointMismatch, load_checkpoint
        from tokbench.hashing import sha256_file

        enc_path, dec_path = self.weight_files()
        for path in (enc_path, dec_path):
            want = KNOWN_SHA256.get(path.name)
            if self.check_sha256 and want is not None and sha256_file(path) != want:
                raise CheckpointMismatch(
                    f"{path}: sha256 {sha256_file(path)[:16]}... is not the known {want[:16]}... of "
                    f"{path.name} at upstream commit {UPSTREAM_COMMIT[:7]}; pass check_sha256=false to use this version"
                )
        channels, arch, _ = _LAYOUT[self.variant.name]
        encoder = load_stack(encoder_layout(channels, arch), load_checkpoint(enc_path), str(enc_path))
        decoder = load_stack(decoder_layout(channels, arch), load_checkpoint(dec_path), str(dec_path))
        model = torch.nn.ModuleDict({"encoder": encoder, "decoder": decoder})
        return Built(model, [enc_path, dec_path], source=f"{REPO}: {enc_path.name}, {dec_path.name}")

    def _built_info(self, built: Built) -> dict[str, Any]:
        return {"options": {**self.info.options, "arch": _LAYOUT[self.variant.name][1]}}

    def _encode(self, x: Any) -> Encoded:
        import torch

        z = self._model["encoder"](x)
        bits = None
        if self.latent_bits:
            levels = 2**self.latent_bits - 1
            unit = (z / (2 * LATENT_RANGE) + 0.5).clamp(0, 1)
            z = ((unit * levels).round() / levels - 0.5) * (2 * LATENT_RANGE)
            bits = torch.full((z.shape[0],), float(z[0].numel() * self.latent_bits), dtype=torch.float64)
        return Encoded(latents=z, bits=bits, meta={"latent_shape": list(z.shape[1:])})

    def _decode(self, encoded: Encoded) -> Any:
        return self._model["decoder"](encoded.latents.to(self._device, self._dtype)).clamp(0, 1)
