"""Several data sets in one ``--dataset``: a comma-separated list of names, manifests or annotation files,
and the registered groups that stand for the sets TokBench pools.

``--images`` pairs with the entries that need an image folder (an annotation file, ``folder``): one folder
serves them all, or a comma-separated list gives one folder per such entry, in the same order. A group name
(``tokbench-text`` = the 8 text sets, ``tokbench-face`` = WFLW) expands in place. A run over several sets
writes each set's result and one pooled result (:mod:`tokbench.pool`), named after the group when the
whole list is one group, else after the sets joined by ``+``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tokbench.errors import ConfigError

TEXT_SETS = ("ic13", "ic15", "tt", "textocr", "cord", "sroie", "infograph", "docvqa")
GROUPS: dict[str, tuple[str, ...]] = {"tokbench-text": TEXT_SETS, "tokbench-face": ("wflw",)}
# the name published and imported TokBench rows give their data, and the group that is that data per suite
OFFICIAL = "tokbench-official"
OFFICIAL_GROUPS = {"text": "tokbench-text", "face": "tokbench-face"}


@dataclass(frozen=True)
class DatasetList:
    """The entries of a ``--dataset`` value, each with its image folder, and the pooled result's name."""

    entries: tuple[tuple[str, str | None], ...]
    pooled_name: str | None  # None: a single set, nothing to pool


def _takes_images(entry: str) -> bool:
    """An annotation file or ``folder`` (a manifest file names its own folder)."""
    if entry == "folder":
        return True
    path = Path(entry).expanduser()
    if path.suffix != ".json" or not path.is_file():
        return False
    from tokbench.data.annotations import read_json

    data = read_json(path)
    return not (isinstance(data, dict) and "source" in data)


def split_datasets(spec: str, images: str | None) -> DatasetList:
    """Expand groups and pair ``--images`` folders with the entries that take one."""
    names = [p.strip() for p in spec.split(",")]
    if not spec.strip() or any(not n for n in names):
        raise ConfigError(f"--dataset {spec!r}: expected comma-separated names or files, with no empty entry")
    expanded = [n for name in names for n in GROUPS.get(name, (name,))]
    paired = pair_folders(spec, expanded, images, _takes_images, "folder")
    if len(expanded) == 1:
        paired = [images]
    if len(set(expanded)) != len(expanded):
        raise ConfigError(f"--dataset {spec!r} names a set twice")
    if len(expanded) == 1:
        return DatasetList(((expanded[0], paired[0]),), None)
    pooled = names[0] if len(names) == 1 else "+".join(_short(e) for e in expanded)
    return DatasetList(tuple(zip(expanded, paired, strict=True)), pooled)


def pair_folders(
    spec: str, entries: list[str], images: str | None, takes: Callable[[str], bool], folder_entry: str
) -> list[str | None]:
    """``--images`` paired with the entries that take a folder (``takes``): one folder for all of them, or
    one per such entry in order; None for the others."""
    folders = [p.strip() for p in images.split(",")] if images else []
    takers = [i for i, e in enumerate(entries) if takes(e)]
    if len(folders) > 1 and len(folders) != len(takers):
        raise ConfigError(
            f"--images gives {len(folders)} folders for {len(takers)} annotation file(s)/{folder_entry} entries in "
            f"--dataset {spec!r}: give one folder for all, or one per such entry in the same order"
        )
    paired: list[str | None] = [None] * len(entries)
    for k, i in enumerate(takers):
        paired[i] = folders[k] if len(folders) > 1 else (folders[0] if folders else None)
    return paired


def _short(entry: str) -> str:
    return Path(entry).stem if entry.endswith(".json") else entry
