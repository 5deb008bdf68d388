"""Turn a ``--dataset`` value into an ordered list of samples to evaluate.

``--dataset`` takes a registered manifest name (``samples``, ``ic13``, ...), a manifest file,
or a TokBench-format annotation file together with ``--images DIR``; a plain folder of images
(``--images DIR`` alone) works for suites that need no annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tokbench.data.annotations import ImageRecord, read_annotations, read_json
from tokbench.data.manifest import Manifest, ManifestError, builtin_manifest, load_manifest, verify
from tokbench.hashing import sha256_bytes
from tokbench.paths import data_root

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


class DatasetUnavailable(FileNotFoundError):
    """The data is not on this machine; the message says which files and how to get them."""


@dataclass
class Sample:
    image_id: str
    path: Path
    annotations: dict[str, Any]
    dataset: str


@dataclass
class Dataset:
    name: str
    samples: list[Sample]
    identity: dict[str, Any]  # manifest hash or annotation/file-list hash, recorded in results
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)


def resolve_dataset(spec: str, images: str | None = None, root: str | None = None,
                    offline: bool = False) -> Dataset:
    """Build the dataset a ``--dataset`` / ``--images`` pair names."""
    path = Path(spec).expanduser()
    if spec == "samples":
        return samples_dataset(root)
    if path.suffix == ".json" and path.is_file():
        data = read_json(path)
        if isinstance(data, dict) and "source" in data:
            manifest = load_manifest(path)
            return manifest_dataset(manifest, root, offline)
        if images is None:
            raise DatasetUnavailable(f"{path} is an annotation file: give the image folder with --images DIR")
        return annotation_dataset(path, Path(images).expanduser(), path.stem)
    if spec in ("folder", "") and images:
        return folder_dataset(Path(images).expanduser())
    return manifest_dataset(builtin_manifest(spec), root, offline)


def manifest_dataset(manifest: Manifest, root: str | None, offline: bool) -> Dataset:
    base = manifest.root(root)
    ann = manifest.annotations
    if not base.exists() or (ann and not (base / ann["file"]).is_file()):
        how = (f"set ${manifest.source.get('env')} to its folder" if manifest.source["type"] == "local"
               else f"run `tokbench data fetch {manifest.name}`")
        wanted = base / ann["file"] if ann else base / manifest.images
        raise DatasetUnavailable(f"dataset {manifest.name!r} is not on this machine (missing {wanted}); {how}"
                                 + (" (needs network)" if manifest.source["type"] == "huggingface" else ""))
    report = verify(manifest, base)
    if report.mismatched:
        raise ManifestError(f"dataset {manifest.name!r} does not match its manifest:\n{report.describe()}")
    image_dir = base / manifest.images
    if ann:
        ds = annotation_dataset(base / ann["file"], image_dir, manifest.name, ann.get("format"))
    else:
        ds = folder_dataset(image_dir, manifest.name)
    ds.identity = {"manifest": manifest.name, "manifest_sha256": manifest.sha256, **ds.identity}
    return ds


def annotation_dataset(ann_path: Path, image_dir: Path, name: str, fmt: str | None = None) -> Dataset:
    records, skipped = read_annotations(ann_path, fmt)
    samples = [_sample(r, image_dir, name) for r in records]
    identity = {"annotations": str(ann_path.name), "annotations_sha256": sha256_bytes(ann_path.read_bytes())}
    return Dataset(name, samples, identity, skipped)


def folder_dataset(image_dir: Path, name: str | None = None) -> Dataset:
    if not image_dir.is_dir():
        raise DatasetUnavailable(f"image folder not found: {image_dir}")
    files = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    samples = [Sample(p.name, p, {}, name or image_dir.name) for p in files]
    identity = {"folder": str(image_dir), "file_list_sha256": sha256_bytes("\n".join(p.name for p in files).encode())}
    return Dataset(name or image_dir.name, samples, identity)


def samples_dataset(root: str | None = None) -> Dataset:
    """The embedded dataset: shipped text images, plus faces built at run time when available."""
    pkg = resources.files("tokbench.samples")
    with resources.as_file(pkg) as folder:
        folder = Path(folder)
        ds = annotation_dataset(folder / "text_samples.json", folder / "images", "samples")
    identity = dict(ds.identity)
    faces = _face_samples(root)
    if faces is not None:
        face_ds, face_identity = faces
        ds.samples += face_ds.samples
        ds.skipped += face_ds.skipped
        identity.update(face_identity)
    ds.identity = {"dataset": "samples", **identity}
    return ds


def _face_samples(root: str | None) -> tuple[Dataset, dict[str, Any]] | None:
    try:
        from tokbench.samples.faces import GENERATOR_VERSION, build_face_samples
    except ImportError:  # dlib missing: the samples have text only
        return None
    import json

    out = data_root(root) / f"samples-faces-v{GENERATOR_VERSION}"
    ann = out / "face_samples.json"
    if not ann.is_file():
        out.mkdir(parents=True, exist_ok=True)
        records = build_face_samples(out)
        tmp = ann.with_suffix(".tmp")
        tmp.write_text(json.dumps(records, indent=1))
        tmp.replace(ann)
    ds = annotation_dataset(ann, out, "samples", "tokbench-face")
    return ds, {"faces_annotations_sha256": ds.identity["annotations_sha256"]}


def _sample(record: ImageRecord, image_dir: Path, dataset: str) -> Sample:
    return Sample(record.file_name, image_dir / record.file_name, {**record.annotations, "dataset": dataset},
                  dataset)
