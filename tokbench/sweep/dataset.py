"""The sweep set as a run's dataset: built once per (spec, rendering environment) under the cache root,
checked against its recorded pixel hashes on every reuse (a damaged set is rebuilt), then listed as
samples whose annotations carry the set's hash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.cache import content_key
from tokbench.data.dataset import Dataset, Sample
from tokbench.sweep.generate import SweepSpec, _environment, build, pixels_sha256


def _intact(folder: Path) -> dict[str, Any] | None:
    """The set's description if every file it lists is there with its recorded pixels."""
    from PIL import Image

    try:
        desc = json.loads((folder / "set.json").read_text())
        for entry in [*desc["images"], *desc["references"]]:
            with Image.open(folder / entry["file"]) as img:
                if pixels_sha256(np.asarray(img.convert("RGB"))) != entry["sha256"]:
                    return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return desc if isinstance(desc, dict) else None


def load_or_build(spec: SweepSpec, cache_root: Path) -> tuple[dict[str, Any], Path]:
    """The set for ``spec`` and its folder, generated on first use."""
    folder = cache_root / "sweep" / content_key("sweep-set", spec.to_dict(), _environment())[:32]
    desc = _intact(folder)
    if desc is None:
        shutil.rmtree(folder, ignore_errors=True)
        desc = build(spec, folder)
    return desc, folder


def sweep_dataset(spec: SweepSpec, cache_root: Path) -> tuple[Dataset, Path]:
    """The generated set as a :class:`Dataset` named ``sweep``, and its folder. Its identity records what the
    set is (hash, spec, size), not what building it cost: that differs from run to run and would make
    equal sets look different to the report."""
    desc, folder = load_or_build(spec, cache_root)
    set_hash = desc["set_sha256"]
    samples = []
    for entry in desc["images"]:
        key = "text" if entry["kind"] == "text" else "faces"
        annotations = {"sweep": {"set": set_hash, "kind": entry["kind"]}, key: entry[key]}
        samples.append(Sample(Path(entry["file"]).stem, folder / entry["file"], annotations, "sweep"))
    identity = {
        "kind": "generated",
        "set_sha256": set_hash,
        "spec": desc["spec"],
        "images": len(desc["images"]),
        "instances": desc["instances"],
        "references": [{k: r[k] for k in ("file", "identity", "mirror", "sha256")} for r in desc["references"]],
        "environment": desc["environment"],
    }
    return Dataset("sweep", samples, identity), folder


def references(folder: Path) -> list[dict[str, Any]]:
    """The face references of the set in ``folder``: identity, mirror flag, image array and keypoints."""
    from PIL import Image

    desc = json.loads((folder / "set.json").read_text())
    out = []
    for ref in desc["references"]:
        with Image.open(folder / ref["file"]) as img:
            out.append({**ref, "image": np.asarray(img.convert("RGB"))})
    return out
