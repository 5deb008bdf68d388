"""Official data and protocol presets: a result says which registered set and which preset it ran, and
its recorded identity must be that set's and its recorded options that preset's.

A registered set (``data_manifests/``) is identified by its manifest's sha256 (and its annotation file's
sha256 where the manifest lists one); the embedded ``samples`` by its shipped annotation file. A custom set
named like a registered one therefore fails here. A preset is a protocol plus the backends its published
numbers were made with (the paper's: PARSeq for text, antelopev2 for faces), checked when the maintainer
asks for it (``tokbench validate --preset NAME``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tokbench.data.manifest import builtin_manifest, builtin_manifest_names


@dataclass(frozen=True)
class Preset:
    protocol: str
    backends: dict[str, tuple[str, str]] = field(default_factory=dict)  # suite -> (option, backend name)


PRESETS = {
    "tokbench-paper": Preset("tokbench-paper", {"text": ("ocr", "parseq"), "face": ("face", "antelopev2")}),
}


def data_problems(result: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems, notes) about the dataset a result names."""
    dataset = result.get("dataset") or {}
    name, identity = str(dataset.get("name")), dataset.get("identity") or {}
    problems: list[str] = []
    if dataset.get("limit") is not None:
        problems.append(f"dataset {name!r}: run on the first {dataset['limit']} images only (--limit)")
    if identity.get("partial"):
        problems.append(f"dataset {name!r}: run on a partial copy (--allow-partial): {identity['partial']}")
    if name not in builtin_manifest_names():
        return problems, [f"dataset {name!r} is not a registered set: its identity is not checked against one"]
    manifest = builtin_manifest(name)
    if manifest.source.get("type") == "package":  # the embedded samples: identified by their annotation file
        wanted = {"annotations_sha256": manifest.files.get(str((manifest.annotations or {}).get("file")))}
    else:
        wanted = {"manifest": name, "manifest_sha256": manifest.sha256}
        if manifest.annotations and manifest.files.get(manifest.annotations["file"]):
            wanted["annotations_sha256"] = manifest.files[manifest.annotations["file"]]
    for key, value in wanted.items():
        if identity.get(key) != value:
            problems.append(
                f"dataset {name!r}: identity {key} is {identity.get(key)!r}, not the registered {value!r} "
                "(a custom or modified set cannot carry a registered name)"
            )
            break
    return problems, []


def protocol_problems(result: dict[str, Any], preset: str | None) -> list[str]:
    """The protocol is a known one, its recorded options are the ones it records, and, when ``preset``
    is given, the result follows that preset (protocol and backends)."""
    from tokbench.errors import ConfigError
    from tokbench.protocol import PROTOCOLS, Protocol

    recorded = result.get("protocol") or {}
    name = recorded.get("name")
    if name not in PROTOCOLS:
        return [f"protocol {name!r} is not one of {', '.join(PROTOCOLS)}"]
    out: list[str] = []
    try:
        # store / read are options the result records (absent in files written before they existed)
        options = {k: str(recorded[k]) for k in ("store", "read") if k in recorded}
        expected = Protocol(name, recorded.get("resample", "lanczos"), recorded.get("quantize", "round"), **options)
        expected_dict = expected.to_dict()
    except ConfigError as e:
        out.append(f"protocol {name!r}: {e}")
    else:
        for key, value in expected_dict.items():
            if key in recorded and recorded[key] != value:
                out.append(f"protocol {name!r}: option {key} is {recorded[key]!r}, but {name!r} records {value!r}")
    if preset is not None:
        out += _preset_problems(result, preset)
    return out


def _preset_problems(result: dict[str, Any], preset_name: str) -> list[str]:
    preset = PRESETS[preset_name]
    name = (result.get("protocol") or {}).get("name")
    out = []
    if name != preset.protocol:
        out.append(f"preset {preset_name!r} needs protocol {preset.protocol!r}, the result ran {name!r}")
    suite = result.get("suite") or {}
    if suite.get("name") in preset.backends:
        option, backend = preset.backends[suite["name"]]
        used = str((suite.get("options") or {}).get(option, "")).split(":")[0]
        if used != backend:
            out.append(
                f"preset {preset_name!r} needs the {suite['name']} suite's {option} backend {backend!r}, "
                f"the result used {used!r}"
            )
    return out
