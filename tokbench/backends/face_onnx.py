"""InsightFace ArcFace recognisers (ONNX) with our own alignment: TokBench's face model.

``antelopev2`` (``glintr100.onnx``, ResNet-100 on Glint360K) is what TokBench uses; ``buffalo_l``
(``w600k_r50.onnx``, ResNet-50 on WebFace600K) is the common alternative. Neither ``insightface`` nor
its model packs are needed as packages: each face is aligned here from its ground-truth keypoints to
the 112x112 ArcFace template (Umeyama, :mod:`tokbench.metrics.face_align`, the geometry of InsightFace's
``norm_crop``), and the crop goes straight into the recognition model with onnxruntime, as RGB scaled
to [-1, 1] ((x - 127.5) / 127.5, InsightFace's default for these models; models whose graph starts by
normalising itself get raw pixels, as InsightFace decides: that check needs the ``onnx`` package, and without
it setup fails rather than guess; ``input_mean``/``input_std`` set them by hand). The resolved values and where
they came from are in the fingerprint, so every result records them. The packs are licensed by InsightFace for
non-commercial research only; a warning says so once per process.

The model file is looked up at ``model_path=`` or ``~/.insightface/models/<pack>/`` (also the nested
``<pack>/<pack>/`` the release zip unpacks to). There is no automatic download: a missing file fails at
once with where to put it and where to get it. ``session=`` accepts any ONNX-like object (``run`` and
``get_inputs``) or a plain callable (float32 NCHW batch -> embeddings), for tests.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tokbench.backends import BackendUnavailable, package_version
from tokbench.backends.face import batched
from tokbench.backends.ocr import is_cuda
from tokbench.metrics.face_align import ARCFACE_SIZE, align, arcface_matrix

RELEASE_URL = "https://github.com/deepinsight/insightface/releases/download/v0.7/{pack}.zip"
_warned: set[str] = set()


def insightface_root() -> Path:
    return Path.home() / ".insightface" / "models"


def warn_licence(pack: str) -> None:
    if pack in _warned:
        return
    _warned.add(pack)
    warnings.warn(
        f"InsightFace's {pack} model pack is licensed for non-commercial research purposes "
        "only (deepinsight/insightface model_zoo); make sure your use complies.",
        UserWarning,
        stacklevel=3,
    )


def graph_normalises_itself(path: Path) -> bool:
    """True if the ONNX graph's first nodes subtract and multiply (then raw pixels go in); needs ``onnx``."""
    try:
        import onnx
    except ImportError:
        raise BackendUnavailable(
            f"cannot tell whether {path.name} normalises its input itself: that needs the onnx package "
            '(pip install -e ".[insightface]"), or give input_mean=...,input_std=... in the --face spec'
        ) from None
    nodes = onnx.load(str(path)).graph.node[:8]
    names = [n.name for n in nodes]
    has_sub = any(n.startswith(("Sub", "_minus")) for n in names)
    has_mul = any(n.startswith(("Mul", "_mul")) for n in names)
    return has_sub and has_mul


class ArcFaceOnnx:
    name: ClassVar[str] = ""
    pack: ClassVar[str] = ""
    model_file: ClassVar[str] = ""

    def __init__(
        self,
        batch_size: int = 32,
        model_path: str | None = None,
        session: Any = None,
        input_mean: float | None = None,
        input_std: float | None = None,
    ) -> None:
        self.batch_size = int(batch_size)
        self.model_path = model_path
        self.threshold: float | None = None
        self._session = session
        self._mean = input_mean
        self._std = input_std
        self._norm_source = "auto" if input_mean is None or input_std is None else "option"
        self._run: Any = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "pack": self.pack,
            "file": self.model_file,
            "onnxruntime": package_version("onnxruntime") or package_version("onnxruntime-gpu"),
            "align": f"arcface-{ARCFACE_SIZE}-umeyama-gt-kps",
            # resolved at setup: (x - mean) / std on RGB uint8, and whether the option, the graph or the
            # InsightFace default (a test session, no graph to look at) decided it
            "input_norm": {"mean": self._mean, "std": self._std, "source": self._norm_source},
        }

    def identity(self) -> str:
        """What the numbers depend on, without paths (compared by the report)."""
        if self._norm_source == "option":
            return f"{self.name}:input_mean={self._mean},input_std={self._std}"
        return self.name

    def missing(self) -> str | None:
        """What is missing (onnxruntime, onnx, the model file) and how to get it, or None."""
        from importlib.util import find_spec

        lacks = [
            f'package {pkg}: pip install -e ".[insightface]"'
            for pkg, needed in (("onnxruntime", True), ("onnx", self._norm_source == "auto"))
            if needed and find_spec(pkg) is None
        ]
        try:
            self.find_model()
        except BackendUnavailable as e:
            lacks.append(str(e))
        return "; ".join(lacks) or None

    def candidates(self) -> list[Path]:
        if self.model_path:
            return [Path(self.model_path).expanduser()]
        root = insightface_root()
        return [root / self.pack / self.model_file, root / self.pack / self.pack / self.model_file]

    def find_model(self) -> Path:
        for path in self.candidates():
            if path.is_file():
                return path
        where = self.candidates()[0]
        raise BackendUnavailable(
            f"{self.name} face backend: model file {self.model_file} (InsightFace pack {self.pack}) not "
            f"found at {where}. On a machine with network, download {RELEASE_URL.format(pack=self.pack)} "
            f"and unzip it so that {self.model_file} sits in {insightface_root() / self.pack}/ (or pass "
            f"the suite option model_path=/path/to/{self.model_file}); the pack is for non-commercial "
            "research only. Offline, use --suite face:face=dlib."
        )

    def setup(self, device: str) -> None:
        warn_licence(self.pack)
        if self._run is not None:
            return
        if self._session is not None:
            self._bind(self._session)
            return
        path = self.find_model()
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendUnavailable(
                f"the {self.name} face backend needs onnxruntime: pip install onnxruntime (or onnxruntime-gpu)"
            ) from None
        providers = ["CPUExecutionProvider"]
        if is_cuda(device) and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        session = ort.InferenceSession(str(path), providers=providers)
        if self._mean is None or self._std is None:
            raw = graph_normalises_itself(path)
            self._mean = 0.0 if raw else 127.5
            self._std = 1.0 if raw else 127.5
            self._norm_source = "graph"
        self._bind(session)

    def _bind(self, session: Any) -> None:
        if self._mean is None or self._std is None:  # a given session: no graph to inspect
            self._mean, self._std, self._norm_source = 127.5, 127.5, "insightface default"
        if hasattr(session, "run") and hasattr(session, "get_inputs"):
            input_name = session.get_inputs()[0].name
            self._run = lambda blob: session.run(None, {input_name: blob})[0]
        elif callable(session):
            self._run = session
        else:
            raise TypeError("session must be an onnxruntime-like session or a callable")

    def prepare(self, original: np.ndarray, face: dict[str, Any]) -> np.ndarray:
        return arcface_matrix(face.get("kps"))

    def chip(self, image: np.ndarray, alignment: np.ndarray) -> np.ndarray:
        return align(image, alignment, ARCFACE_SIZE)

    def blob(self, chips: list[np.ndarray]) -> np.ndarray:
        """RGB uint8 chips -> normalised float32 NCHW batch."""
        x = np.stack([np.asarray(c, dtype=np.float32) for c in chips])
        x = (x - float(self._mean)) / float(self._std)  # type: ignore[arg-type]
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        if self._run is None:
            raise RuntimeError(f"{type(self).__name__}.setup(device) must be called first")
        return batched(lambda batch: self._run(self.blob(batch)), chips, self.batch_size)


class Antelopev2(ArcFaceOnnx):
    name = "antelopev2"
    pack = "antelopev2"
    model_file = "glintr100.onnx"


class BuffaloL(ArcFaceOnnx):
    name = "buffalo_l"
    pack = "buffalo_l"
    model_file = "w600k_r50.onnx"
