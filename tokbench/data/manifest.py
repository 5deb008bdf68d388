"""Dataset manifests: where a dataset comes from, what files it has, how to verify them.

A manifest is a JSON file (see ``data_manifests/README.md``)::

    {"name": "ic13", "version": "1", "licence": "...", "kind": "text" | "faces" | "images",
     "source": {"type": "huggingface", "repo_id": ..., "repo_type": "dataset", "revision": ...,
                "allow_patterns": [...]}
             | {"type": "local", "env": "TOKBENCH_IMAGENET_VAL", "hint": "..."}
             | {"type": "package"},
     "images": "<dir relative to the dataset root>",
     "annotations": {"file": "<path relative to the root>", "format": "tokbench-text"} | null,
     "files": {"<relative path>": "<sha256>"},          # may be empty until first fetched
     "expected_count": <int> | null, "file_list_sha256": <sha256 of sorted names> | null}
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tokbench.hashing import sha256_file
from tokbench.jsonio import read_json
from tokbench.paths import data_root


class ManifestError(ValueError):
    """A manifest that is malformed, or data that does not match it."""


@dataclass
class Manifest:
    name: str
    kind: str
    source: dict[str, Any]
    images: str = "images"
    annotations: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)
    licence: str = "unknown"
    version: str = "1"
    expected_count: int | None = None
    file_list_sha256: str | None = None
    description: str = ""
    path: Path | None = None

    @property
    def sha256(self) -> str:
        """Hash of the manifest's content (not its path): identifies the dataset version."""
        payload = {k: v for k, v in self.__dict__.items() if k != "path"}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def root(self, override: str | os.PathLike[str] | None = None) -> Path:
        """Local folder of this dataset."""
        if self.source.get("type") == "package":
            return Path(str(resources.files("tokbench.samples")))
        if self.source.get("type") == "local":
            env = self.source.get("env")
            if env and os.environ.get(env):
                return Path(os.environ[env]).expanduser()
        return data_root(override) / self.name


_REQUIRED = ("name", "kind", "source")
_SOURCE_TYPES = ("huggingface", "local", "package", "url")


def parse_manifest(data: Any, where: str) -> Manifest:
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: a manifest is a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}")
    source = data["source"]
    if not isinstance(source, dict) or source.get("type") not in _SOURCE_TYPES:
        raise ManifestError(f"{where}: field 'source.type' must be one of {', '.join(_SOURCE_TYPES)}")
    known = set(Manifest.__dataclass_fields__) - {"path"}
    unknown = set(data) - known
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    return Manifest(**data)


def load_manifest(path: Path) -> Manifest:
    manifest = parse_manifest(read_json(path, ManifestError), str(path))
    manifest.path = path
    return manifest


def builtin_manifest_names() -> list[str]:
    folder = resources.files("tokbench.data_manifests")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def builtin_manifest(name: str) -> Manifest:
    folder = resources.files("tokbench.data_manifests")
    res = folder / f"{name}.json"
    if not res.is_file():
        import difflib

        from tokbench.registry import UnknownName

        names = builtin_manifest_names()
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownName(f"unknown dataset {name!r}.{hint} Available: {', '.join(names)}")
    with resources.as_file(res) as p:
        return load_manifest(Path(p))




def file_list_sha256(names: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()


@dataclass
class VerifyReport:
    ok: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, str, str]] = field(default_factory=list)  # (file, expected, actual)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.missing or self.mismatched or self.problems)

    def describe(self) -> str:
        lines = [f"{len(self.ok)} file(s) verified"]
        lines += [f"missing: {m}" for m in self.missing]
        lines += [f"checksum mismatch: {f} expected sha256 {e}, found {a}" for f, e, a in self.mismatched]
        lines += self.problems
        return "\n".join(lines)


def verify(manifest: Manifest, root: Path) -> VerifyReport:
    """Check every listed file's sha256 and the image count / file-list hash when given."""
    report = VerifyReport()
    for rel, expected in sorted(manifest.files.items()):
        path = root / rel
        if not path.is_file():
            report.missing.append(str(path))
            continue
        actual = sha256_file(path)
        (report.ok.append(rel) if actual == expected else report.mismatched.append((str(path), expected, actual)))
    if manifest.expected_count is not None or manifest.file_list_sha256:
        image_dir = root / manifest.images
        names = sorted(p.name for p in image_dir.iterdir() if p.is_file()) if image_dir.is_dir() else []
        if manifest.expected_count is not None and len(names) != manifest.expected_count:
            report.problems.append(f"{image_dir}: expected {manifest.expected_count} files, found {len(names)}")
        if manifest.file_list_sha256 and names and file_list_sha256(names) != manifest.file_list_sha256:
            report.problems.append(f"{image_dir}: the list of file names differs from the manifest's "
                                   f"(expected sha256 {manifest.file_list_sha256}, found {file_list_sha256(names)})")
    return report


def fetch(manifest: Manifest, root: Path, offline: bool = False) -> VerifyReport:
    """Download a dataset (resumable, checksum-verified) into ``root``."""
    source = manifest.source
    if source["type"] == "package":
        return VerifyReport(ok=["shipped in the package"])
    if source["type"] == "local":
        hint = source.get("hint", "")
        raise ManifestError(f"{manifest.name} cannot be downloaded by tokbench: set ${source.get('env')} to its "
                            f"folder. {hint}".strip())
    if offline:
        raise ManifestError(f"{manifest.name}: --offline forbids downloading; missing data under {root}")
    if source["type"] == "huggingface":
        from huggingface_hub import snapshot_download

        # snapshot_download resumes partial files and skips complete ones.
        snapshot_download(repo_id=source["repo_id"], repo_type=source.get("repo_type", "dataset"),
                          revision=source.get("revision"), allow_patterns=source.get("allow_patterns"),
                          local_dir=str(root))
    else:
        raise ManifestError(f"{manifest.name}: source type {source['type']!r} is not fetchable yet")
    report = verify(manifest, root)
    if report.mismatched:
        raise ManifestError(f"{manifest.name}: downloaded files do not match the manifest:\n{report.describe()}")
    return report
