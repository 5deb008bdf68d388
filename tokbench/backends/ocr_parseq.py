"""docTR PARSeq with TokBench's preprocessing: the paper's OCR (an optional extra).

TokBench builds ``recognition.parseq(pretrained=True, input_shape=(3, 32, 128), vocab=VOCABS["french"])``
and feeds each crop through docTR's ``Resize((32, 128), preserve_aspect_ratio=True)`` (bilinear with
antialias, size truncated to int, zero padding at bottom/right) and then PARSeq's normalisation
(mean 0.694/0.695/0.693, std 0.299/0.296/0.301). This backend does the same preprocessing itself
(:func:`preprocess`) and loads the released checkpoint ``parseq-56125471.pt`` into a docTR PARSeq built
with the paper's vocab, in the paper's character order.

``python-doctr`` is not a dependency of tokbench: ``pip install "python-doctr[torch]"``. The weights
are looked up at the ``weights=`` option, then ``$DOCTR_CACHE_DIR/models/`` and ``~/.cache/doctr/models/``
(docTR's own cache), and otherwise downloaded from docTR's URL (checked against the hash prefix in its
name). Offline, that download fails at once and the error names the file and where to put it.
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tokbench.backends import BackendUnavailable, package_version
from tokbench.backends.ocr import Reading, chunks, is_cuda
from tokbench.errors import ConfigError
from tokbench.hashing import sha256_file

WEIGHTS_FILE = "parseq-56125471.pt"
WEIGHTS_URL = "https://doctr-static.mindee.com/models?id=v0.7.0/parseq-56125471.pt&src=0"
WEIGHTS_HASH_PREFIX = "56125471"
INPUT_SIZE = (32, 128)
MEAN = (0.694, 0.695, 0.693)
STD = (0.299, 0.296, 0.301)
DECODES = ("uncapped", "reference")
REFERENCE_BATCH = 64  # eval_text.py's batch size: the unit the reference caps over
#: docTR VOCABS["french"] (latin + "°" + currency + French accented letters), in its order: the
#: checkpoint's class indices follow this order.
PAPER_VOCAB = string.digits + string.ascii_letters + string.punctuation + "°" + "£€¥¢฿" + "àâéèêëîïôùûüçÀÂÉÈÊËÎÏÔÙÛÜÇ"


def cache_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("DOCTR_CACHE_DIR"):
        dirs.append(Path(os.environ["DOCTR_CACHE_DIR"]) / "models")
    dirs.append(Path.home() / ".cache" / "doctr" / "models")
    return dirs


def _missing_weights(why: str) -> BackendUnavailable:
    where = cache_dirs()[0]
    return BackendUnavailable(
        f"PARSeq weights {WEIGHTS_FILE} not available ({why}). On a machine with network, download "
        f"{WEIGHTS_URL} and place it at {where / WEIGHTS_FILE} (or pass "
        f"--ocr parseq:weights=/path/to/{WEIGHTS_FILE}); running any docTR parseq(pretrained=True) once also fills "
        f"that cache."
    )


def find_weights(explicit: str | None = None, download: bool = True) -> Path:
    """The checkpoint path: the explicit one, a cached copy, or a fresh (verified) download."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise _missing_weights(f"no file at {path}")
        return path
    for folder in cache_dirs():
        if (folder / WEIGHTS_FILE).is_file():
            return folder / WEIGHTS_FILE
    if not download:
        raise _missing_weights("not in the docTR cache and downloads are disabled")
    import urllib.request

    target = cache_dirs()[0] / WEIGHTS_FILE
    tmp = target.with_suffix(".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(WEIGHTS_URL, timeout=20) as response, tmp.open("wb") as f:
            while block := response.read(1 << 20):
                f.write(block)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise _missing_weights(f"download failed: {e}") from None
    if not sha256_file(tmp).startswith(WEIGHTS_HASH_PREFIX):
        tmp.unlink(missing_ok=True)
        raise _missing_weights("the downloaded file does not match its hash prefix")
    tmp.replace(target)
    return target


def missing_weights(explicit: str | None = None) -> str | None:
    """What is missing for the parseq backend (package, weights) and how to get it, or None; never downloads."""
    from importlib.util import find_spec

    lacks = []
    if find_spec("doctr") is None:
        lacks.append('package python-doctr: pip install -e ".[parseq]"')
    try:
        find_weights(explicit, download=False)
    except BackendUnavailable as e:
        lacks.append(str(e))
    return "; ".join(lacks) or None


def reference_caps(labels: list[str], batch: int = REFERENCE_BATCH) -> list[int]:
    """Each instance's decode cap under ``decode=reference``: the longest label of its batch of ``batch``
    consecutive instances (docTR then decodes that many + 1 positions)."""
    caps: list[int] = []
    for start in range(0, len(labels), batch):
        part = labels[start : start + batch]
        caps += [max(len(t) for t in part)] * len(part)
    return caps


def preprocess(crops: list[np.ndarray], device: str = "cpu") -> Any:
    """uint8 RGB crops -> normalised float tensor [N, 3, 32, 128], as TokBench's docTR pipeline."""
    import torch
    import torch.nn.functional as F

    th, tw = INPUT_SIZE
    target_ratio = th / tw
    batch = torch.zeros((len(crops), 3, th, tw), dtype=torch.float32)
    for i, crop in enumerate(crops):
        img = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float().div(255.0)
        h, w = img.shape[-2:]
        ratio = h / w
        if ratio == target_ratio:
            size = (th, tw)
        elif ratio > target_ratio:
            size = (th, max(int(th / ratio), 1))
        else:
            size = (max(int(tw * ratio), 1), tw)
        img = F.interpolate(img[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
        batch[i, :, : size[0], : size[1]] = img
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return ((batch - mean) / std).to(device)


class Parseq:
    name: ClassVar[str] = "parseq"

    def __init__(
        self, batch_size: int = 64, weights: str | None = None, download: bool = True, decode: str = "uncapped"
    ) -> None:
        if decode not in DECODES:
            raise ConfigError(f"--ocr parseq: decode must be one of {', '.join(DECODES)}, got {decode!r}")
        self.decode = decode
        self.batch_size = int(batch_size)
        self.weights = weights
        self.download = bool(download)
        self.charset: str | None = PAPER_VOCAB
        self._model: Any = None
        self._device = "cpu"

    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "doctr": package_version("python-doctr"),
            "weights": WEIGHTS_FILE,
            "vocab": "french",
            "input": list(INPUT_SIZE),
            "mean": list(MEAN),
            "std": list(STD),
            "decode": self.decode,
            **({"decode_batch": REFERENCE_BATCH} if self.decode == "reference" else {}),
        }

    def identity(self) -> str:
        """What the numbers depend on, without paths or speed options (compared by the report). Plain
        ``parseq`` is PARSeq as the paper ran it (what published and imported results say), so the
        uncapped decode names itself."""
        return self.name if self.decode == "reference" else f"{self.name}:decode={self.decode}"

    @property
    def wants_caps(self) -> bool:
        return self.decode == "reference"

    def missing(self) -> str | None:
        return missing_weights(self.weights)

    def setup(self, device: str) -> None:
        if self._model is not None:
            return
        try:
            from doctr.models import recognition
        except ImportError:
            raise BackendUnavailable(
                'the parseq OCR backend needs docTR, an optional extra: pip install "python-doctr[torch]" '
                f"(and the weights {WEIGHTS_FILE}); or use --ocr easyocr (offline)"
            ) from None
        import torch

        path = find_weights(self.weights, self.download)
        model = recognition.parseq(pretrained=False, input_shape=(3, *INPUT_SIZE), vocab=PAPER_VOCAB)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as e:  # a truncated file or an incompatible docTR release
            raise BackendUnavailable(
                f"cannot load {path} into docTR {package_version('python-doctr')} "
                f"PARSeq: {type(e).__name__}: {str(e)[:300]}"
            ) from None
        self._device = device if is_cuda(device) else "cpu"
        self._model = model.eval().to(self._device)

    def recognize(self, crops: list[np.ndarray], caps: list[int] | None = None) -> list[Reading]:
        """One reading per crop; ``caps`` (``decode=reference`` only) is each crop's decode cap."""
        if self._model is None:
            raise RuntimeError("Parseq.setup(device) must be called before recognize()")
        if self.wants_caps and (caps is None or len(caps) != len(crops)):
            raise RuntimeError("parseq decode=reference needs one cap per crop (the text suite supplies them)")
        import torch

        readings: list[Reading | None] = [None] * len(crops)
        # crops sharing a cap decode together: a cap changes the decode, batch neighbours do not
        groups: dict[int | None, list[int]] = {}
        for i in range(len(crops)):
            groups.setdefault(caps[i] if self.wants_caps and caps else None, []).append(i)
        with torch.inference_mode():
            for cap, members in groups.items():
                for part in chunks(len(members), self.batch_size):
                    idx = [members[i] for i in part]
                    batch = preprocess([crops[i] for i in idx], self._device)
                    for i, (word, conf) in zip(idx, self._read(batch, cap), strict=True):
                        readings[i] = Reading(str(word), float(conf) if conf is not None else None)
        if any(r is None for r in readings):
            raise RuntimeError(f"PARSeq returned fewer readings than the {len(crops)} crops")
        return [r for r in readings if r is not None]

    def _read(self, batch: Any, cap: int | None) -> list[tuple[str, float | None]]:
        """(word, confidence) per row; with ``cap``, docTR's decode as when given targets of that longest
        length (``PARSeq.forward``: ``decode_autoregressive(features, max_len)``), without the loss."""
        if cap is None:
            return list(self._model(batch, return_preds=True)["preds"])
        features = self._model.feat_extractor(batch)["features"][:, 1:, :]  # as forward: drop the cls token
        return list(self._model.postprocessor(self._model.decode_autoregressive(features, int(cap))))
