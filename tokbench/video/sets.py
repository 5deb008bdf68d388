"""Several video sets in one run, and per-clip summaries of frame suites.

``--dataset a,b`` lists video sets (names, manifests, annotation files) as the image runner's does
(:mod:`tokbench.data.groups`): ``--images`` gives one folder for every entry that takes one (an annotation
file, ``video-folder``) or a comma-separated folder per such entry, in order. The run writes each set's
result and one pooled result per suite, named after the sets joined by ``+`` (:mod:`tokbench.pool`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokbench.data.groups import pair_folders
from tokbench.errors import ConfigError
from tokbench.video.data import VIDEO_DATASETS, VideoDataset, is_video_dataset, resolve_video_dataset

if TYPE_CHECKING:
    from tokbench.suite import Suite


def _takes_folder(entry: str) -> bool:
    """``video-folder`` or an annotation file (a manifest names its own folder)."""
    if entry == "video-folder":
        return True
    if entry in VIDEO_DATASETS or not entry.endswith(".json"):
        return False
    from tokbench.video.manifests import video_manifest

    return video_manifest(entry) is None


def split_video_datasets(spec: str, images: str | None) -> list[tuple[str, str | None]]:
    """The entries of ``--dataset`` with their ``--images`` folders; a non-video entry is refused."""
    entries = [e.strip() for e in spec.split(",")]
    if not spec.strip() or any(not e for e in entries):
        raise ConfigError(f"--dataset {spec!r}: expected comma-separated names or files, with no empty entry")
    if len(entries) == 1:
        return [(entries[0], images)]
    if len(set(entries)) != len(entries):
        raise ConfigError(f"--dataset {spec!r} names a set twice")
    paired = pair_folders(spec, entries, images, _takes_folder, "video-folder")
    for entry, folder in zip(entries, paired, strict=True):
        if not is_video_dataset(entry, folder):
            raise ConfigError(
                f"--dataset {spec!r}: {entry!r} is not a video dataset (video and image sets run separately)"
            )
    return list(zip(entries, paired, strict=True))


def resolve_video_datasets(spec: str, images: str | None, root: str | None) -> tuple[list[VideoDataset], str | None]:
    """Every set of ``--dataset`` and the pooled result's name (None for a single set)."""
    datasets = [resolve_video_dataset(entry, folder, root) for entry, folder in split_video_datasets(spec, images)]
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise ConfigError(f"--dataset {spec!r}: two sets share a name ({', '.join(names)}); rename a file or folder")
    return datasets, ("+".join(names) if len(datasets) > 1 else None)


def clip_of(record: dict[str, Any], by_set: bool) -> str:
    """The clip a frame record belongs to (its image id is ``<clip>#frame<N>``); ``by_set``: ``<set>/<clip>``."""
    clip = str(record.get("image_id", "")).rsplit("#frame", 1)[0]
    return f"{record.get('dataset')}/{clip}" if by_set else clip


def per_clip(suite: Suite, records: list[dict[str, Any]], resolution: int, by_set: bool = False) -> dict[str, Any]:
    """Each clip's metrics by the suite's own aggregate over that clip's records (the pooled arithmetic on
    a part of the instances), with its scored ``instances``; clips in record order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(clip_of(r, by_set), []).append(r)
    return {
        clip: {
            **suite.aggregate(recs, resolution).get("metrics", {}),
            "instances": sum(1 for r in recs if "skip" not in r),
        }
        for clip, recs in groups.items()
    }
