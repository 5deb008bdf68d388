"""Import per-instance outputs of the TokBench reference code as ``text`` result files.

TokBench's ``eval_text.py`` writes ``<dataset>.json`` = ``{method: {setting: {"results": {...},
"details": {file_name: {"results": [{gt, pred, ratio, accuracy, ned}]}}}}}``. Each (method,
setting) becomes one tokbench result that pools every imported dataset, as TokBench's
``compute_all_metrics.py`` does: our T-ACC/T-NED rescoring of each (gt, pred) pair (the
reference's own values are kept beside them), TokBench's scale buckets and the unweighted mean of
the three bucket means. Results are marked imported, with the source files' sha256.

Method names (or ``--model``) become folder names under ``--output``: names that are empty, ``.``
or ``..``, absolute, or hold a path separator or a control character are refused, and every path
is checked to lie inside the output folder before anything is written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tokbench.errors import ResultError
from tokbench.hashing import sha256_file
from tokbench.jsonio import read_json
from tokbench.metrics.buckets import bucket_of, edges_for, per_dataset, summarize
from tokbench.metrics.text import text_scores
from tokbench.protocol import Protocol
from tokbench.results import SCHEMA, Result, result_path, write_result

FIELDS = {"t_acc": "acc", "t_ned": "ned", "t_acc_ci": "acc_ci", "t_ned_ci": "ned_ci"}
IMPORTED_DATASET = "tokbench-official"


class BadImport(ResultError):
    """A TokBench output file that cannot be imported; names the file and the field."""


def _field(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise BadImport(f"{where}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise BadImport(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")
MAX_RESOLUTION = 1 << 16


def check_name(name: str, what: str) -> str:
    """``name`` if it can safely become a path component under the output folder; else BadImport."""
    if not name.strip() or name.strip(". ") == "" or _UNSAFE_NAME.search(name) or Path(name).is_absolute():
        raise BadImport(
            f"{what} {name!r} cannot name a result folder: no empty, '.' or '..' names, "
            "path separators or control characters (pass --model NAME)"
        )
    return name


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def read_tokbench_output(path: Path) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """``{(method, setting): [instance records]}`` from one TokBench output file."""
    try:
        data = read_json(path, BadImport)
    except RecursionError:
        raise BadImport(f"{path}: JSON nested too deeply to read") from None
    except BadImport:
        raise
    except ValueError as e:  # e.g. an integer literal longer than Python's 4300-digit limit
        raise BadImport(f"{path}: unreadable JSON: {str(e).split(';')[0]}") from None
    if not isinstance(data, dict) or not data:
        raise BadImport(f"{path}: expected an object {{method: {{setting: ...}}}}")
    dataset = path.stem
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for method, settings in data.items():
        if not isinstance(settings, dict):
            raise BadImport(f"{path.name}: {method}: expected an object of settings")
        for setting, block in settings.items():
            where = f"{path.name}: {method}.{setting}"
            try:
                resolution = int(setting)
            except ValueError:
                raise BadImport(f"{where}: setting {setting!r} is not a resolution") from None
            if not 1 <= resolution <= MAX_RESOLUTION:
                raise BadImport(f"{where}: setting {setting!r} is not a resolution from 1 to {MAX_RESOLUTION}")
            details = _field(block, "details", dict, where)
            records: list[dict[str, Any]] = []
            for file_name, image in details.items():
                instances = _field(image, "results", list, f"{where}.details.{file_name}")
                for i, inst in enumerate(instances):
                    at = f"{where}.details.{file_name}.results[{i}]"
                    gt, pred = _field(inst, "gt", str, at), _field(inst, "pred", str, at)
                    ratio = _field(inst, "ratio", (int, float), at)
                    ref_acc = _field(inst, "accuracy", (int, float), at)
                    ref_ned = _field(inst, "ned", (int, float), at)
                    records.append(
                        {
                            "image_id": file_name,
                            "dataset": dataset,
                            "index": i,
                            "gt": gt,
                            "pred": pred,
                            "ratio": float(ratio),
                            "ref_accuracy": float(ref_acc),
                            "ref_ned": float(ref_ned),
                            **text_scores(gt, pred),
                        }
                    )
            out[(str(method), resolution)] = records
    return out


def import_tokbench_outputs(files: list[Path], output_dir: Path, model: str | None = None) -> list[Path]:
    """Write one ``text`` result per (method, setting), pooling all files; return the paths."""
    if not files:
        raise BadImport("no TokBench output files given")
    if model is not None:
        check_name(model, "--model")
    pooled: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    sources = []
    for path in sorted(files, key=lambda p: p.name):
        for key, records in read_tokbench_output(path).items():
            if model is None:
                check_name(key[0], f"{path.name}: method")
            pooled[key].extend(records)
        sources.append({"file": path.name, "sha256": sha256_file(path)})
    paths = {key: result_path(output_dir, model or key[0], IMPORTED_DATASET, "text", key[1]) for key in pooled}
    outside = [p for p in paths.values() if not _inside(p, output_dir)]
    if outside:  # the name checks should make this impossible; refuse rather than write elsewhere
        raise BadImport(f"{outside[0]}: would be written outside {output_dir}")
    written = []
    for (method, resolution), records in sorted(pooled.items()):
        edges = edges_for("text", resolution)
        for r in records:
            r["bucket"] = bucket_of(r["ratio"], edges)
        summary = summarize(records, FIELDS, edges, scale=100.0)
        name = model or method
        result = Result(
            schema=SCHEMA,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            tokbench={"version": _version(), "git_hash": None},
            model={
                "spec": name,
                "id": name,
                "key": None,
                "info": {"name": name, "family": "imported", "kind": "imported", "options": {"method": method}},
            },
            suite={
                "name": "text",
                "version": "1",
                "options": {
                    "ocr": "parseq",
                    "imported": True,
                    "charset_filter": False,
                    "edges": None,
                    "on": "restored",
                },
            },
            dataset={"name": IMPORTED_DATASET, "identity": {"imported_files": sources}, "limit": None},
            resolution=resolution,
            canvas_size=resolution,
            protocol={**Protocol("tokbench-paper").to_dict(), "image_read": "TokBench reference (cv2/PIL)"},
            metrics=summary["metrics"],
            buckets=summary["buckets"],
            extra={
                "imported": {
                    "from": "TokBench reference implementation (eval_text.py)",
                    "files": sources,
                    "method": method,
                },
                "edges": list(edges),
                "counts": summary["counts"],
                "all_instances": summary["all"],
                "per_dataset": per_dataset(records, FIELDS, edges, scale=100.0),
                "units": "t_* in %, mean = unweighted mean of the small/medium/large bucket means",
            },
            counts={
                "images": len({(r["dataset"], r["image_id"]) for r in records}),
                "images_used": len({(r["dataset"], r["image_id"]) for r in records}),
                "images_skipped": {},
                "instances_used": len(records),
                "instances_skipped": {},
            },
            skipped=[],
            rate={"bits_per_image_mean": None, "bpp_mean": None},
            run={"imported": True},
            environment={},
            timings={},
            cache={},
        )
        path = paths[(method, resolution)]
        write_result(path, result, records)
        written.append(path)
    return written


def _version() -> str:
    from tokbench import __version__

    return __version__
