"""Every built-in offline adapter honours the contract: shape, range, determinism, batch independence."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from imaging import photo
from PIL import Image

from tokbench.registry import build_model, parse_model_spec

SPECS = [
    "identity",
    "jpeg:quality=30",
    "webp:quality=30",
    "avif:quality=30",
    "jpeg2000",
    "jpeg:quality=20,down=4",
    "webp:bpp=0.3",
    "kmeans-vq:p=8,K=16,iters=3",
]


def batch(n: int = 3, size: int = 64) -> torch.Tensor:
    arr = np.stack([photo(size, size, seed=i) for i in range(n)])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 255.0


@pytest.mark.parametrize("spec", SPECS)
def test_contract(spec: str) -> None:
    adapter = build_model(parse_model_spec(spec))
    x = batch()
    enc = adapter.encode(x)
    out = adapter.decode(enc)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    # deterministic
    torch.testing.assert_close(adapter.decode(adapter.encode(x)), out)
    # batch-size independent: one image at a time gives the same reconstructions
    singles = torch.cat([adapter.decode(adapter.encode(x[i : i + 1])) for i in range(len(x))])
    torch.testing.assert_close(singles, out, atol=1e-5, rtol=0)
    if adapter.info.kind in ("discrete", "codec"):
        assert enc.bits is not None and enc.bits.shape == (3,)
    assert adapter.info.canvas_size(64) % adapter.info.size_multiple == 0


def test_identity_is_exact() -> None:
    adapter = build_model(parse_model_spec("identity"))
    x = batch()
    assert torch.equal(adapter.decode(adapter.encode(x)), x)


@pytest.mark.parametrize("codec,fmt", [("jpeg", "JPEG"), ("webp", "WEBP"), ("avif", "AVIF")])
def test_codec_bits_are_the_encoded_byte_count(codec: str, fmt: str) -> None:
    adapter = build_model(parse_model_spec(f"{codec}:quality=40"))
    x = batch(2)
    enc = adapter.encode(x)
    for i, payload in enumerate(enc.meta["payloads"]):
        assert enc.bits[i].item() == len(payload) * 8
        # the payload is a real file of that format, decodable by Pillow on its own
        assert Image.open(io.BytesIO(payload)).format == fmt


def test_bpp_target_is_respected_and_lower_targets_cost_less() -> None:
    x = batch(2, 128)
    pixels = 128 * 128
    rates = []
    for target in (0.2, 0.6, 1.5):
        enc = build_model(parse_model_spec(f"webp:bpp={target}")).encode(x)
        bpp = enc.bits / pixels
        assert (bpp <= target).all(), f"target {target} bpp exceeded: {bpp.tolist()}"
        rates.append(float(bpp.mean()))
    assert rates[0] < rates[1] < rates[2]


def test_downscale_reaches_tokenizer_like_rates() -> None:
    x = batch(2, 256)
    enc = build_model(parse_model_spec("webp:quality=20,down=8")).encode(x)
    assert float((enc.bits / (256 * 256)).max()) < 0.1


def test_more_compression_never_scores_better() -> None:
    x = batch(2, 128)
    errors = []
    for q in (90, 50, 10):
        out = build_model(parse_model_spec(f"jpeg:quality={q}")).decode(
            build_model(parse_model_spec(f"jpeg:quality={q}")).encode(x)
        )
        errors.append(float(((out - x) ** 2).mean()))
    assert errors[0] < errors[1] < errors[2]


def test_kmeans_vq_codes_are_an_index_grid() -> None:
    adapter = build_model(parse_model_spec("kmeans-vq:p=8,K=16,iters=3"))
    enc = adapter.encode(batch(2, 64))
    assert enc.codes.shape == (2, 8, 8) and enc.codes.dtype == torch.int64
    assert int(enc.codes.min()) >= 0 and int(enc.codes.max()) < 16
    assert enc.bits[0].item() == pytest.approx(64 * 4.0)  # 64 tokens x log2(16)
    assert adapter.info.weights_sha256 and len(adapter.info.weights_sha256) == 64


def test_kmeans_vq_codebook_is_reproducible_and_cached(tmp_path) -> None:
    a = build_model(parse_model_spec(f"kmeans-vq:p=8,K=16,iters=3,cache_dir={tmp_path}"))
    assert list((tmp_path / "kmeans-vq").glob("codebook-*.npy"))
    b = build_model(parse_model_spec(f"kmeans-vq:p=8,K=16,iters=3,cache_dir={tmp_path / 'other'}"))
    assert a.info.weights_sha256 == b.info.weights_sha256  # retrained from scratch: same bytes


@pytest.mark.parametrize(
    "bad", ["jpeg:quality=500", "jpeg:quality=5,bpp=0.1", "webp:bpp=-1", "kmeans-vq:K=1", "jpeg:down=0", "identity:x=1"]
)
def test_bad_options_fail_clearly(bad: str) -> None:
    with pytest.raises((ValueError, TypeError)):
        build_model(parse_model_spec(bad))
