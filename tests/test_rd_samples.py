"""``tokbench rd`` end to end on the shipped samples @256 with the recon suite (few grid points, few images)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from tokbench.config import RunConfig
from tokbench.rd.plot import to_html, write_pngs
from tokbench.rd.runner import RdConfig, run_rd


@pytest.fixture
def quick_kmeans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real k-means, on fewer training patches: K=1024 on the full 40k patches takes a minute."""
    from tokbench.adapters import kmeans_vq

    monkeypatch.setattr(kmeans_vq, "train_codebook", functools.partial(kmeans_vq.train_codebook, max_patches=3000))


def test_rd_on_samples_places_kmeans_and_reuses_codec_curves(tmp_path: Path, quick_kmeans: None) -> None:
    base = RunConfig(
        model="rd",
        suites=["recon"],
        limit=4,
        output_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "cache"),
        suite_options={"recon": {"lpips": "none"}},
    )
    k256 = f"kmeans-vq:K=256,p=8,iters=2,cache_dir={tmp_path / 'cb'}"
    k1024 = f"kmeans-vq:K=1024,p=8,iters=2,cache_dir={tmp_path / 'cb'}"

    def config(models: list[str]) -> RdConfig:
        return RdConfig(base, models, ["jpeg", "webp"], [0.1, 0.3, 1.0], [1, 4])

    first = run_rd(config([k256]))
    assert first.stats.codec_points_run == 12 and first.stats.codec_encodes > 0

    second = run_rd(config([k256, k1024]))
    # the codec curves come from the rd cache: no codec run, no codec encode
    assert second.stats.codec_encodes == 0
    assert (second.stats.codec_points_run, second.stats.codec_points_cached) == (0, 12)
    assert second.stats.model_tokenizer_calls > 0  # K=1024 is new, so it did run

    data = json.loads(second.path.read_text())
    assert data["schema"] == "tokbench.rd/1" and data["stats"]["codec_encodes"] == 0
    psnr = data["sections"][0]["metrics"]["psnr"]
    for codec, c in psnr["codecs"].items():
        assert len(c["curve"]) >= 2, codec
        rates = [p[0] for p in c["curve"]]
        assert rates == sorted(rates)
        assert c["max_drop"] <= 0.3, f"{codec} PSNR not monotone in rate: {c['curve']}"
        for choice in c["choices"]:  # every chosen point keeps to its target rate
            if choice["chosen"]:
                assert choice["chosen"]["bpp"] <= choice["target_bpp"]
    models = {m["spec"]: m for m in psnr["models"]}
    assert models[k256]["rates"]["nominal"]["bpp"] == pytest.approx(8 / 64)
    assert models[k1024]["rates"]["nominal"]["bpp"] == pytest.approx(10 / 64)
    for m in models.values():
        assert 0 < m["rates"]["entropy"]["bpp"] <= m["rates"]["nominal"]["bpp"]
        for kind in ("nominal", "entropy"):
            assert set(m["equivalent"][kind]) == {"jpeg", "webp"}
    # K=256 and K=1024 form a sweep: one curve per rate, with BD deltas against each codec
    assert {s["rate"] for s in psnr["sweeps"]} == {"nominal", "entropy"}
    assert psnr["bd_codecs"]["reference"] == "jpeg"

    html = to_html(data)
    assert html.count("kmeans-vq:K=1024") >= 2 and "<svg" in html
    pngs = write_pngs(data, tmp_path / "plots")
    pytest.importorskip("matplotlib")
    assert [p.name for p in pngs] == ["rd-256-psnr.png", "rd-256-ms_ssim.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
