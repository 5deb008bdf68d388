"""Turn a ``--dataset`` value into an ordered list of samples to evaluate.

``--dataset`` takes a registered manifest name (``samples``, ``ic13``, ...), a manifest file,
or a TokBench-format annotation file together with ``--images DIR``; a plain folder of images
(``--images DIR`` alone) works for suites that need no annotations.

Only regular files inside the image folder become samples: a file name that leaves it (``../x``,
an absolute path, a link pointing out) or names a FIFO, device or folder is skipped with its reason.
A registered dataset whose folder does not match its manifest's count or file list is refused,
unless ``allow_partial``, which records what was found in the dataset identity.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tokbench.data.annotations import ImageRecord, read_annotations, read_json
from tokbench.data.manifest import (
    Manifest,
    ManifestError,
    VerifyReport,
    builtin_manifest,
    file_list_sha256,
    image_names,
    load_manifest,
    verify,
)
from tokbench.errors import TokbenchError
from tokbench.hashing import sha256_bytes
from tokbench.paths import data_root

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
# stable skip reasons for files that are never opened
OUTSIDE_FOLDER = "outside the image folder"
NOT_REGULAR = "not a regular file"


class DatasetUnavailable(TokbenchError, FileNotFoundError):
    """The data is not on this machine; the message says which files and how to get them."""


class PartialDataset(ManifestError):
    """The data on disk is fewer or other files than the manifest lists; ``--allow-partial`` overrides."""


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


def resolve_dataset(
    spec: str, images: str | None = None, root: str | None = None, offline: bool = False, allow_partial: bool = False
) -> Dataset:
    """Build the dataset a ``--dataset`` / ``--images`` pair names."""
    path = Path(spec).expanduser()
    if spec == "samples":
        return samples_dataset(root)
    if path.suffix == ".json" and path.is_file():
        data = read_json(path)
        if isinstance(data, dict) and "source" in data:
            manifest = load_manifest(path)
            return manifest_dataset(manifest, root, offline, allow_partial)
        if images is None:
            raise DatasetUnavailable(f"{path} is an annotation file: give the image folder with --images DIR")
        return annotation_dataset(path, Path(images).expanduser(), path.stem)
    if spec in ("folder", "") and images:
        return folder_dataset(Path(images).expanduser())
    return manifest_dataset(builtin_manifest(spec), root, offline, allow_partial)


def manifest_dataset(manifest: Manifest, root: str | None, offline: bool, allow_partial: bool = False) -> Dataset:
    base = manifest.root(root)
    label = manifest.root_label(root)  # `$NAME` for a root from the environment: its value is never shown
    ann = manifest.annotations
    if not base.exists() or (ann and not (base / ann["file"]).is_file()):
        how = (
            f"set ${manifest.source.get('env')} to its folder"
            if manifest.source["type"] == "local"
            else f"run `tokbench data fetch {manifest.name}`"
        )
        wanted = f"{label}/{ann['file']}" if ann else f"{label}/{manifest.images}"
        raise DatasetUnavailable(
            f"dataset {manifest.name!r} is not on this machine (missing {wanted}); {how}"
            + (" (needs network)" if manifest.source["type"] == "huggingface" else "")
        )
    real_base = base.resolve()
    image_dir = base / manifest.images
    for field_name, rel in (("images", manifest.images), ("annotations.file", ann["file"] if ann else None)):
        if rel is not None and not (base / rel).resolve().is_relative_to(real_base):
            raise ManifestError(
                f"dataset {manifest.name!r}: field {field_name!r} ({rel}) resolves outside the dataset root {label}"
            )
    report = verify(manifest, base, label)
    if report.mismatched:
        raise ManifestError(f"dataset {manifest.name!r} does not match its manifest:\n{report.describe()}")
    partial = _partial(manifest, report, image_dir)
    if partial and not allow_partial:
        counts = (
            [f"expected {partial['expected']} image files, found {partial['found']}"]
            if partial["expected"] is not None
            else []
        )
        counts += [f"{partial['missing_files']} listed file(s) missing"] if partial["missing_files"] else []
        raise PartialDataset(
            f"dataset {manifest.name!r} in {label}/{manifest.images} is incomplete or not the "
            f"manifest's ({'; '.join(counts) or 'see below'}):\n{report.describe()}\n"
            "pass --allow-partial (RunConfig.allow_partial) to run on the files that are there; "
            "the result records it"
        )
    if ann:
        ds = annotation_dataset(base / ann["file"], image_dir, manifest.name, ann.get("format"))
    else:
        ds = folder_dataset(image_dir, manifest.name)
    ds.identity = {"manifest": manifest.name, "manifest_sha256": manifest.sha256, **ds.identity}
    if partial:
        ds.identity["partial"] = partial
    return ds


def _partial(manifest: Manifest, report: VerifyReport, image_dir: Path) -> dict[str, Any] | None:
    """What differs from the manifest other than checksums (counts, file list, missing files), or None."""
    if not (report.missing or report.problems):
        return None
    names = image_names(image_dir)
    out: dict[str, Any] = {
        "expected": manifest.expected_count,
        "found": len(names),
        "missing_files": len(report.missing),
        "problems": len(report.problems),
    }
    if manifest.file_list_sha256:
        out["file_list_sha256"] = file_list_sha256(names)
    return out


def annotation_dataset(ann_path: Path, image_dir: Path, name: str, fmt: str | None = None) -> Dataset:
    records, skipped = read_annotations(ann_path, fmt)
    real_dir = image_dir.resolve()
    samples = []
    for record in records:
        refused = _refused(image_dir / record.file_name, real_dir)
        if refused:
            skipped.append((record.file_name, refused))
        else:
            samples.append(_sample(record, image_dir, name))
    identity = {"annotations": str(ann_path.name), "annotations_sha256": sha256_bytes(ann_path.read_bytes())}
    return Dataset(name, samples, identity, skipped)


def folder_dataset(image_dir: Path, name: str | None = None) -> Dataset:
    if not image_dir.is_dir():
        raise DatasetUnavailable(f"image folder not found: {image_dir}")
    files = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    real_dir = image_dir.resolve()
    samples, skipped = [], []
    for p in files:
        refused = _refused(p, real_dir)
        if refused:
            skipped.append((p.name, refused))
        else:
            samples.append(Sample(p.name, p, {}, name or image_dir.name))
    identity = {"folder": str(image_dir), "file_list_sha256": sha256_bytes("\n".join(p.name for p in files).encode())}
    return Dataset(name or image_dir.name, samples, identity, skipped)


def _refused(path: Path, real_dir: Path) -> str | None:
    """Why ``path`` may not be read as a sample (outside the folder, not a regular file), else None.

    A missing or unreadable file passes: reading it fails with its own reason, counted per image.
    """
    try:
        real = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop or a NUL byte in the name
        return "unresolvable file name"
    if not real.is_relative_to(real_dir):
        return OUTSIDE_FOLDER
    try:
        mode = os.stat(real).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else NOT_REGULAR


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
    return Sample(record.file_name, image_dir / record.file_name, {**record.annotations, "dataset": dataset}, dataset)
