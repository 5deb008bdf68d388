"""Video VAEs through diffusers: Wan 2.1 / 2.2, HunyuanVideo, CogVideoX, LTX-Video, Mochi, Cosmos 1.0.

Clips go in as the contract's ``[B,T,3,H,W]`` in [0,1] and reach the model as ``[B,3,T,H,W]`` in [-1,1]
(every class's training range); the output is clamped back to [0,1]. Latents are the posterior mode
(``latent=mode``, deterministic); ``latent=sample`` draws with ``seed=`` (TokBench's scripts sample).
Scaling factors and latent means are not applied: they belong to diffusion training, not reconstruction.

Frames. Each class keeps ``1 + t*k`` frames (t its temporal compression) and drops or pads the rest
silently (diffusers 0.42.1, measured in the project note); the adapter declares that rule in
``info.frames`` so the runner pads with the last frame and trims back, and it refuses any other count
itself. CogVideoX declares ``1 + 8k``, the count TokBench's ``cogvideo_rec.py`` pads to. ``window=``
(frames per call) defaults to the family reference's chunking: 241 for HunyuanVideo, the whole clip
otherwise. ``tiling=true`` turns on diffusers' tiled encode/decode; HunyuanVideo's built-in temporal
tiling (on by default in diffusers) is recorded as ``temporal_tiling``.

Loading as :mod:`adapters.diffusers_vae`: ``from_pretrained(repo, subfolder="vae")`` from the local cache
first, the hub unless offline; ``path=DIR`` a local copy; ``config=`` (dict or JSON file) random weights
seeded by ``seed`` (tests). Missing weights raise :class:`WeightsUnavailable` naming the hub folder and
the command that fetches it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokbench.errors import ConfigError
from tokbench.families.catalog import Weights
from tokbench.families.hub import fetch_command, hub_cached, is_offline, require_hub, short_error
from tokbench.families.tensors import check_latent, count_params, seeded, torch_dtype
from tokbench.families.weights import sha256_files
from tokbench.tokenizer import Encoded, WeightsUnavailable
from tokbench.video.contract import FrameRule, VideoTokenizer, VideoTokenizerInfo

if TYPE_CHECKING:
    import torch

WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


@dataclass(frozen=True)
class VideoVAE:
    """One catalogued video VAE: its diffusers class, hub folder and what the real weights compress."""

    arch: str
    repo: str
    latent_channels: int
    temporal: int
    spatial: int
    license: str
    window: int | None = None  # frames per call in the family's reference script; None: whole clip
    frame_step: int | None = None  # accepted counts 1 + step*k; None: the temporal compression


_APACHE = "Apache-2.0"
CATALOG: dict[str, VideoVAE] = {
    "wan2.1": VideoVAE("AutoencoderKLWan", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 16, 4, 8, _APACHE),
    "wan2.2": VideoVAE("AutoencoderKLWan", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", 48, 4, 16, _APACHE),
    # TokBench's hunyuan_rec.py: chunks of 241 frames, each padded to 4n+1
    "hunyuanvideo": VideoVAE(
        "AutoencoderKLHunyuanVideo",
        "hunyuanvideo-community/HunyuanVideo",
        16,
        4,
        8,
        "Tencent Hunyuan Community License",
        window=241,
    ),  # fmt: skip
    "cogvideox-2b": VideoVAE("AutoencoderKLCogVideoX", "THUDM/CogVideoX-2b", 16, 4, 8, _APACHE, frame_step=8),
    "cogvideox-5b": VideoVAE(
        "AutoencoderKLCogVideoX", "THUDM/CogVideoX-5b", 16, 4, 8, "CogVideoX License", frame_step=8
    ),
    # the VAE TokBench evaluated (cogvideo_rec.py: whole clip, padded to 8n+1)
    "cogvideox1.5-5b": VideoVAE(
        "AutoencoderKLCogVideoX", "THUDM/CogVideoX1.5-5B", 16, 4, 8, "CogVideoX License", frame_step=8
    ),
    "ltx-video": VideoVAE("AutoencoderKLLTXVideo", "Lightricks/LTX-Video", 128, 8, 32, "LTX-Video license (see card)"),
    "mochi": VideoVAE("AutoencoderKLMochi", "genmo/mochi-1-preview", 12, 6, 8, _APACHE),
    "cosmos-cv8x8x8": VideoVAE(
        "AutoencoderKLCosmos", "nvidia/Cosmos-1.0-Tokenizer-CV8x8x8", 16, 8, 8, "NVIDIA Open Model License"
    ),
}


def compression(arch: str, model: Any) -> tuple[int, int]:
    """(temporal, spatial) compression of a built model, read from its config as each class defines it."""
    cfg = model.config
    if arch == "AutoencoderKLWan":
        return int(cfg.scale_factor_temporal), int(cfg.scale_factor_spatial)
    if arch == "AutoencoderKLCogVideoX":
        return int(cfg.temporal_compression_ratio), 2 ** (len(cfg.block_out_channels) - 1)
    if arch == "AutoencoderKLMochi":
        return math.prod(cfg.temporal_expansions), math.prod(cfg.spatial_expansions)
    if arch == "AutoencoderKLLTXVideo":  # computed in __init__ from its patch sizes and scalings
        return int(model.temporal_compression_ratio), int(model.spatial_compression_ratio)
    return int(cfg.temporal_compression_ratio), int(cfg.spatial_compression_ratio)  # HunyuanVideo, Cosmos


class DiffusersVideoVAE(VideoTokenizer):
    """A catalogued video VAE (``vae=NAME``), its hub weights, a local copy or a random config."""

    def __init__(
        self,
        vae: str = "wan2.1",
        path: str | None = None,
        config: dict[str, Any] | str | None = None,
        revision: str | None = None,
        offline: bool | None = None,
        latent: str = "mode",
        seed: int = 0,
        tiling: bool = False,
        window: int | None = None,
        latent_bits: int = 16,
    ) -> None:
        if vae not in CATALOG:
            raise ConfigError(f"video VAE {vae!r} unknown; choose from {', '.join(CATALOG)}")
        self.row = row = CATALOG[vae]
        self.latent = check_latent(vae, latent)
        if window is not None and (not isinstance(window, int) or window < 1):
            raise ConfigError(f"{vae}: window must be a positive number of frames, got {window!r}")
        self.vae, self.path, self.config, self.revision, self._offline = vae, path, config, revision, offline
        self.seed, self.tiling, self.latent_bits = int(seed), bool(tiling), int(latent_bits)
        self.weights = Weights(repo=row.repo, subfolder="vae")
        options: dict[str, Any] = {
            "vae": vae, "arch": row.arch, "hub_id": row.repo, "subfolder": "vae", "latent": self.latent,
            "tiling": self.tiling, "model_range": "[-1,1]", "latent_bits": self.latent_bits,
        }  # fmt: skip
        if self.latent == "sample":
            options["seed"] = self.seed
        if revision:
            options["revision"] = revision
        if config is not None:
            options["config"] = config if isinstance(config, str) else "inline"
        self._model: Any = None
        self.info = self._info(row.temporal, row.spatial, window if window is not None else row.window, options)

    def _info(self, temporal: int, spatial: int, window: int | None, options: dict[str, Any]) -> VideoTokenizerInfo:
        return VideoTokenizerInfo(
            name=self.vae,
            family="diffusers-video-vae",
            kind="continuous",
            temporal_compression=temporal,
            spatial_compression=spatial,
            size_multiple=spatial,
            frames=FrameRule(self.row.frame_step or temporal, 1),
            window=window,
            license=self.row.license,
            weights_source=self._source(),
            options=options,
        )

    def _source(self) -> str:
        if self.config is not None:
            return "random init from config"
        if self.path:
            return str(self.path)
        return f"hf:{self.row.repo}/vae" + (f"@{self.revision}" if self.revision else "")

    # -- loading ------------------------------------------------------------------------------
    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        """Build on first use; the built model's own compression and tiling go into the info."""
        self._device, self._dtype = device, torch_dtype(dtype)
        if self._model is None:
            model, files = self._build()
            model.eval().requires_grad_(False)
            if self.tiling:
                model.enable_tiling()
            temporal, spatial = compression(self.row.arch, model)
            options = {
                **self.info.options,
                "params": count_params(model),
                "temporal_tiling": bool(getattr(model, "use_framewise_encoding", False)),  # HunyuanVideo: on
            }
            self.info = replace(
                self._info(temporal, spatial, self.info.window, options), weights_sha256=sha256_files(files)
            )
            self._model = model
        if self._model.dtype != self._dtype:  # diffusers warns on any dtype .to(), even a no-op one
            self._model.to(dtype=self._dtype)
        self._model.to(self._device)

    def _build(self) -> tuple[Any, list[Path]]:
        try:
            import diffusers
        except ImportError:
            raise WeightsUnavailable(f"{self.vae}: needs diffusers. Fix: pip install 'tokbench[diffusers]'") from None
        cls = getattr(diffusers, self.row.arch)
        if self.config is not None:
            cfg = self.config
            if isinstance(cfg, (str, Path)):
                file = Path(cfg).expanduser()
                try:
                    cfg = json.loads(file.read_text())
                except (OSError, ValueError) as e:
                    raise ConfigError(f"{self.vae}: config file {file}: {short_error(e)}") from None
            with seeded(self.seed):
                return cls.from_config({k: v for k, v in cfg.items() if not k.startswith("_")}), []
        if self.path:
            root = Path(self.path).expanduser()
            sub = "vae" if (root / "vae" / "config.json").is_file() else None
            folder = root / (sub or "")
            if not (folder / "config.json").is_file():
                raise WeightsUnavailable(
                    f"{self.vae}: {folder / 'config.json'} not found; path= must be a save_pretrained directory. "
                    f"Fix: {fetch_command(self.weights, self.revision)} --local-dir {root}"
                )
            model = self._from_pretrained(cls, str(root), sub, None, True)
            return model, sorted(p for p in folder.iterdir() if p.name.startswith("diffusion_pytorch_model"))
        model = self._from_pretrained(cls, self.row.repo, "vae", self.revision, is_offline(self._offline))
        files = [p for f in WEIGHT_FILES if (p := hub_cached(self.weights, f, self.revision)) is not None]
        return model, files[:1]

    def _from_pretrained(self, cls: Any, where: str, sub: str | None, revision: str | None, local_only: bool) -> Any:
        """``cls.from_pretrained``: the cache first, then the hub unless offline; failures name the fix."""
        import warnings

        fix = f"Fix: {fetch_command(self.weights, revision)} (or pass path=DIR to a local copy)"
        what = f"{where}/{sub}" if sub else where
        kwargs: dict[str, Any] = {"subfolder": sub, "revision": revision}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return cls.from_pretrained(where, local_files_only=True, **kwargs)
            except Exception as e:  # missing files, partial downloads, bad configs: all "not available here"
                first = e
            if local_only:
                raise WeightsUnavailable(
                    f"{self.vae}: {what} is not available locally ({short_error(first)}). {fix}"
                ) from None
            require_hub(self.vae, what, fix)
            try:
                return cls.from_pretrained(where, **kwargs)
            except Exception as e:
                raise WeightsUnavailable(f"{self.vae}: {what} could not be loaded ({short_error(e)}). {fix}") from None

    # -- the contract ---------------------------------------------------------------------------
    def encode(self, clips: torch.Tensor) -> Encoded:
        import torch

        if self._model is None:
            self.load()
        t = clips.shape[1]
        if not self.info.frames.accepts(t):
            # the class would drop or invent frames silently; the runner pads to an accepted count first
            raise ConfigError(
                f"{self.vae}: {t} frames given, it accepts {self.info.frames.describe()} "
                f"(pad to {self.info.frames.padded(t)}: the runner does)"
            )
        x = clips.to(self._device, self._dtype).permute(0, 2, 1, 3, 4).mul(2).sub(1)
        dist = self._model.encode(x).latent_dist
        if self.latent == "sample":
            z = dist.sample(generator=torch.Generator(device=x.device).manual_seed(self.seed))
        else:
            z = dist.mode()
        bits = None
        if self.latent_bits > 0:
            bits = torch.full((z.shape[0],), float(z[0].numel() * self.latent_bits), dtype=torch.float64)
        return Encoded(latents=z, bits=bits, meta={"frames": t, "latent_shape": list(z.shape[1:])})

    def decode(self, encoded: Encoded) -> torch.Tensor:
        y = self._model.decode(encoded.latents.to(self._device, self._dtype)).sample
        # several classes (HunyuanVideo, LTX, Cosmos) do not clamp their output
        return y.float().add(1).div(2).clamp(0, 1).permute(0, 2, 1, 3, 4)
