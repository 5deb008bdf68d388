"""TokBench-video's sets (``ch3``, ``ds``, ``face_clip_3s``) and any video manifest: kind ``video-text`` or
``video-faces``, ``images`` naming the folder of clips, ``annotations`` TokBench's per-frame video format.

``tokbench data fetch ch3`` downloads what the manifest names (Hugging Face ``Junfeng5/TokBench``);
``--dataset ch3`` reads it here: the files are verified against the manifest before any work, and a set
that is not on this machine fails at once with the command that fetches it.
"""

from __future__ import annotations

from pathlib import Path

from tokbench.data.annotations import read_json
from tokbench.data.dataset import DatasetUnavailable
from tokbench.data.manifest import Manifest, ManifestError, builtin_manifest, builtin_manifest_names, load_manifest
from tokbench.data.manifest import verify as verify_manifest
from tokbench.video.data import VideoDataset, annotated_dataset

VIDEO_KINDS = ("video-text", "video-faces")
VIDEO_FORMATS = ("tokbench-video-text", "tokbench-video-face")


def video_manifest(spec: str) -> Manifest | None:
    """The video manifest ``--dataset`` names (a registered name or a manifest file), else None."""
    if spec in builtin_manifest_names():
        manifest = builtin_manifest(spec)
    else:
        path = Path(spec).expanduser()
        if path.suffix != ".json" or not path.is_file():
            return None
        data = read_json(path)
        if not (isinstance(data, dict) and "source" in data):
            return None
        manifest = load_manifest(path)
    return manifest if manifest.kind in VIDEO_KINDS else None


def video_manifest_dataset(manifest: Manifest, root: str | None) -> VideoDataset:
    """The clips and per-frame annotations of a fetched video set, checked against its manifest."""
    base = manifest.root(root)
    label = manifest.root_label(root)
    ann = manifest.annotations
    if ann is None or ann.get("format") not in VIDEO_FORMATS:
        raise ManifestError(
            f"dataset {manifest.name!r}: a {manifest.kind} manifest needs annotations with format "
            f"{' or '.join(VIDEO_FORMATS)}"
        )
    if not (base / ann["file"]).is_file() or not (base / manifest.images).is_dir():
        how = (
            f"set ${manifest.source.get('env')} to its folder"
            if manifest.source["type"] == "local"
            else f"run `tokbench data fetch {manifest.name}`"
        )
        net = " (needs network)" if manifest.source["type"] == "huggingface" else ""
        raise DatasetUnavailable(
            f"dataset {manifest.name!r} is not on this machine (missing {label}/{ann['file']} or "
            f"{label}/{manifest.images}/); {how}{net}"
        )
    real = base.resolve()
    for field_name, rel in (("images", manifest.images), ("annotations.file", ann["file"])):
        if not (base / rel).resolve().is_relative_to(real):
            raise ManifestError(f"dataset {manifest.name!r}: field {field_name!r} ({rel}) resolves outside {label}")
    report = verify_manifest(manifest, base, label)
    if not report.passed:
        raise ManifestError(f"dataset {manifest.name!r} does not match its manifest:\n{report.describe()}")
    ds = annotated_dataset(base / manifest.images, manifest.name, [base / ann["file"]])
    ds.identity = {"manifest": manifest.name, "manifest_sha256": manifest.sha256, **ds.identity}
    return ds
