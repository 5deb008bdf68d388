"""Video datasets: ``video-samples`` (made at run time), a folder of videos, or TokBench per-frame annotations.

A :class:`Clip` is one video file and its annotations by 0-based frame: ``{"text": [...], "faces": [...]}``,
read from TokBench's video formats (text: one record per annotated frame, ``file_name``
"<video>-frame<N>.<ext>" with N 1-based, ``video_name``; faces: ``{video_name, frame_anns}``). A record
that cannot be used is counted in ``skipped`` with its reason; an annotated frame beyond a clip's end is
counted when the clip is read (its length is known only then).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokbench.data.annotations import BadAnnotations, read_json
from tokbench.data.dataset import DatasetUnavailable
from tokbench.hashing import sha256_bytes
from tokbench.paths import data_root

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"}
VIDEO_DATASETS = ("video-samples", "video-folder")
_FRAME = re.compile(r"-frame(\d+)(?:\.[A-Za-z0-9]+)?$")


@dataclass
class Clip:
    clip_id: str
    path: Path
    frames: dict[int, dict[str, list[Any]]]  # 0-based frame -> {"text": [...], "faces": [...]}
    dataset: str


@dataclass
class VideoDataset:
    name: str
    samples: list[Clip]  # named as the image Dataset's, so result records count clips the same way
    identity: dict[str, Any]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # (clip, 0-based frame) of each text record with instances, in the annotation files' order: the order
    # TokBench's loader reads them in, which capped decoding (``parseq:decode=reference``) depends on
    text_order: list[tuple[str, int]] = field(default_factory=list)


def is_video_dataset(spec: str, images: str | None = None) -> bool:
    """Whether ``--dataset`` names video: a video dataset name, or a TokBench video annotation file."""
    if "," in spec:  # a list of sets: video if any entry is (tokbench.video.sets refuses a mix, naming it)
        return any(is_video_dataset(e.strip()) for e in spec.split(",") if e.strip())
    if spec in VIDEO_DATASETS:
        return True
    from tokbench.data.manifest import ManifestError
    from tokbench.video.manifests import video_manifest

    try:
        if video_manifest(spec) is not None:
            return True
    except (ManifestError, BadAnnotations):
        return False  # the image path reports the bad manifest
    path = Path(spec).expanduser()
    if path.suffix != ".json" or not path.is_file():
        return False
    try:
        data = read_json(path)
    except BadAnnotations:
        return False
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "video_name" in data[0]


def resolve_video_dataset(spec: str, images: str | None, root: str | None) -> VideoDataset:
    if spec == "video-samples":
        return samples_dataset(root)
    from tokbench.video.manifests import video_manifest, video_manifest_dataset

    manifest = video_manifest(spec)
    if manifest is not None:
        return video_manifest_dataset(manifest, root)
    if images is None:
        raise DatasetUnavailable(f"--dataset {spec}: give the video folder with --images DIR")
    folder = Path(images).expanduser()
    if spec == "video-folder":
        return folder_dataset(folder, folder.name)
    path = Path(spec).expanduser()
    return annotated_dataset(folder, path.stem, [path])


def samples_dataset(root: str | None) -> VideoDataset:
    """``video-samples``, built into the data root on first use (a few seconds) and read from there."""
    from tokbench.video.samples import GENERATOR_VERSION, build_video_samples

    out = data_root(root) / f"video-samples-v{GENERATOR_VERSION}"
    if not (out / "meta.json").is_file():  # written last: a half-built folder is built again
        build_video_samples(out)
    ds = annotated_dataset(out, "video-samples", [out / "text_video_samples.json", out / "face_video_samples.json"])
    ds.identity = {"dataset": "video-samples", "generator_version": GENERATOR_VERSION, **ds.identity}
    return ds


def _video_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetUnavailable(f"video folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)


def folder_dataset(folder: Path, name: str) -> VideoDataset:
    files = _video_files(folder)
    identity = {"folder": str(folder), "file_list_sha256": sha256_bytes("\n".join(p.name for p in files).encode())}
    return VideoDataset(name, [Clip(p.stem, p, {}, name) for p in files], identity)


def annotated_dataset(folder: Path, name: str, annotation_files: list[Path]) -> VideoDataset:
    """Every video in ``folder`` with the annotations of ``annotation_files`` (text or face format)."""
    files = _video_files(folder)
    by_name: dict[str, dict[int, dict[str, list[Any]]]] = {}
    skipped: list[tuple[str, str]] = []
    identity: dict[str, Any] = {}
    text_order: list[tuple[str, int]] = []
    for ann in annotation_files:
        data = read_json(ann)
        identity[f"{ann.name}_sha256"] = sha256_bytes(ann.read_bytes())
        if not isinstance(data, list):
            raise BadAnnotations(f"{ann}: expected a list of per-frame (text) or per-video (face) records")
        for i, record in enumerate(data):
            problem = _add_record(by_name, record, text_order)
            if problem:
                skipped.append((f"{ann.name}[{i}]", problem))
    stems = {p.stem: p for p in files}
    for video in sorted(set(by_name) - set(stems)):
        skipped.append((video, "annotated video not in the folder"))
    identity["file_list_sha256"] = sha256_bytes("\n".join(p.name for p in files).encode())
    clips = [Clip(p.stem, p, by_name.get(p.stem, {}), name) for p in files]
    return VideoDataset(name, clips, identity, skipped, text_order)


def _add_record(
    by_name: dict[str, dict[int, dict[str, list[Any]]]], record: Any, text_order: list[tuple[str, int]]
) -> str | None:
    """File one annotation record under its video and frames; the reason it cannot be used, else None."""
    if not isinstance(record, dict):
        return "record is not an object"
    video = record.get("video_name")
    if not isinstance(video, str) or not video:
        return "missing video_name"
    video = Path(video).stem
    if "frame_anns" in record:  # faces: one record per video
        anns = record["frame_anns"]
        if not isinstance(anns, list):
            return "frame_anns is not a list"
        for t, faces in enumerate(anns):
            if isinstance(faces, list) and faces:
                by_name.setdefault(video, {}).setdefault(t, {}).setdefault("faces", []).extend(faces)
        return None
    match = _FRAME.search(str(record.get("file_name", "")))
    if match is None or int(match.group(1)) < 1:
        return "file_name has no 1-based -frame<N>"
    anns = record.get("annotations")
    if not isinstance(anns, list):
        return "annotations is not a list"
    if anns:
        t = int(match.group(1)) - 1
        by_name.setdefault(video, {}).setdefault(t, {}).setdefault("text", []).extend(anns)
        text_order.append((video, t))
    return None
