"""A model's rates, each named by where it comes from, in bits per canvas pixel (the codecs' unit).

- ``nominal``: discrete codes at log2 K bits a token, every level (the adapter's ``bits``, which
  :func:`tokbench.tokenizer.nominal_bits` makes; else the language suite's ``rate.bpp_nominal``,
  which rounds log2 K up).
- ``entropy``: tokens x unigram entropy H1 of the run's codes per level (the language suite's
  ``rate.bpp_entropy``): what an order-0 entropy coder reaches, the codebook's cost aside.
- ``declared``: continuous latents at a storage precision the user declares (``latent_bits=16``):
  latent values per image x bits / canvas pixels. Without a declaration a continuous model has no rate.
- ``file``: a codec given as a model: its real file size.
"""

from __future__ import annotations

import math
from typing import Any

from tokbench.errors import ConfigError

RATE_KINDS: dict[str, str] = {
    "nominal": "nominal: tokens x log2 K per level / canvas pixels",
    "entropy": "entropy: tokens x unigram entropy H1 per level / canvas pixels (order-0 entropy coder)",
    "declared": "declared: latent values x latent_bits / canvas pixels",
    "file": "file: the codec's real file size / canvas pixels",
}
LATENT_BITS = "latent_bits"


def split_latent_bits(spec: str) -> tuple[str, int | None]:
    """``name:a=1,latent_bits=16`` -> (``name:a=1``, 16): the rate option is rd's, not the adapter's."""
    head, sep, opts = spec.rpartition(":")
    if not sep or "=" not in opts:
        return spec, None
    kept, bits = [], None
    for part in opts.split(","):
        key, _, value = part.partition("=")
        if key.strip() == LATENT_BITS:
            try:
                bits = int(value)
            except ValueError:
                raise ConfigError(f"--model {spec!r}: {LATENT_BITS} must be an integer, got {value!r}") from None
            if bits < 1:
                raise ConfigError(f"--model {spec!r}: {LATENT_BITS} must be >= 1, got {bits}")
        else:
            kept.append(part)
    return (f"{head}:{','.join(kept)}" if kept else head), bits


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) and value > 0 else None


def model_rates(
    kind: str, bpp_mean: float | None, language: dict[str, Any] | None, declared_bpp: float | None
) -> dict[str, dict[str, Any]]:
    """{rate kind: {"bpp": value, "source": how}} for one model at one resolution.

    ``bpp_mean``: the result files' ``rate.bpp_mean`` (the adapter's own bits); ``language``: the
    language result's metrics; ``declared_bpp``: from ``latent_bits``."""
    lang = language or {}
    out: dict[str, dict[str, Any]] = {}
    if kind == "discrete":
        if (v := _finite(bpp_mean)) is not None:
            out["nominal"] = {"bpp": v, "source": "adapter bits (sum of log2 K over tokens)"}
        elif (v := _finite(lang.get("rate.bpp_nominal"))) is not None:
            out["nominal"] = {"bpp": v, "source": "language rate.bpp_nominal (ceil log2 K)"}
        if (v := _finite(lang.get("rate.bpp_entropy"))) is not None:
            out["entropy"] = {"bpp": v, "source": "language rate.bpp_entropy"}
    elif kind == "codec" and (v := _finite(bpp_mean)) is not None:
        out["file"] = {"bpp": v, "source": "real file size"}
    if declared_bpp is not None and (v := _finite(declared_bpp)) is not None:
        out["declared"] = {"bpp": v, "source": "latent values x latent_bits"}
    return out
