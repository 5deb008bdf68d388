"""What an aggregate estimates, stated so that its interval and a paired test can be rebuilt from the
per-instance records alone.

An :class:`Estimand` says: the metric is ``scale`` x the unweighted mean, over ``groups``, of each
group's mean of record field ``field``, where a group is the records whose ``by`` value is in it
(``groups`` None: one group of every scored record), optionally only the records of one ``dataset``.
TokBench's macro Mean is ``groups=[["small"], ["medium"], ["large"]]``; a bucket mean is one group; the
pooled mean one group of three buckets. Estimands travel in result files (``intervals.estimands``), so
``compare`` and ``check`` pair any suite's records without knowing the suite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokbench.metrics.buckets import BUCKETS

# one record's identity: TokBench's (dataset, image, instance); recon and fid records have no index
InstanceKey = tuple[str, str, int]


def instance_key(record: Mapping[str, Any]) -> InstanceKey:
    """(dataset, image, instance index) of a record; absent parts read as "" / -1."""
    index = record.get("index")
    return (str(record.get("dataset", "")), str(record.get("image_id", "")), index if isinstance(index, int) else -1)


@dataclass(frozen=True)
class Estimand:
    """``scale`` x mean over ``groups`` of the group means of ``field`` (see the module docstring)."""

    field: str
    groups: tuple[tuple[str, ...], ...] | None = None
    by: str = "bucket"
    scale: float = 1.0
    dataset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "scale": self.scale}
        if self.groups is not None:
            out.update(by=self.by, groups=[list(g) for g in self.groups])
        if self.dataset is not None:
            out["dataset"] = self.dataset
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Estimand:
        """An estimand from a result file; ValueError naming ``where`` when malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("field"), str):
            raise ValueError(f"{where}: an estimand is an object with a string 'field'")
        groups = data.get("groups")
        if groups is not None and not (
            isinstance(groups, list)
            and groups
            and all(isinstance(g, list) and g and all(isinstance(x, str) for x in g) for g in groups)
        ):
            raise ValueError(f"{where}: 'groups' must be a non-empty list of non-empty lists of strings")
        scale, dataset, by = data.get("scale", 1.0), data.get("dataset"), data.get("by", "bucket")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise ValueError(f"{where}: 'scale' must be a number")
        if (dataset is not None and not isinstance(dataset, str)) or not isinstance(by, str):
            raise ValueError(f"{where}: 'dataset' and 'by' must be strings")
        return cls(data["field"], None if groups is None else tuple(map(tuple, groups)), by, float(scale), dataset)

    def selected(self, records: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
        """The records of each group, in order: scored ones (no ``skip``) holding a number in ``field``."""
        usable = [
            r
            for r in records
            if "skip" not in r
            and isinstance(r.get(self.field), (int, float))
            and not isinstance(r.get(self.field), bool)
            and (self.dataset is None or str(r.get("dataset", "-")) == self.dataset)
        ]
        if self.groups is None:
            return [usable]
        return [[r for r in usable if r.get(self.by) in group] for group in self.groups]

    def strata(self, records: Sequence[Mapping[str, Any]]) -> list[np.ndarray]:
        """Each group's values as float64 arrays."""
        return [np.array([float(r[self.field]) for r in g], dtype=np.float64) for g in self.selected(records)]

    def point(self, records: Sequence[Mapping[str, Any]]) -> float | None:
        """The estimate itself (None when a group is empty), for checking it against the metric."""
        strata = self.strata(records)
        if not strata or any(s.size == 0 for s in strata):
            return None
        return self.scale * float(np.mean([s.mean() for s in strata]))


def bucketed_estimands(fields: Mapping[str, str], scale: float) -> dict[str, Estimand]:
    """The estimands of :func:`tokbench.metrics.buckets.summarize`'s metrics (Mean, buckets, pooled) for
    each metric -> record field in ``fields``."""
    out: dict[str, Estimand] = {}
    for name, key in fields.items():
        out[name] = Estimand(key, tuple((b,) for b in BUCKETS), scale=scale)
        out[f"{name}_pooled"] = Estimand(key, (BUCKETS,), scale=scale)
        for b in BUCKETS:
            out[f"{name}_{b}"] = Estimand(key, ((b,),), scale=scale)
    return out
